package dev.veil.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import dev.veil.webrtc.rtp.HeaderExtension;
import dev.veil.webrtc.rtp.RtpHeader;
import dev.veil.webrtc.rtp.RtpPacket;
import java.nio.charset.StandardCharsets;
import java.util.List;
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

  private static byte[] withExt(long ssrc, int pt, int seq, int extId, String rid, byte[] payload) {
    RtpHeader h = RtpHeader.of(false, pt, seq, 9000, ssrc);
    if (rid != null) {
      h = h.withExtensions(List.of(new HeaderExtension(extId, rid.getBytes(StandardCharsets.US_ASCII))));
    }
    return RtpPacket.build(h, payload, 0, payload.length);
  }

  @Test
  void simulcastRtxStreamsAreToldByTheirRepairedRid() throws Exception {
    UplinkRtx u = new UplinkRtx();
    u.simulcast(4, 5, 97, 96);
    long hMedia = 0xA1L;
    long hRtx = 0xA2L;
    long fMedia = 0xB1L;
    byte[] h1 = withExt(hMedia, 96, 100, 4, "h", "x".getBytes());
    assertSame(h1, u.onRtp(h1), "media passes (its SSRC is now layer h's)");
    byte[] f1 = withExt(fMedia, 96, 7, 4, "f", "y".getBytes());
    assertSame(f1, u.onRtp(f1));
    // an RTX packet naming layer h (repaired RID) carrying h's packet 101
    byte[] body = {0, 101, 'z'};
    byte[] out = u.onRtp(withExt(hRtx, 97, 1, 5, "h", body));
    RtpPacket orig = RtpPacket.parse(out);
    assertEquals(hMedia, orig.header().ssrc());
    assertEquals(101, orig.header().sequenceNumber());
    assertEquals(96, orig.header().payloadType());
    // once known, later RTX packets of that SSRC need no extension
    byte[] again = u.onRtp(withExt(hRtx, 97, 2, 5, null, new byte[] {0, 102, 'w'}));
    assertEquals(102, RtpPacket.parse(again).header().sequenceNumber());
    assertNull(u.onRtp(withExt(hRtx, 97, 3, 5, null, new byte[] {0, 101, 'z'})), "a repeat: dropped");
    // an RTX packet naming a layer whose media SSRC is unknown passes untouched (the router drops it)
    byte[] unknown = withExt(0xC2L, 97, 1, 5, "q", body);
    assertSame(unknown, u.onRtp(unknown));
  }

  /** The in-place receive path: {@code passesThrough}, else {@code onRtp} on a copy; the packet at offset 3. */
  private static byte[] inPlace(UplinkRtx u, byte[] p) {
    byte[] buf = new byte[p.length + 10];
    java.util.Arrays.fill(buf, (byte) 0x5A);
    System.arraycopy(p, 0, buf, 3, p.length);
    if (u.passesThrough(buf, 3, p.length)) {
      return java.util.Arrays.copyOfRange(buf, 3, 3 + p.length);
    }
    return u.onRtp(java.util.Arrays.copyOfRange(buf, 3, 3 + p.length));
  }

  /** passesThrough + onRtp on a copy = onRtp alone, packet for packet and in the counters, plain and simulcast. */
  @Test
  void inPlaceCheck_routesExactlyWhatOnRtpRoutes() {
    for (boolean simulcast : new boolean[] {false, true}) {
      UplinkRtx copying = new UplinkRtx();
      UplinkRtx inPlace = new UplinkRtx();
      java.util.List<byte[]> script = new java.util.ArrayList<>();
      if (simulcast) {
        copying.simulcast(4, 5, 97, 96);
        inPlace.simulcast(4, 5, 97, 96);
        script.add(withExt(0xA1L, 96, 100, 4, "h", "x".getBytes()));
        script.add(withExt(0xA1L, 96, 101, 4, null, "x2".getBytes()));
        script.add(withExt(0xA2L, 97, 1, 5, "h", new byte[] {0, 102, 'z'}));
        script.add(withExt(0xA2L, 97, 2, 5, null, new byte[] {0, 101, 'w'})); // repeat of 101
        script.add(withExt(0xA1L, 96, 102, 4, null, "dup".getBytes()));
        script.add(withExt(0xC2L, 97, 1, 5, "q", new byte[] {0, 1, 'q'}));
        script.add(withExt(0xB1L, 96, 7, 4, "f", "y".getBytes()));
      } else {
        copying.add(RTX, MEDIA, 96);
        inPlace.add(RTX, MEDIA, 96);
        script.add(media(10, "a"));
        script.add(media(11, "b"));
        script.add(rtx(500, 12, "c"));
        script.add(rtx(501, 11, "b"));
        script.add(rtx(502, 12, "c"));
        script.add(media(12, "c")); // the media packet after its retransmission: routed (the router drops dups)
        script.add(RtpPacket.build(RtpHeader.of(false, 97, 503, 9000, RTX), new byte[0], 0, 0));
        script.add(new byte[] {(byte) 0x80, 97, 0, 0, 0, 0, 0, 0, 0, 0, 0x22, 0x22, 0x7F});
        script.add(media(13, "d"));
      }
      for (int i = 0; i < script.size(); i++) {
        byte[] p = script.get(i);
        byte[] expected = copying.onRtp(p.clone());
        byte[] actual = inPlace(inPlace, p);
        if (expected == null) {
          assertNull(actual, "packet " + i);
        } else {
          assertArrayEquals(expected, actual, "packet " + i);
        }
      }
      Map<String, Long> a = new TreeMap<>();
      Map<String, Long> b = new TreeMap<>();
      copying.addCounters(a);
      inPlace.addCounters(b);
      assertEquals(a, b);
    }
  }
}
