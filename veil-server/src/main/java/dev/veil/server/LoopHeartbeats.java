package dev.veil.server;

import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * The event loops' liveness for {@link VeilServer}'s {@code /health}: each loop marks itself alive every {@link
 * #HEARTBEAT_NANOS} and records how late that mark ran (the loop lag); a loop whose mark is older than {@link
 * #stallNanos} is stuck in some task ("stalled").
 */
final class LoopHeartbeats {
  /** The event loop marks itself alive this often; {@code /health} reports "stalled" past {@link #stallNanos}. */
  static final long HEARTBEAT_NANOS = 500_000_000L;

  private final Metrics metrics;
  /** Time without a heartbeat after which the loop counts as stuck (a task that never returns). */
  volatile long stallNanos = 10_000_000_000L;
  /** The last heartbeat of each loop: the hub's first, then the media loops' (those that are not the hub's). */
  private volatile AtomicLongArray lastBeats = new AtomicLongArray(0);
  /** How late each loop ran its last heartbeat (same order). */
  private volatile AtomicLongArray beatLags = new AtomicLongArray(0);
  private volatile boolean stopped;

  LoopHeartbeats(Metrics metrics) {
    this.metrics = metrics;
  }

  /** Starts each of {@code loops} and its heartbeat (in that order: the hub's loop first). */
  void startLoops(List<EventLoop> loops) {
    AtomicLongArray beats = new AtomicLongArray(loops.size());
    long now = System.nanoTime();
    for (int i = 0; i < loops.size(); i++) {
      beats.set(i, now);
    }
    lastBeats = beats;
    beatLags = new AtomicLongArray(loops.size());
    for (int i = 0; i < loops.size(); i++) {
      EventLoop l = loops.get(i);
      int k = i;
      l.start();
      l.execute(() -> heartbeat(l, k, 0));
    }
  }

  /** No more heartbeats are scheduled; {@link #stalled()} answers false from now on. */
  void stop() {
    stopped = true;
  }

  private void heartbeat(EventLoop l, int i, long dueNanos) {
    long now = System.nanoTime();
    if (dueNanos != 0) {
      long lag = Math.max(0, now - dueNanos);
      beatLags.set(i, lag);
      metrics.loopLag.record(lag, TimeUnit.NANOSECONDS);
    }
    lastBeats.set(i, now);
    if (!stopped) {
      long next = now + HEARTBEAT_NANOS;
      l.schedule(HEARTBEAT_NANOS, () -> heartbeat(l, i, next));
    }
  }

  /** How late the last heartbeat ran, in nanoseconds (the most late of the loops: the busiest loop's lag). */
  long lagNanos() {
    AtomicLongArray lags = beatLags;
    long max = 0;
    for (int i = 0; i < lags.length(); i++) {
      max = Math.max(max, lags.get(i));
    }
    return max;
  }

  /**
   * True if an event loop (the hub's or a media loop) has not run its heartbeat for {@link #stallNanos}: it is
   * stuck in some task. False before the loops start and once stopped.
   */
  boolean stalled() {
    if (stopped) {
      return false;
    }
    AtomicLongArray beats = lastBeats;
    long now = System.nanoTime();
    for (int i = 0; i < beats.length(); i++) {
      if (now - beats.get(i) > stallNanos) {
        return true;
      }
    }
    return false;
  }
}
