package dev.veil.server;

/**
 * The clock and timers the signaling logic runs on: the {@link EventLoop} in the server, a manual clock in tests.
 * Every call happens on the one thread that owns the state.
 */
interface Scheduler {
  /** A scheduled task; cancelling it keeps it from running. */
  interface Cancellable {
    void cancel();
  }

  /** A monotonic clock in nanoseconds. */
  long nowNanos();

  /** Runs {@code task} after {@code delayNanos} (0: as soon as the current task returns). */
  Cancellable schedule(long delayNanos, Runnable task);
}
