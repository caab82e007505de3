package dev.veil.client;

import java.net.URI;
import java.util.List;
import java.util.Random;

/**
 * The reconnect decisions of a {@link ReconnectingConnection}, sans-IO: which signaling URL the next attempt uses
 * (the candidates in turn, starting from the last one that worked), when (exponential backoff with jitter), and when
 * to stop (a refusal that would only repeat, or {@code maxAttempts} attempts in a row). The caller owns the clock and
 * the timers. Not thread-safe: one owner thread.
 */
final class Reconnects {
  /** Server refusals after which a new attempt can succeed (the node is going away, the cluster is busy). */
  private static final List<String> TRANSIENT_REFUSALS = List.of("cluster_unavailable", "draining",
      "the server is shutting down", "the server is full", "closed to make room", "no connect within");

  private final List<URI> urls;
  private final long baseMillis;
  private final long maxMillis;
  private final int maxAttempts;
  private final Random random;
  private int home;
  private int attempt;

  Reconnects(List<URI> urls, long baseMillis, long maxMillis, int maxAttempts, Random random) {
    if (urls.isEmpty()) {
      throw new IllegalArgumentException("no signaling URL");
    }
    if (baseMillis <= 0 || maxMillis < baseMillis || maxAttempts < 1) {
      throw new IllegalArgumentException("backoff: 0 < base <= max, attempts >= 1");
    }
    this.urls = List.copyOf(urls);
    this.baseMillis = baseMillis;
    this.maxMillis = maxMillis;
    this.maxAttempts = maxAttempts;
    this.random = random;
  }

  /** The URL of the first connect. */
  URI first() {
    return urls.get(home);
  }

  /** Attempts made since the last success. */
  int attempts() {
    return attempt;
  }

  /** Whether a failure with this server refusal (null: none, a network failure) is worth another attempt. */
  static boolean retryable(String refusal) {
    if (refusal == null) {
      return true;
    }
    for (String t : TRANSIENT_REFUSALS) {
      if (refusal.startsWith(t)) {
        return true;
      }
    }
    return false;
  }

  /**
   * The connection dropped or an attempt failed (with {@code refusal}, or null): the next attempt, or null to give
   * up.
   */
  Attempt next(String refusal) {
    if (!retryable(refusal) || attempt >= maxAttempts) {
      return null;
    }
    long ceiling = Math.min(maxMillis, baseMillis << Math.min(attempt, 20));
    // "equal jitter": half the ceiling fixed, half random, so that members dropped together do not retry in step
    long delay = ceiling / 2 + (long) (random.nextDouble() * (ceiling - ceiling / 2));
    URI url = urls.get((home + attempt) % urls.size());
    attempt++;
    return new Attempt(attempt, delay, url);
  }

  /** The attempt through {@code entry} (the candidate it started from) succeeded: the count starts over there. */
  void connected(URI entry) {
    int i = urls.indexOf(entry);
    if (i >= 0) {
      home = i;
    }
    attempt = 0;
  }

  /** One planned attempt: its number (from 1), its delay, its URL. */
  record Attempt(int number, long delayMillis, URI url) { }
}
