package dev.veil.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The reconnect plan, without I/O: backoff bounds, URL rotation, when to give up. */
class ReconnectsTest {
  private static final URI A = URI.create("ws://127.0.0.1:1/signaling");
  private static final URI B = URI.create("ws://127.0.0.1:2/signaling");
  private static final URI C = URI.create("ws://127.0.0.1:3/signaling");

  @Test
  void backoffDoublesWithJitterUpToTheCeilingAndTheCandidatesRotate() {
    Reconnects r = new Reconnects(List.of(A, B, C), 250, 4000, 30, new Random(7));
    assertEquals(A, r.first());
    long[] ceilings = {250, 500, 1000, 2000, 4000, 4000, 4000};
    URI[] urls = {A, B, C, A, B, C, A};
    for (int i = 0; i < ceilings.length; i++) {
      Reconnects.Attempt a = r.next(null);
      assertEquals(i + 1, a.number());
      assertEquals(urls[i], a.url());
      assertTrue(a.delayMillis() >= ceilings[i] / 2 && a.delayMillis() <= ceilings[i],
          "attempt " + (i + 1) + " delay " + a.delayMillis());
    }
  }

  @Test
  void aSuccessStartsOverFromTheCandidateThatWorked() {
    Reconnects r = new Reconnects(List.of(A, B, C), 100, 1000, 30, new Random(1));
    r.next(null);
    r.next(null);
    r.connected(B);
    assertEquals(0, r.attempts());
    Reconnects.Attempt a = r.next(null);
    assertEquals(B, a.url(), "the node that worked is tried first");
    assertTrue(a.delayMillis() <= 100);
    assertEquals(C, r.next(null).url());
  }

  @Test
  void refusalsThatWouldRepeatEndItAndTransientOnesDoNot() {
    Reconnects r = new Reconnects(List.of(A), 100, 1000, 30, new Random(1));
    assertNull(r.next("token_expired: the access token has expired"));
    assertNull(r.next("e2ee_mismatch"));
    assertFalse(Reconnects.retryable("channel room is full"));
    assertTrue(Reconnects.retryable("cluster_unavailable: the cluster directory is unreachable; try again"));
    assertTrue(Reconnects.retryable("the server is shutting down"));
    assertTrue(Reconnects.retryable("draining: the server is shutting down; connect to another server"));
    assertTrue(r.next("cluster_unavailable: x") != null);
  }

  @Test
  void attemptsInARowAreBounded() {
    Reconnects r = new Reconnects(List.of(A, B), 10, 20, 3, new Random(1));
    assertTrue(r.next(null) != null);
    assertTrue(r.next(null) != null);
    assertTrue(r.next(null) != null);
    assertNull(r.next(null));
  }
}
