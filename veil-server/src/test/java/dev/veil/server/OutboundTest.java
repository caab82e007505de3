package dev.veil.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class OutboundTest {
  private static final long S = 1_000_000_000L;

  @Test
  void admit_countsUpToTheBounds_andRefusesPastThem() {
    Outbound o = new Outbound(100, 3, 10 * S);
    assertEquals(Outbound.Verdict.OK, o.admit(40, 0));
    assertEquals(Outbound.Verdict.OK, o.admit(60, 0));
    assertEquals(Outbound.Verdict.TOO_MANY_BYTES, o.admit(1, 0));
    assertEquals(100, o.bytes());
    o.written(60, 1);
    assertEquals(Outbound.Verdict.OK, o.admit(10, 1));
    assertEquals(Outbound.Verdict.OK, o.admit(10, 1));
    assertEquals(Outbound.Verdict.TOO_MANY_MESSAGES, o.admit(1, 1));
    assertEquals(3, o.messages());
    assertEquals(60, o.bytes());
  }

  @Test
  void stall_onlyWithQueuedBytes_andReset_byEachCompletedWrite() {
    Outbound o = new Outbound(1000, 100, 10 * S);
    assertFalse(o.stalled(100 * S)); // nothing queued: never stalled, however long
    o.admit(10, 100 * S); // the queue starts at 100 s
    assertFalse(o.stalled(109 * S));
    o.admit(10, 109 * S); // more queued does not count as progress
    assertTrue(o.stalled(110 * S));
    assertEquals(Outbound.Verdict.STALLED, o.admit(1, 110 * S));
    o.written(10, 110 * S); // one write completed: progress
    assertFalse(o.stalled(119 * S));
    assertTrue(o.stalled(120 * S));
    o.written(10, 121 * S);
    assertFalse(o.stalled(1000 * S)); // drained
  }

  @Test
  void utf8Length_matchesTheEncoder() {
    for (String s : new String[] {"", "abc", "é", "€uro", "😀 ok", "\uD800 lone", "x\uDC00"}) {
      assertEquals(s.getBytes(StandardCharsets.UTF_8).length, Outbound.utf8Length(s), s);
    }
  }
}
