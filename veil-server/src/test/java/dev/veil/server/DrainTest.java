package dev.veil.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** {@link Drain}, sans-IO, on a manual clock (milliseconds). */
class DrainTest {
  private static final long T0 = 5_000;

  @Test
  void start_tellsMembersTheDeadline_andFinishesWhenTheLastLeaves() {
    Drain d = new Drain(30_000);
    assertFalse(d.draining());
    assertEquals(Long.MAX_VALUE, d.nextTimeoutMillis());
    assertTrue(d.start(3, T0));
    assertTrue(d.draining());
    assertEquals(new Drain.Output.TellMembers(30_000), d.pollOutput());
    assertNull(d.pollOutput());
    assertEquals(T0 + 30_000, d.nextTimeoutMillis());
    d.membersChanged(2, T0 + 1_000);
    d.membersChanged(1, T0 + 2_000);
    assertNull(d.pollOutput(), "members left: not done yet");
    assertEquals(28_000, d.remainingMillis(T0 + 2_000));
    d.membersChanged(0, T0 + 3_000);
    assertEquals(new Drain.Output.Finish(Drain.Reason.EMPTY), d.pollOutput());
    assertTrue(d.finished());
    assertEquals(Long.MAX_VALUE, d.nextTimeoutMillis());
    d.handleTimeout(T0 + 30_000);
    d.membersChanged(0, T0 + 31_000);
    assertNull(d.pollOutput(), "finishes once");
  }

  @Test
  void deadline_finishesWithTimeout_notAMillisecondEarlier() {
    Drain d = new Drain(30_000);
    d.start(2, T0);
    d.pollOutput();
    d.handleTimeout(T0 + 29_999);
    assertNull(d.pollOutput());
    assertFalse(d.finished());
    d.handleTimeout(T0 + 30_000);
    assertEquals(new Drain.Output.Finish(Drain.Reason.TIMEOUT), d.pollOutput());
    assertEquals(0, d.remainingMillis(T0 + 40_000));
  }

  @Test
  void emptyServer_finishesAtOnce_andASecondStartIsIgnored() {
    Drain d = new Drain(10_000);
    assertTrue(d.start(0, T0));
    assertEquals(new Drain.Output.TellMembers(10_000), d.pollOutput());
    assertEquals(new Drain.Output.Finish(Drain.Reason.EMPTY), d.pollOutput());
    assertFalse(d.start(5, T0 + 1));
    assertNull(d.pollOutput());
  }

  @Test
  void beforeStart_memberChangesAndTimeoutsDoNothing() {
    Drain d = new Drain(1_000);
    d.membersChanged(0, T0);
    d.handleTimeout(T0 + 1_000_000);
    assertNull(d.pollOutput());
    assertEquals(1_000, d.remainingMillis(T0));
  }
}
