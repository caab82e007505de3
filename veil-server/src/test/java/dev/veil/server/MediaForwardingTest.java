package dev.veil.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Media through a real server (ephemeral ports) between two clients built from Veil's own engines: a publisher's
 * SRTP audio reaches the subscriber with the subscriber's SSRC, and keeps reaching it while a stranger floods the
 * media port with malformed STUN, DTLS, RTP and RTCP and forged SRTP, and another client sends bad JSON.
 */
class MediaForwardingTest {
  private MediaTestServer fx;
  private final Random random = new Random(11);

  @BeforeEach
  void start() throws Exception {
    fx = MediaTestServer.start();
  }

  @AfterEach
  void stop() throws Exception {
    fx.close();
  }

  private final AudioFlow audio = new AudioFlow();

  /** Sends audio until the subscriber got {@code n} packets; returns the payloads it got, checking each. */
  private Set<String> flow(MediaTestPeer pub, long pubSsrc, MediaTestPeer sub, long subSsrc, int n) throws Exception {
    return audio.send(pub, pubSsrc, sub, subSsrc, n, true);
  }

  @Test
  void audio_isForwardedWithTheSubscribersSsrc_andSurvivesHostileTraffic() throws Exception {
    try (MediaTestPeer pub = fx.peer("media", "sendonly", 1);
        MediaTestPeer sub = fx.peer("media", "recvonly", 2)) {
      long pubSsrc = MediaTestPeer.ssrcs(pub.answerSdp).get(0);
      long subSsrc = MediaTestPeer.ssrcs(sub.offerSdp).get(0);
      flow(pub, pubSsrc, sub, subSsrc, 20);

      // hostile traffic: garbage of every kind and forged SRTP with the publisher's SSRC, from a stranger
      try (DatagramSocket evil = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
        int[] firsts = {0x00, 0x01, 0x16, 0x17, 0x80, 0x81, 0xff};
        for (int i = 0; i < 140; i++) {
          byte[] b = new byte[1 + random.nextInt(1000)];
          random.nextBytes(b);
          b[0] = (byte) firsts[i % firsts.length];
          if (i % 10 == 0 && b.length > 12) {
            b[0] = (byte) 0x80;
            b[1] = 111;
            for (int k = 0; k < 4; k++) {
              b[8 + k] = (byte) (pubSsrc >>> (24 - 8 * k));
            }
          }
          evil.send(new DatagramPacket(b, b.length, InetAddress.getLoopbackAddress(), fx.server.rtcPort()));
        }
      }
      WsTestClient bad = WsTestClient.connect(fx.client, fx.server.httpPort());
      bad.send("{\"type\":\"e2ee\",\"to\":\"" + pub.connectionId + "\"");
      assertTrue(bad.expect("error").get("reason").asText().contains("not valid JSON"));
      assertTrue(bad.awaitClosed());

      // the subscriber keeps getting the publisher's audio; both members are still there
      flow(pub, pubSsrc, sub, subSsrc, 20);
      for (var m : pub.ws.sync()) { // the publisher heard of the subscriber, and of nothing bad
        assertEquals("notify", m.get("type").asText(), m.toString());
      }
      assertEquals(2, fx.server.stats().connections());
      Map<String, Long> c = fx.server.counters();
      long dropped = c.entrySet().stream().filter(e -> e.getKey().startsWith("udp.dropped."))
          .mapToLong(Map.Entry::getValue).sum();
      assertTrue(dropped >= 1, c.toString());
      assertTrue(c.getOrDefault("router.rtp_forwarded", 0L) >= 40, c.toString());
      assertEquals(0L, c.getOrDefault("signaling.internal_errors", 0L));
    }
  }

  /**
   * The join-time and forwarding-latency histograms of /metrics: both members' first media is timed, and forwarded
   * packets (1 datagram in {@link Metrics#FORWARD_SAMPLE_EVERY} sampled) get timed to their egress.
   */
  @Test
  void media_recordsJoinTimeAndForwardingLatency() throws Exception {
    try (MediaTestPeer pub = fx.peer("media", "sendonly", 5);
        MediaTestPeer sub = fx.peer("media", "recvonly", 6)) {
      long pubSsrc = MediaTestPeer.ssrcs(pub.answerSdp).get(0);
      flow(pub, pubSsrc, sub, MediaTestPeer.ssrcs(sub.offerSdp).get(0), 5);
      MetricsTest.Exposition e = MetricsTest.Exposition.parse(fx.server.metrics());
      assertEquals(2.0, e.value("veil_join_seconds_count", ""), "publisher (first SRTP in) and subscriber (first out)");
      assertTrue(e.value("veil_join_seconds_sum", "") > 0);
      // batches of FORWARD_SAMPLE_EVERY packets until a sampled one has been timed (a lost datagram on a loaded
      // machine only means another batch; the bound is a failure bound, not a timing assertion)
      double timed = 0;
      long sent = 0;
      for (int batch = 0; batch < 40 && timed < 1; batch++) {
        for (int i = 0; i < Metrics.FORWARD_SAMPLE_EVERY; i++, sent++) {
          int seq = audio.nextSeq();
          pub.sendOpus(pubSsrc, seq, seq * 960L, ("opus frame " + seq).getBytes(StandardCharsets.US_ASCII));
          while (sub.pollRtp() != null) {
            // drained: the subscriber's socket never fills
          }
        }
        e = MetricsTest.Exposition.parse(fx.server.metrics());
        timed = e.value("veil_forwarding_latency_seconds_count", "");
      }
      assertTrue(timed >= 1, "a sampled datagram was timed to its forwarded copy");
      assertTrue(timed <= sent / Metrics.FORWARD_SAMPLE_EVERY + 2, "sampled, not every datagram: " + timed);
      assertEquals(timed, e.value("veil_forwarding_latency_seconds_bucket", "le=\"+Inf\""));
      assertTrue(e.value("veil_forwarding_latency_seconds_sum", "") > 0);
    }
  }

  @Test
  void publisherLeaves_subscriberIsReofferedWithoutItsTracks() throws Exception {
    try (MediaTestPeer pub = fx.peer("media", "sendonly", 3);
        MediaTestPeer sub = fx.peer("media", "recvonly", 4)) {
      flow(pub, MediaTestPeer.ssrcs(pub.answerSdp).get(0), sub, MediaTestPeer.ssrcs(sub.offerSdp).get(0), 5);
      pub.ws.send("{\"type\":\"disconnect\"}");
      assertEquals("connection.destroyed", sub.ws.expectSkippingPings("notify").get("event_type").asText());
      String reoffer = sub.ws.expectSkippingPings("re-offer").get("sdp").asText();
      assertEquals(List.of(), MediaTestPeer.ssrcs(reoffer));
      assertEquals(1, fx.server.stats().connections());
    }
  }
}
