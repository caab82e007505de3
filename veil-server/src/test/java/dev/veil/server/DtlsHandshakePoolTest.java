package dev.veil.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Stalled DTLS handshakes (a client that sends its ClientHello and then nothing) run on the server's bounded
 * handshake pool: they never cost more than {@code dtls_handshake_threads} threads, each fails its connection at
 * the handshake timeout, and an honest client connects afterwards.
 */
class DtlsHandshakePoolTest {
  private static final int THREADS = 2;
  private static final int STALLED = 6;

  @Test
  void stalledHandshakes_holdAtMostThePoolsThreads_failAtTheTimeout_andAnHonestPeerStillConnects()
      throws Exception {
    try (MediaTestServer s = MediaTestServer.start(ServerConfig.defaults().withDtlsHandshakes(THREADS, 2))) {
      List<MediaTestPeer> stalled = new ArrayList<>();
      AtomicInteger most = new AtomicInteger();
      Runnable sample = () -> most.accumulateAndGet(dtlsThreads(), Math::max);
      for (int i = 0; i < STALLED; i++) {
        stalled.add(s.stalledPeer("stall", 100 + i));
        sample.run();
      }
      // Each stalled connection is failed by the server at the handshake deadline (queued ones included).
      for (MediaTestPeer p : stalled) {
        JsonNode d = awaitDisconnect(p.ws, sample);
        assertNotNull(d, "a stalled handshake must end its connection");
        assertEquals("media connection failed", d.path("reason").asText());
      }
      sample.run();
      assertTrue(most.get() <= THREADS, "DTLS threads " + most.get() + " > pool size " + THREADS);
      assertEquals(STALLED, s.server.stats().get("media.transports_failed"));

      // The pool is free again: an honest client completes ICE + DTLS and sends media.
      try (MediaTestPeer honest = s.peer("honest", "sendrecv", 7)) {
        assertNotNull(honest.connectionId);
      }
      assertTrue(dtlsThreads() <= THREADS);
      stalled.forEach(MediaTestPeer::close);
    }
  }

  /** Live threads of the server's DTLS pool. */
  private static int dtlsThreads() {
    int n = 0;
    for (Thread t : Thread.getAllStackTraces().keySet()) {
      if (t.isAlive() && t.getName().startsWith("veil-dtls-")) {
        n++;
      }
    }
    return n;
  }

  /**
   * The {@code disconnect} message on {@code ws}, answering pings meanwhile; null if none within the wait.
   * {@code eachPoll} runs every 100 ms or message while waiting.
   */
  private static JsonNode awaitDisconnect(WsTestClient ws, Runnable eachPoll) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WsTestClient.WAIT_SECONDS);
    while (System.nanoTime() < deadline) {
      JsonNode m = ws.received.poll(100, TimeUnit.MILLISECONDS);
      eachPoll.run();
      if (m == null) {
        continue;
      }
      String type = m.path("type").asText();
      if (type.equals("disconnect")) {
        return m;
      }
      if (type.equals("ping")) {
        ws.send("{\"type\":\"pong\"}");
      }
    }
    return null;
  }
}
