package dev.veil.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import dev.veil.webrtc.rtp.RtpHeader;
import dev.veil.webrtc.rtp.RtpPacket;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** A publisher's RTX stream on the receive path: retransmissions unwrapped, probes dropped. */
class UplinkRtxTest {
  private static final long MEDIA = 0x1111L;
  private static final long RTX = 0x2222L;

  private static byte[] media(int seq, String payload) {
    byte[] p = payload.getBytes();
    return RtpPacket.build(RtpHeader.of(false, 96, seq, 9000, MEDIA), p, 0, p.length);
  }

  private static byte[] rtx(int rtxSeq, int osn, String payload) {
    byte[] p = payload.getBytes();
    byte[] body = new byte[2 + p.length];
    body[0] = (byte) (osn >>> 8);
    body[1] = (byte) osn;
    System.arraycopy(p, 0, body, 2, p.length);
    return RtpPacket.build(RtpHeader.of(false, 97, rtxSeq, 9000, RTX), body, 0, body.length);
  }

  @Test
  void unwrapsRetransmissionsAndDropsProbes() {
    UplinkRtx u = new UplinkRtx();
    byte[] m = media(10, "a");
    assertSame(m, u.onRtp(m), "without RTX streams everything passes as is");
    u.add(RTX, MEDIA, 96);
    byte[] m11 = media(11, "b");
    assertSame(m11, u.onRtp(m11));
    assertArrayEquals(media(12, "c"), u.onRtp(rtx(500, 12, "c")), "a retransmission of a packet never received");
    assertNull(u.onRtp(rtx(501, 11, "b")), "a repeat of a packet already received (a redundant-payload probe)");
    assertNull(u.onRtp(rtx(502, 12, "c")), "nor twice the same retransmission");
    assertNull(u.onRtp(RtpPacket.build(RtpHeader.of(false, 97, 503, 9000, RTX), new byte[0], 0, 0)), "padding");
    assertNull(u.onRtp(new byte[] {(byte) 0x80, 97, 0, 0, 0, 0, 0, 0, 0, 0, 0x22, 0x22, 0x7F}), "too short to carry a packet");
    Map<String, Long> c = new TreeMap<>();
    u.addCounters(c);
    assertEquals(Map.of("media.uplink.rtx_duplicates", 2L, "media.uplink.rtx_padding", 2L,
        "media.uplink.rtx_unwrapped", 1L), c);
  }
}
