package dev.veil.server;

import java.util.ArrayDeque;

/**
 * Graceful drain, sans-IO (docs/PROTOCOL.md §1.10): on {@link #start} the server stops accepting connects and tells
 * its members how long they have ({@link Output.TellMembers}); it is done ({@link Output.Finish}) as soon as no
 * member is left ({@link Reason#EMPTY}) or at the deadline ({@link Reason#TIMEOUT}), whichever comes first. The
 * caller feeds the member count and the clock (milliseconds, any monotonic origin) and drains {@link #pollOutput()};
 * {@link #nextTimeoutMillis()} says when to call {@link #handleTimeout} next.
 */
public final class Drain {
  /** Why the drain ended. */
  public enum Reason {
    /** Every member left. */
    EMPTY,
    /** The deadline passed with members still connected (the caller disconnects them). */
    TIMEOUT
  }

  /** What the caller must do. */
  sealed interface Output {
    /** Refuse new connects from now on and send every member {@code draining} with this deadline. */
    record TellMembers(long deadlineMs) implements Output {}

    /** The drain is over: close what is left and stop. */
    record Finish(Reason reason) implements Output {}
  }

  private final long timeoutMillis;
  private final ArrayDeque<Output> out = new ArrayDeque<>();
  private boolean started;
  private boolean finished;
  private long deadlineMillis = Long.MAX_VALUE;

  Drain(long timeoutMillis) {
    if (timeoutMillis < 0) {
      throw new IllegalArgumentException("timeout must be >= 0");
    }
    this.timeoutMillis = timeoutMillis;
  }

  /** Starts draining with {@code members} connected; false (and nothing happens) if it was already started. */
  boolean start(int members, long nowMillis) {
    if (started) {
      return false;
    }
    started = true;
    deadlineMillis = nowMillis + timeoutMillis;
    out.add(new Output.TellMembers(timeoutMillis));
    if (members == 0) {
      finish(Reason.EMPTY);
    }
    return true;
  }

  /** The number of members changed (one left, or was closed). */
  void membersChanged(int members, long nowMillis) {
    if (started && !finished && members == 0) {
      finish(Reason.EMPTY);
    }
  }

  /** The clock reached {@code nowMillis}. */
  void handleTimeout(long nowMillis) {
    if (started && !finished && nowMillis >= deadlineMillis) {
      finish(Reason.TIMEOUT);
    }
  }

  /** When {@link #handleTimeout} must next be called, or {@link Long#MAX_VALUE} for never. */
  long nextTimeoutMillis() {
    return started && !finished ? deadlineMillis : Long.MAX_VALUE;
  }

  /** Milliseconds left until the deadline (0 once passed; the whole timeout before the start). */
  long remainingMillis(long nowMillis) {
    return started ? Math.max(0, deadlineMillis - nowMillis) : timeoutMillis;
  }

  /** True from {@link #start} on: connects are refused. */
  boolean draining() {
    return started;
  }

  boolean finished() {
    return finished;
  }

  /** The next thing to do, or null. */
  Output pollOutput() {
    return out.poll();
  }

  private void finish(Reason r) {
    finished = true;
    out.add(new Output.Finish(r));
  }
}
