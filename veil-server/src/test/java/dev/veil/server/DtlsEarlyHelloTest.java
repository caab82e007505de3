package dev.veil.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A ClientHello that reaches the SFU before (or in the same read batch as) the ICE check that validates its address,
 * over real UDP. In order (hello right after the check) nothing is dropped; reordered (hello just before the check)
 * the hello is held and handed over once the check passes, instead of being dropped and retransmitted after BC's 1 s
 * timer. The handshake times are printed for the record; the assertions are on counters only.
 */
class DtlsEarlyHelloTest {
  private static long millis(MediaTestPeer p) {
    return (p.dtlsDoneNanos - p.checkSentNanos) / 1_000_000;
  }

  /** One handshake first, so that the printed times are not class loading and JIT. */
  @BeforeAll
  static void warmUp() throws Exception {
    try (MediaTestServer fx = MediaTestServer.start(); MediaTestPeer p = fx.peer("warm", "sendrecv", 40);
        MediaTestPeer q = fx.helloFirstPeer("warm", "sendrecv", 39)) {
      assertTrue(p.dtlsDoneNanos > 0 && q.dtlsDoneNanos > 0);
    }
  }

  @Test
  void helloRightAfterTheCheck_acceptedBeforeNomination_nothingDropped() throws Exception {
    try (MediaTestServer fx = MediaTestServer.start(); MediaTestPeer p = fx.peer("early", "sendrecv", 41)) {
      Map<String, Long> c = fx.server.counters();
      System.out.println("[dtls-early] hello after check: handshake " + millis(p) + " ms");
      assertEquals(0L, c.getOrDefault("udp.dropped.unknown_source.dtls", 0L), c.toString());
      assertEquals(0L, c.getOrDefault("udp.dtls_held", 0L), c.toString());
      assertEquals(1L, c.getOrDefault("media.transports_connected", 0L), c.toString());
    }
  }

  @Test
  void helloBeforeTheCheck_heldAndDelivered_notDropped() throws Exception {
    try (MediaTestServer fx = MediaTestServer.start(); MediaTestPeer p = fx.helloFirstPeer("early", "sendrecv", 42)) {
      Map<String, Long> c = fx.server.counters();
      System.out.println("[dtls-early] hello before check, hold on: handshake " + millis(p) + " ms");
      assertEquals(1L, c.getOrDefault("udp.dtls_held", 0L), c.toString());
      assertEquals(1L, c.getOrDefault("udp.dtls_held_delivered", 0L), c.toString());
      assertEquals(0L, c.getOrDefault("udp.dropped.unknown_source.dtls", 0L), c.toString());
      assertEquals(1L, c.getOrDefault("media.transports_connected", 0L), c.toString());
    }
  }

  @Test
  void helloBeforeTheCheck_holdingOff_droppedAndRetransmitted() throws Exception {
    System.setProperty("veil.dtlsHoldMillis", "0");
    MediaTestServer fx;
    try {
      fx = MediaTestServer.start();
    } finally {
      System.clearProperty("veil.dtlsHoldMillis");
    }
    try (fx; MediaTestPeer p = fx.helloFirstPeer("early", "sendrecv", 43)) {
      Map<String, Long> c = fx.server.counters();
      System.out.println("[dtls-early] hello before check, hold off (the old behaviour): handshake " + millis(p)
          + " ms");
      assertTrue(c.getOrDefault("udp.dropped.unknown_source.dtls", 0L) >= 1, c.toString());
      assertEquals(0L, c.getOrDefault("udp.dtls_held", 0L), c.toString());
      assertEquals(1L, c.getOrDefault("media.transports_connected", 0L), c.toString());
    }
  }
}
