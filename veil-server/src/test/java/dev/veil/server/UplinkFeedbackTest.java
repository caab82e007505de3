package dev.veil.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.veil.webrtc.cc.TransportSequence;
import dev.veil.webrtc.rtcp.Remb;
import dev.veil.webrtc.rtcp.RtcpPacket;
import dev.veil.webrtc.rtcp.TransportFeedback;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Uplink congestion control through a real server: a publisher whose answer accepts the transport-wide sequence
 * number extension and transport-cc gets transport-wide feedback for every packet it sends (losses reported as
 * such); one that accepts only goog-remb gets REMB; the subscriber's m-lines offer the downlink side instead.
 */
class UplinkFeedbackTest {
  private MediaTestServer fx;

  @BeforeEach
  void start() throws Exception {
    fx = MediaTestServer.start();
  }

  @AfterEach
  void stop() throws Exception {
    fx.close();
  }

  /** The fake browser echoes the offered transport-wide-cc extmap on every m-line it answers (as Chromium does). */
  private static String withTwccExtmap(String answer) {
    return answer.replace("a=rtcp-mux\r\n", "a=rtcp-mux\r\na=extmap:3 " + TransportSequence.URI + "\r\n");
  }

  @Test
  void aPublisherWithTheExtensionGetsTransportWideFeedbackForEveryPacket() throws Exception {
    try (MediaTestPeer pub = fx.peer("twcc", "sendonly", 21, UplinkFeedbackTest::withTwccExtmap)) {
      assertTrue(pub.offerSdp.contains("a=extmap:3 " + TransportSequence.URI), "offered on the upload m-lines");
      assertTrue(pub.offerSdp.contains("a=rtcp-fb:111 transport-cc"));
      assertTrue(pub.offerSdp.contains("a=rtcp-fb:96 goog-remb"));
      long ssrc = MediaTestPeer.ssrcs(pub.answerSdp).get(0);
      // 60 packets with transport-wide sequence numbers 65500.. (wrapping), every 7th one "lost" (not sent)
      Set<Integer> sent = new HashSet<>();
      Set<Integer> lost = new HashSet<>();
      int first = 65500;
      int count = 60;
      for (int i = 0; i < count; i++) {
        int tw = (first + i) & 0xFFFF;
        if (i % 7 == 3) {
          lost.add(tw);
          continue;
        }
        sent.add(tw);
        pub.sendOpusWithTransportSequence(ssrc, 1000 + i, 960L * i, 3, tw,
            ("opus " + i).getBytes(StandardCharsets.US_ASCII));
      }
      Set<Integer> reportedReceived = new HashSet<>();
      Set<Integer> reportedLost = new HashSet<>();
      List<TransportFeedback> feedback = new ArrayList<>();
      long deadline = System.currentTimeMillis() + 10_000;
      // every packet sent is reported, each within about a feedback interval (100 ms)
      while (!reportedReceived.containsAll(sent)) {
        assertTrue(System.currentTimeMillis() < deadline,
            "feedback for every packet within 10 s; got " + reportedReceived.size() + " of " + sent.size());
        List<RtcpPacket> rtcp = pub.pollRtcp();
        if (rtcp == null) {
          continue;
        }
        for (RtcpPacket p : rtcp) {
          if (p instanceof TransportFeedback fb) {
            feedback.add(fb);
            Set<Integer> rec = new TreeSet<>();
            fb.received().forEach(r -> rec.add(r.sequence()));
            for (int k = 0; k < fb.packetStatusCount(); k++) {
              int s = (fb.baseSequence() + k) & 0xFFFF;
              if (rec.contains(s)) {
                assertTrue(reportedReceived.add(s), "reported received twice: " + s);
              } else {
                reportedLost.add(s);
              }
            }
          }
        }
      }
      assertEquals(sent, reportedReceived, "every packet sent is reported received");
      for (int s : reportedLost) {
        assertTrue(lost.contains(s), "only unsent sequence numbers are reported lost: " + s);
      }
      assertEquals(first, feedback.get(0).baseSequence(), "the first feedback starts at the first packet");
      for (TransportFeedback fb : feedback) {
        assertEquals(ssrc, fb.mediaSsrc(), "media source: the publisher's SSRC, as libwebrtc does");
      }
      // the feedback packet counts go up by one per packet
      for (int i = 1; i < feedback.size(); i++) {
        assertEquals((feedback.get(i - 1).feedbackPacketCount() + 1) & 0xFF, feedback.get(i).feedbackPacketCount());
      }
    }
  }

  @Test
  void aPublisherWithoutTransportCcButWithGoogRembGetsRemb() throws Exception {
    // the fake browser answer echoes the rtcp-fb lines (goog-remb on video) but no extmap: no transport-wide cc
    try (MediaTestPeer pub = fx.peer("remb", "sendonly", 22)) {
      assertFalse(pub.answerSdp.contains(TransportSequence.URI));
      List<Long> ssrcs = MediaTestPeer.ssrcs(pub.answerSdp);
      long audio = ssrcs.get(0);
      Remb remb = null;
      long deadline = System.currentTimeMillis() + 10_000;
      int seq = 0;
      while (remb == null) {
        assertTrue(System.currentTimeMillis() < deadline, "a REMB within 10 s of media");
        pub.sendOpus(audio, seq, 960L * seq, new byte[200]);
        seq++;
        List<RtcpPacket> rtcp = pub.pollRtcp();
        if (rtcp != null) {
          for (RtcpPacket p : rtcp) {
            assertFalse(p instanceof TransportFeedback, "no transport-wide feedback when it was not negotiated");
            if (p instanceof Remb r) {
              remb = r;
            }
          }
        }
      }
      assertEquals(ssrcs, remb.ssrcs(), "the REMB names the publisher's streams");
      assertTrue(remb.bitrate() >= 300_000 && remb.bitrate() <= 10_000_000, "between floor and ceiling: " + remb);
    }
  }

  @Test
  void subscribersAreOfferedDownlinkFeedbackButNoUplinkExtras() throws Exception {
    try (MediaTestPeer pub = fx.peer("down", "sendonly", 23, UplinkFeedbackTest::withTwccExtmap);
        MediaTestPeer sub = fx.peer("down", "recvonly", 24)) {
      String offer = sub.offerSdp;
      // downlink congestion control (DownlinkCcTest): the server stamps what it forwards
      assertTrue(offer.contains("a=extmap:3 " + TransportSequence.URI), offer);
      assertTrue(offer.contains("a=rtcp-fb:111 transport-cc"), offer);
      assertTrue(offer.contains("a=rtcp-fb:96 goog-remb"), offer);
      assertFalse(offer.contains("x-google-start-bitrate"), offer);
      // RTX to subscribers (a sendonly video m-line with an RTX SSRC) is DownlinkRtxTest's; no uplink start bitrate
      assertTrue(pub.offerSdp.contains("x-google-start-bitrate=1000"), pub.offerSdp);
      assertTrue(pub.offerSdp.contains("a=rtpmap:97 rtx/90000"), pub.offerSdp);
      assertTrue(pub.offerSdp.contains("a=fmtp:97 apt=96"), pub.offerSdp);
    }
  }
}
