package dev.veil.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** {@link EgressSpreadPolicy}: a loop's busy share over manual CPU and wall clocks. */
class EgressSpreadPolicyTest {
  private static final long S = EgressSpreadPolicy.SAMPLE_NANOS;

  /** Feeds one period per entry, busy that share of it; returns the decision after each. */
  private static boolean[] run(EgressSpreadPolicy p, double... busy) {
    boolean[] out = new boolean[busy.length];
    long cpu = 5_000_000L;
    long wall = 1_000_000_000_000L;
    p.sample(cpu, wall); // the baseline
    for (int i = 0; i < busy.length; i++) {
      cpu += (long) (busy[i] * S);
      wall += S;
      out[i] = p.sample(cpu, wall);
    }
    return out;
  }

  @Test
  void auto_idleOrModeratelyBusy_neverSpreads() {
    EgressSpreadPolicy p = new EgressSpreadPolicy(EgressSpread.AUTO);
    assertFalse(p.spreading(), "not before the first samples");
    for (boolean b : run(p, 0.0, 0.2, 0.5, 0.74, 0.6, 0.3)) {
      assertFalse(b);
    }
    assertEquals(0, p.switches());
  }

  @Test
  void auto_busyLoop_spreads_andStopsOnlyWhenQuietAfterTheHold() {
    EgressSpreadPolicy p = new EgressSpreadPolicy(EgressSpread.AUTO);
    boolean[] d = run(p, 0.5, 0.9, 0.5, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2);
    assertFalse(d[0]);
    assertTrue(d[1], "busy 90 %: spread");
    assertTrue(d[2], "50 % while spreading: above the off threshold");
    for (int i = 3; i <= 10; i++) {
      assertTrue(d[i], "quiet, but held for " + EgressSpreadPolicy.MIN_SPREAD_SAMPLES + " periods (period " + i + ")");
    }
    assertFalse(d[11], "quiet after the hold: stop");
    assertFalse(d[12]);
    assertEquals(2, p.switches());
  }

  @Test
  void auto_busyThenModerate_keepsSpreading() {
    EgressSpreadPolicy p = new EgressSpreadPolicy(EgressSpread.AUTO);
    boolean[] d = run(p, 0.8, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4);
    for (boolean b : d) {
      assertTrue(b, "40 % while spreading is above the 35 % off threshold: no flapping");
    }
    assertEquals(1, p.switches());
  }

  @Test
  void onAndOff_ignoreTheSamples() {
    EgressSpreadPolicy on = new EgressSpreadPolicy(EgressSpread.ON);
    EgressSpreadPolicy off = new EgressSpreadPolicy(EgressSpread.OFF);
    assertTrue(on.spreading());
    assertFalse(on.samples());
    assertFalse(off.samples());
    for (boolean b : run(on, 0.0, 0.0)) {
      assertTrue(b);
    }
    for (boolean b : run(off, 1.0, 1.0)) {
      assertFalse(b);
    }
  }

  @Test
  void aClockThatDidNotMove_changesNothing() {
    EgressSpreadPolicy p = new EgressSpreadPolicy(EgressSpread.AUTO);
    p.sample(0, 1000);
    assertFalse(p.sample(10 * S, 1000), "no wall time passed: no share to compute");
  }
}
