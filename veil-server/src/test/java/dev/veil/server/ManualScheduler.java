package dev.veil.server;

import java.util.PriorityQueue;

/** A {@link Scheduler} on a manual clock for in-memory tests: tasks run only in {@link #advance} / {@link #runDue}. */
final class ManualScheduler implements Scheduler {
  private record Task(long due, long seq, Runnable run, boolean[] cancelled) {}

  private final PriorityQueue<Task> tasks = new PriorityQueue<>(
      (a, b) -> a.due != b.due ? Long.compare(a.due, b.due) : Long.compare(a.seq, b.seq));
  private long now = 1_000_000_000L;
  private long seq;

  @Override
  public long nowNanos() {
    return now;
  }

  @Override
  public Cancellable schedule(long delayNanos, Runnable task) {
    boolean[] cancelled = new boolean[1];
    tasks.add(new Task(now + Math.max(0, delayNanos), seq++, task, cancelled));
    return () -> cancelled[0] = true;
  }

  /** Runs every task due now (and those they schedule for now). */
  void runDue() {
    while (!tasks.isEmpty() && tasks.peek().due <= now) {
      Task t = tasks.poll();
      if (!t.cancelled[0]) {
        t.run.run();
      }
    }
  }

  /** Moves the clock forward by {@code nanos}, running every task that falls due on the way, in order. */
  void advance(long nanos) {
    long end = now + nanos;
    while (!tasks.isEmpty() && tasks.peek().due <= end) {
      Task t = tasks.poll();
      now = Math.max(now, t.due);
      if (!t.cancelled[0]) {
        t.run.run();
      }
    }
    now = end;
  }

  void advanceSeconds(double s) {
    advance((long) (s * 1e9));
  }
}
