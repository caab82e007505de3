package dev.veil.server;

/**
 * Decides, for one media loop, whether it spreads its sends now ({@link EgressSpread}). In {@code AUTO} the loop
 * samples its thread's CPU time every {@link #SAMPLE_NANOS}: it starts spreading when it was busy more than
 * {@link #BUSY_ON} of a period and stops when it was busy less than {@link #BUSY_OFF} of one (spreading itself lowers
 * the loop's share, hence the wide gap), but not before it has spread for {@link #MIN_SPREAD_SAMPLES} periods: a
 * destination's datagrams change sockets at each switch, and the few in flight then may arrive out of order.
 * Sans-IO: the caller passes the CPU time and the clock.
 */
final class EgressSpreadPolicy {
  static final long SAMPLE_NANOS = 1_000_000_000L;
  static final double BUSY_ON = 0.75;
  static final double BUSY_OFF = 0.35;
  static final int MIN_SPREAD_SAMPLES = 10;

  private final EgressSpread mode;
  private boolean spreading;
  private long lastCpu = -1;
  private long lastWall;
  private int spreadSamples;
  private long switches;

  EgressSpreadPolicy(EgressSpread mode) {
    this.mode = mode;
    this.spreading = mode == EgressSpread.ON;
  }

  /** True if the loop spreads its sends now. */
  boolean spreading() {
    return spreading;
  }

  /** True if the loop should sample its CPU time ({@code AUTO} only). */
  boolean samples() {
    return mode == EgressSpread.AUTO;
  }

  /** Times spreading was switched on or off (a counter). */
  long switches() {
    return switches;
  }

  /**
   * A sample: the loop thread's CPU time and the monotonic clock, both in nanoseconds (the first sample only sets the
   * baseline). Returns {@link #spreading()} after it.
   */
  boolean sample(long cpuNanos, long wallNanos) {
    if (mode != EgressSpread.AUTO) {
      return spreading;
    }
    if (lastCpu >= 0 && wallNanos > lastWall) {
      double busy = (double) (cpuNanos - lastCpu) / (wallNanos - lastWall);
      if (spreading) {
        spreadSamples++;
        if (busy < BUSY_OFF && spreadSamples >= MIN_SPREAD_SAMPLES) {
          spreading = false;
          switches++;
        }
      } else if (busy > BUSY_ON) {
        spreading = true;
        spreadSamples = 0;
        switches++;
      }
    }
    lastCpu = cpuNanos;
    lastWall = wallNanos;
    return spreading;
  }
}
