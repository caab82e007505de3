package dev.veil.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.veil.webrtc.rtcp.GenericNack;
import dev.veil.webrtc.rtp.RtpHeader;
import dev.veil.webrtc.rtp.RtpPacket;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * RTX (RFC 4588) to a subscriber through a real server and real SRTP (clients built from Veil's engines on
 * loopback): the offer announces an RTX SSRC for the forwarded video ({@code a=ssrc-group:FID}), the answer keeps
 * the rtx payload type, and a NACKed packet comes back on the RTX SSRC with the OSN before the original payload.
 * With the rtx payload type removed from the answer, the same NACK is answered on the media SSRC.
 */
class DownlinkRtxTest {
  private static final byte[] VP8_KEY = {0x10, 0x50, 0x42, 0x00, (byte) 0x9d, 0x01, 0x2a};
  private MediaTestServer fx;

  @BeforeEach
  void start() throws Exception {
    fx = MediaTestServer.start();
  }

  @AfterEach
  void stop() throws Exception {
    fx.close();
  }

  /** Drops the rtx payload types from a fake browser answer (as a browser without RTX would answer). */
  private static String withoutRtx(String answer) {
    StringBuilder out = new StringBuilder();
    for (String l : answer.split("\r\n")) {
      if (l.startsWith("a=rtpmap:97 ") || l.startsWith("a=fmtp:97 ") || l.startsWith("a=rtpmap:103 ")
          || l.startsWith("a=fmtp:103 ")) {
        continue;
      }
      if (l.startsWith("m=video ")) {
        l = l.replace(" 97", "").replace(" 103", "");
      }
      out.append(l).append("\r\n");
    }
    return out.toString();
  }

  @Test
  void nackedVideo_isResentOnTheRtxSsrc_orOnTheMediaSsrcWithoutRtx() throws Exception {
    try (MediaTestPeer pub = fx.peer("rtx", "sendonly", 1);
        MediaTestPeer rtxSub = fx.peer("rtx", "recvonly", 2);
        MediaTestPeer plainSub = fx.peer("rtx", "recvonly", 3, DownlinkRtxTest::withoutRtx)) {
      long pubVideo = MediaTestPeer.ssrcs(pub.answerSdp).get(1);
      Matcher fid = Pattern.compile("a=ssrc-group:FID (\\d+) (\\d+)").matcher(rtxSub.offerSdp);
      assertTrue(fid.find(), rtxSub.offerSdp);
      long video = Long.parseLong(fid.group(1));
      long rtx = Long.parseLong(fid.group(2));
      assertTrue(rtxSub.offerSdp.contains("a=fmtp:97 apt=96"), rtxSub.offerSdp);
      Matcher plainFid = Pattern.compile("a=ssrc-group:FID (\\d+) (\\d+)").matcher(plainSub.offerSdp);
      assertTrue(plainFid.find());
      long plainVideo = Long.parseLong(plainFid.group(1));

      // key frames until both subscribers forward, then numbered delta frames
      int seq = 1000;
      MediaTestPeer.Rtp first = null;
      MediaTestPeer.Rtp plainFirst = null;
      long deadline = System.currentTimeMillis() + 15_000;
      while (first == null || plainFirst == null) {
        assertTrue(System.currentTimeMillis() < deadline, "no video forwarded");
        pub.sendRtp(RtpPacket.build(RtpHeader.of(false, 96, seq, seq * 3000L, pubVideo), VP8_KEY, 0, VP8_KEY.length));
        seq++;
        for (MediaTestPeer.Rtp r; (r = rtxSub.pollRtp()) != null; ) {
          first = r.ssrc() == video && first == null ? r : first;
        }
        for (MediaTestPeer.Rtp r; (r = plainSub.pollRtp()) != null; ) {
          plainFirst = r.ssrc() == plainVideo && plainFirst == null ? r : plainFirst;
        }
      }
      // the next video packet is lost on the way to both subscribers (never decrypted: no SRTP replay later)
      rtxSub.loseNext(video);
      plainSub.loseNext(plainVideo);
      byte[] delta = {0x10, 0x51, 0x42, 0x00, 0x55, 0x66};
      pub.sendRtp(RtpPacket.build(RtpHeader.of(false, 96, seq, seq * 3000L, pubVideo), delta, 0, delta.length));
      int lost = awaitLoss(rtxSub);
      int plainLost = awaitLoss(plainSub);

      rtxSub.sendRtcp(new GenericNack(0x1234, video, List.of(lost)));
      MediaTestPeer.Rtp re = awaitSsrc(rtxSub, rtx);
      assertEquals(97, re.payloadType());
      assertEquals(lost, ((re.payload()[0] & 0xff) << 8) | (re.payload()[1] & 0xff), "OSN");
      assertArrayEquals(delta, Arrays.copyOfRange(re.payload(), 2, re.payload().length));

      plainSub.sendRtcp(new GenericNack(0x1234, plainVideo, List.of(plainLost)));
      MediaTestPeer.Rtp plainRe = awaitSsrc(plainSub, plainVideo);
      assertEquals(plainLost, plainRe.seq(), "resent with the same sequence number on the media SSRC");
      assertArrayEquals(delta, plainRe.payload());

      Map<String, Long> c = fx.server.counters();
      assertEquals(2L, c.get("router.retransmitted_from_cache"), c.toString());
      assertEquals(1L, c.get("router.retransmitted_rtx"), c.toString());
    }
  }

  private static int awaitLoss(MediaTestPeer p) throws Exception {
    long deadline = System.currentTimeMillis() + 10_000;
    while (p.lostSeq < 0) {
      assertTrue(System.currentTimeMillis() < deadline, "the packet to lose never came");
      p.pollRtp();
    }
    return p.lostSeq;
  }

  private static MediaTestPeer.Rtp awaitSsrc(MediaTestPeer p, long ssrc) throws Exception {
    long deadline = System.currentTimeMillis() + 10_000;
    while (System.currentTimeMillis() < deadline) {
      MediaTestPeer.Rtp r = p.pollRtp();
      if (r != null && r.ssrc() == ssrc) {
        assertNotNull(r.payload());
        return r;
      }
    }
    throw new AssertionError("nothing on the RTX ssrc " + ssrc);
  }
}
