package dev.veil.server.cluster.relay;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The per-link budget of a cascaded channel's node link, on a manual clock. */
class RelayBudgetTest {

  @Test
  void aSteadyRateWithinTheBudgetIsAdmittedForever() {
    RelayBudget b = new RelayBudget(new RelayBudget.Limits(100, 100_000, 8), 0);
    for (long t = 0; t < 60_000; t += 10) { // 100 packets of 1000 bytes per second for a minute
      assertTrue(b.admit(1000, t), "at " + t + " ms");
    }
    assertNull(b.exceeded());
  }

  @Test
  void aBurstOverThePacketRateExceedsForGood() {
    RelayBudget b = new RelayBudget(new RelayBudget.Limits(100, 1_000_000, 8), 0);
    int admitted = 0;
    while (b.admit(100, 0)) {
      admitted++;
    }
    assertEquals(100, admitted, "one second's worth as a burst");
    assertTrue(b.exceeded().contains("packets per second"), b.exceeded());
    assertFalse(b.admit(100, 10_000), "closed for good: the link is closed by its owner");
  }

  @Test
  void tooManyBytesPerSecondExceed() {
    RelayBudget b = new RelayBudget(new RelayBudget.Limits(10_000, 10_000, 8), 0);
    assertTrue(b.admit(6000, 0));
    assertFalse(b.admit(6000, 100), "4,000 + 1,000 refilled < 6,000");
    assertTrue(b.exceeded().contains("bytes per second"), b.exceeded());
  }

  @Test
  void aClockGoingBackwardsRefillsNothing() {
    RelayBudget b = new RelayBudget(new RelayBudget.Limits(2, 1_000_000, 8), 1000);
    assertTrue(b.admit(10, 1000));
    assertTrue(b.admit(10, 500));
    assertFalse(b.admit(10, 0));
  }

  @Test
  void limitsMustBePositive() {
    assertThrows(IllegalArgumentException.class, () -> new RelayBudget.Limits(0, 1, 1));
    assertThrows(IllegalArgumentException.class, () -> new RelayBudget.Limits(1, 0, 1));
    assertThrows(IllegalArgumentException.class, () -> new RelayBudget.Limits(1, 1, 0));
  }
}
