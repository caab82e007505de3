package dev.veil.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * A small join storm on two media loops (the CI-sized version of {@code ScalingLoad storm}, docs/BENCHMARKS.md):
 * while a background channel's publisher sends, 12 peers join four new channels at once from eight threads (ICE and
 * DTLS handshakes in parallel, signaling interleaved on the hub). Every peer connects, each new channel forwards,
 * the background subscriber keeps receiving, and the server drops nothing in its send queues or hand-offs.
 */
class JoinStormTest {
  @Test
  void twelvePeersJoinAtOnce_whileMediaFlows_nothingDropped() throws Exception {
    ServerConfig cfg = ServerConfig.defaults().withMediaLoops(2)
        .withGuards(ServerConfig.Guards.defaults().withMaxConnectionsPerAddress(1000).withPending(1000, 1000));
    try (MediaTestServer fx = MediaTestServer.start(cfg);
        MediaTestPeer bgPub = fx.peer("bg", "sendonly", 100);
        MediaTestPeer bgSub = fx.peer("bg", "recvonly", 101)) {
      long bgSsrc = MediaTestPeer.ssrcs(bgPub.answerSdp).get(0);
      AtomicBoolean sending = new AtomicBoolean(true);
      AtomicInteger bgSent = new AtomicInteger();
      Thread sender = new Thread(() -> {
        int seq = 1;
        while (sending.get()) {
          try {
            bgPub.sendOpus(bgSsrc, seq, seq * 960L, ("bg " + seq).getBytes(StandardCharsets.US_ASCII));
            seq++;
            bgSent.incrementAndGet();
            Thread.sleep(2); // a steady background stream (pacing, not synchronisation)
          } catch (Exception e) {
            return;
          }
        }
      }, "bg-sender");
      sender.start();
      List<MediaTestPeer> joined = new ArrayList<>();
      ExecutorService pool = Executors.newFixedThreadPool(8);
      try {
        // publishers first (their channels' offers then carry their tracks), then the subscribers, all at once
        List<Future<MediaTestPeer>> pubs = new ArrayList<>();
        for (int c = 0; c < 4; c++) {
          int ch = c;
          pubs.add(pool.submit(() -> fx.peer("storm" + ch, "sendonly", 200 + ch)));
        }
        for (Future<MediaTestPeer> f : pubs) {
          joined.add(f.get(60, TimeUnit.SECONDS));
        }
        List<Future<MediaTestPeer>> subs = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
          int k = i;
          subs.add(pool.submit(() -> fx.peer("storm" + (k % 4), "recvonly", 300 + k)));
        }
        for (Future<MediaTestPeer> f : subs) {
          joined.add(f.get(60, TimeUnit.SECONDS));
        }
        // each storm channel forwards: its publisher's packets reach each of its two subscribers
        for (int c = 0; c < 4; c++) {
          MediaTestPeer pub = joined.get(c);
          long ssrc = MediaTestPeer.ssrcs(pub.answerSdp).get(0);
          for (int s = 0; s < 8; s++) {
            if (s % 4 != c) {
              continue;
            }
            MediaTestPeer sub = joined.get(4 + s);
            Set<String> got = new HashSet<>();
            int seq = 1000 * (s + 1);
            long deadline = System.currentTimeMillis() + 20_000;
            while (got.size() < 3) {
              assertTrue(System.currentTimeMillis() < deadline, "storm" + c + " subscriber " + s + " got " + got);
              pub.sendOpus(ssrc, seq, seq * 960L, ("s" + seq).getBytes(StandardCharsets.US_ASCII));
              seq++;
              for (MediaTestPeer.Rtp r; (r = sub.pollRtp()) != null; ) {
                got.add(new String(r.payload(), StandardCharsets.US_ASCII));
              }
            }
          }
        }
        // the background subscriber still receives
        Set<String> bg = new HashSet<>();
        long deadline = System.currentTimeMillis() + 20_000;
        while (bg.size() < 20) {
          assertTrue(System.currentTimeMillis() < deadline, "background got " + bg.size());
          MediaTestPeer.Rtp r = bgSub.pollRtp();
          if (r != null) {
            bg.add(new String(r.payload(), StandardCharsets.US_ASCII));
          }
        }
      } finally {
        sending.set(false);
        sender.join(5000);
        pool.shutdownNow();
        joined.forEach(MediaTestPeer::close);
      }
      Map<String, Long> c = fx.server.counters();
      assertEquals(14L, c.getOrDefault("media.transports_connected", 0L), c.toString());
      assertEquals(0L, c.getOrDefault("media.transports_failed", 0L), c.toString());
      assertEquals(0L, c.getOrDefault("udp.send_dropped", 0L), c.toString());
      assertEquals(0L, c.getOrDefault("udp.handoff_dropped", 0L), c.toString());
      assertEquals(0L, c.getOrDefault("signaling.internal_errors", 0L), c.toString());
      assertTrue(bgSent.get() > 0);
    }
  }
}
