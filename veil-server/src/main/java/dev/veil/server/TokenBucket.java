package dev.veil.server;

/** A token bucket on the loop clock: {@code ratePerSecond} tokens a second, at most {@code burst} saved up. */
final class TokenBucket {
  private final double ratePerNano;
  private final double burst;
  private double tokens;
  private long lastNanos;

  TokenBucket(int ratePerSecond, int burst, long nowNanos) {
    this.ratePerNano = ratePerSecond / 1e9;
    this.burst = burst;
    this.tokens = burst;
    this.lastNanos = nowNanos;
  }

  /** Takes one token if there is one. */
  boolean tryTake(long nowNanos) {
    long elapsed = nowNanos - lastNanos;
    if (elapsed > 0) {
      tokens = Math.min(burst, tokens + elapsed * ratePerNano);
      lastNanos = nowNanos;
    }
    if (tokens >= 1) {
      tokens -= 1;
      return true;
    }
    return false;
  }
}
