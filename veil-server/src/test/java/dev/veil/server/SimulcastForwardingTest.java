package dev.veil.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.veil.webrtc.rtp.HeaderExtension;
import dev.veil.webrtc.rtp.RtpHeader;
import dev.veil.webrtc.rtp.RtpPacket;
import dev.veil.webrtc.sdp.Extmap;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Simulcast through a real server (ephemeral ports) with clients built from Veil's own engines: a publisher whose
 * answer sends three layers (a=simulcast:send q;h;f, no a=ssrc) sends VP8 on three SSRCs named by the RtpStreamId
 * extension; a subscriber without a limit gets the top layer, one that sent {@code receive {max_height: 200}} the
 * low one, each on its own SSRC; when the second lifts its limit it moves to the top layer at a key frame, on the
 * same SSRC (sequence continuity across the switch is checked by RouterSimulcastTest and, as no loss, by the
 * Chromium test).
 */
class SimulcastForwardingTest {
  private static final String[] RIDS = {"q", "h", "f"};
  private static final long[] SSRC = {0x5100L, 0x5200L, 0x5300L};
  private MediaTestServer fx;
  private final int[] seq = {10, 2000, 40000};
  private final long[] ts = {1000, 2000, 3000};

  @BeforeEach
  void start() throws Exception {
    fx = MediaTestServer.start();
  }

  @AfterEach
  void stop() throws Exception {
    fx.close();
  }

  /** The fake browser's answer, its video upload turned into a simulcast sender (as Chromium answers). */
  private static String simulcastAnswer(String answer) {
    StringBuilder out = new StringBuilder();
    boolean video = false;
    for (String l : answer.split("\r\n")) {
      if (l.startsWith("m=")) {
        video = l.startsWith("m=video");
      }
      if (video && l.startsWith("a=ssrc:")) {
        continue; // a simulcast answer names no SSRC
      }
      out.append(l).append("\r\n");
      if (video && l.equals("a=sendonly")) {
        out.append("a=extmap:4 ").append(Extmap.RTP_STREAM_ID).append("\r\n");
        for (String r : RIDS) {
          out.append("a=rid:").append(r).append(" send\r\n");
        }
        out.append("a=simulcast:send q;h;f\r\n");
      }
    }
    return out.toString();
  }

  /** One VP8 packet of a layer: a key frame announces 320x180 << layer; the last payload byte names the layer. */
  private byte[] vp8(int layer, boolean key) {
    byte[] payload;
    if (key) {
      int w = 320 << layer;
      int h = 180 << layer;
      payload = new byte[] {0x10, 0x50, 0x42, 0x00, (byte) 0x9d, 0x01, 0x2a, (byte) w, (byte) (w >> 8), (byte) h,
          (byte) (h >> 8), (byte) layer};
    } else {
      payload = new byte[] {0x10, 0x51, 0x42, 0x00, 0x01, (byte) layer};
    }
    RtpHeader hdr = RtpHeader.of(true, 96, seq[layer]++ & 0xFFFF, ts[layer], SSRC[layer]).withExtensions(List.of(
        new HeaderExtension(4, RIDS[layer].getBytes(StandardCharsets.US_ASCII))));
    ts[layer] += 3000;
    return RtpPacket.build(hdr, payload, 0, payload.length);
  }

  /** A received packet: subscriber SSRC and the layer its payload came from. */
  private record Got(long ssrc, int layer) {}

  /** Sends frames (a key frame on every layer every 10th) until {@code done} holds for what the subscribers got. */
  private void run(MediaTestPeer pub, List<MediaTestPeer> subs, List<List<Got>> got,
      java.util.function.BooleanSupplier done) throws Exception {
    long deadline = System.currentTimeMillis() + 20_000;
    for (int frame = 0; !done.getAsBoolean(); frame++) {
      assertTrue(System.currentTimeMillis() < deadline, "not in time; got " + got);
      for (int l = 0; l < 3; l++) {
        pub.sendRtp(vp8(l, frame % 10 == 0));
      }
      for (int i = 0; i < subs.size(); i++) {
        for (MediaTestPeer.Rtp r; (r = subs.get(i).pollRtp()) != null; ) {
          if (r.payloadType() != 111) {
            got.get(i).add(new Got(r.ssrc(), r.payload()[r.payload().length - 1]));
          }
        }
      }
    }
  }

  @Test
  void eachSubscriberGetsItsLayerOnItsSsrc_andALiftedLimitSwitchesUpAtAKeyFrame() throws Exception {
    try (MediaTestPeer pub = fx.peer("sim", "sendonly", 1, SimulcastForwardingTest::simulcastAnswer)) {
      for (int l = 0; l < 3; l++) {
        pub.sendRtp(vp8(l, true)); // the layers' SSRCs and sizes become known
      }
      try (MediaTestPeer high = fx.peer("sim", "recvonly", 2); MediaTestPeer low = fx.peer("sim", "recvonly", 3)) {
        low.ws.send("{\"type\":\"receive\",\"max_height\":200}");
        long highSsrc = MediaTestPeer.ssrcs(high.offerSdp).get(1);
        long lowSsrc = MediaTestPeer.ssrcs(low.offerSdp).get(1);
        List<List<Got>> got = List.of(new ArrayList<>(), new ArrayList<>());
        run(pub, List.of(high, low), got, () -> got.get(0).size() >= 20 && got.get(1).size() >= 20);
        // after its first packets (a subscriber may start on the best layer already running), each gets one layer
        List<Got> highTail = got.get(0).subList(got.get(0).size() - 10, got.get(0).size());
        List<Got> lowTail = got.get(1).subList(got.get(1).size() - 10, got.get(1).size());
        assertTrue(highTail.stream().allMatch(g -> g.layer() == 2 && g.ssrc() == highSsrc), highTail.toString());
        assertTrue(lowTail.stream().allMatch(g -> g.layer() == 0 && g.ssrc() == lowSsrc), lowTail.toString());

        low.ws.send("{\"type\":\"receive\",\"max_height\":0}");
        int before = got.get(1).size();
        run(pub, List.of(high, low), got, () -> got.get(1).stream().skip(before).anyMatch(g -> g.layer() == 2)
            && got.get(1).size() > before + 20);
        List<Got> after = got.get(1).subList(got.get(1).size() - 10, got.get(1).size());
        assertTrue(after.stream().allMatch(g -> g.layer() == 2 && g.ssrc() == lowSsrc), after.toString());
        assertEquals(3L, fx.server.counters().get("router.simulcast_layers_known"));
        assertTrue(fx.server.counters().get("router.simulcast_layer_switches") >= 1);
      }
    }
  }
}
