package dev.veil.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.veil.webrtc.cc.TransportSequence;
import dev.veil.webrtc.rtcp.Remb;
import dev.veil.webrtc.rtcp.TransportFeedback;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Downlink congestion control through a real server: a subscriber whose answer accepts the transport-wide sequence
 * number gets every forwarded packet stamped with the server's own consecutive numbers; its transport-wide feedback
 * (or, without the extension, its REMB) feeds the server's estimate of its downlink, which /metrics shows as
 * aggregate gauges without ids.
 */
class DownlinkCcTest {
  private MediaTestServer fx;

  @BeforeEach
  void start() throws Exception {
    fx = MediaTestServer.start();
  }

  @AfterEach
  void stop() throws Exception {
    fx.close();
  }

  private static String withTwccExtmap(String answer) {
    return answer.replace("a=rtcp-mux\r\n", "a=rtcp-mux\r\na=extmap:3 " + TransportSequence.URI + "\r\n");
  }

  private long counter(String key) {
    return fx.server.counters().getOrDefault(key, -1L);
  }

  @Test
  void forwardedPacketsCarryTheServersSequenceAndFeedbackMakesAnEstimate() throws Exception {
    try (MediaTestPeer pub = fx.peer("dl", "sendonly", 31);
        MediaTestPeer sub = fx.peer("dl", "recvonly", 32, DownlinkCcTest::withTwccExtmap)) {
      assertTrue(sub.offerSdp.contains("a=rtcp-fb:111 transport-cc"), sub.offerSdp);
      long audio = MediaTestPeer.ssrcs(pub.answerSdp).get(0);
      List<Integer> seqs = new ArrayList<>();
      long deadline = System.currentTimeMillis() + 10_000;
      int sent = 0;
      while (seqs.size() < 30) {
        assertTrue(System.currentTimeMillis() < deadline, "30 forwarded packets within 10 s; got " + seqs.size());
        pub.sendOpus(audio, sent, 960L * sent, new byte[100]);
        sent++;
        byte[] p = sub.pollRtpPacket();
        if (p != null) {
          int tw = TransportSequence.find(p, 0, p.length, 3);
          assertTrue(tw >= 0, "every forwarded packet is stamped");
          seqs.add(tw);
        }
      }
      for (int i = 1; i < seqs.size(); i++) {
        int step = (seqs.get(i) - seqs.get(i - 1)) & 0xFFFF;
        assertTrue(step >= 1 && step < 10, "consecutive transport-wide numbers: " + seqs);
      }
      // the subscriber reports them all received, 20 ms apart (80 units of 250 us)
      int base = seqs.get(0);
      int count = ((seqs.get(seqs.size() - 1) - base) & 0xFFFF) + 1;
      List<TransportFeedback.Received> rec = new ArrayList<>();
      for (int s : seqs) {
        rec.add(new TransportFeedback.Received(s, 80));
      }
      sub.sendRtcp(new TransportFeedback(0x5151, audio, base, count, 100, 0, rec).encode());
      deadline = System.currentTimeMillis() + 10_000;
      while (counter("media.downlink.twcc_feedback_received") < 1) {
        assertTrue(System.currentTimeMillis() < deadline, "the feedback reaches the estimator");
        sub.pollRtpPacket(); // waits up to 20 ms
      }
      Map<String, Long> c = fx.server.counters();
      assertEquals(seqs.size(), c.get("media.downlink.packets_reported") - c.get("media.downlink.packets_lost"),
          c.toString());
      assertEquals(0, c.get("media.downlink.unknown_reported"));
      assertTrue(c.get("media.downlink.packets_stamped") >= seqs.size());
      assertEquals(1, c.get("gauge.media.downlink.estimators"), "the subscriber only: the publisher sends nothing");
      long estimate = c.get("gauge.media.downlink.estimate_bps_sum");
      assertTrue(estimate >= 100_000 && estimate <= 20_000_000, "within the configured bounds: " + estimate);
      String metrics = fx.server.metrics();
      assertTrue(metrics.contains("# TYPE veil_media_downlink_estimate_bps_sum gauge"), metrics);
      MetricsTest.Exposition e = MetricsTest.Exposition.parse(metrics);
      assertEquals(1.0, e.value("veil_media_downlink_estimators", ""));
      assertTrue(e.value("veil_media_downlink_twcc_feedback_received_total", "") >= 1.0, metrics);
    }
  }

  @Test
  void withoutTheExtensionNothingIsStampedAndRembSetsTheEstimate() throws Exception {
    try (MediaTestPeer pub = fx.peer("dl2", "sendonly", 33);
        MediaTestPeer sub = fx.peer("dl2", "recvonly", 34)) {
      long audio = MediaTestPeer.ssrcs(pub.answerSdp).get(0);
      long deadline = System.currentTimeMillis() + 10_000;
      int got = 0;
      int sent = 0;
      while (got < 5) {
        assertTrue(System.currentTimeMillis() < deadline, "forwarded packets within 10 s");
        pub.sendOpus(audio, sent, 960L * sent, new byte[100]);
        sent++;
        byte[] p = sub.pollRtpPacket();
        if (p != null) {
          got++;
          assertEquals(-1, TransportSequence.find(p, 0, p.length, 3), "not stamped without the extension");
        }
      }
      sub.sendRtcp(new Remb(0x5151, 800_000, List.of(audio)).encode());
      deadline = System.currentTimeMillis() + 10_000;
      while (counter("media.downlink.remb_received") < 1) {
        assertTrue(System.currentTimeMillis() < deadline, "the REMB reaches the estimator");
        sub.pollRtpPacket();
      }
      Map<String, Long> c = fx.server.counters();
      assertEquals(800_000, c.get("gauge.media.downlink.estimate_bps_sum"), c.toString());
      assertEquals(0, c.getOrDefault("media.downlink.packets_stamped", 0L));
    }
  }
}
