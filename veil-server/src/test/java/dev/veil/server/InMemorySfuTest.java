package dev.veil.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.veil.webrtc.rtcp.GenericNack;
import dev.veil.webrtc.rtcp.PictureLossIndication;
import dev.veil.webrtc.rtcp.RtcpPacket;
import dev.veil.webrtc.rtp.RtpHeader;
import dev.veil.webrtc.rtp.RtpPacket;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The server's forwarding and signaling logic end to end in memory ({@link InMemorySfu}: the real hub and channel
 * routers, fake transports, a manual clock): join → forward, NACK → retransmission (same SSRC and RTX), upstream
 * loss → NACK to the publisher on the router's timer, leave → the close cascade down to the channel's router.
 */
class InMemorySfuTest {
  private static final long A_AUDIO = 0xA0A0L;
  private static final long A_VIDEO = 0xA1A1L;
  private static final byte[] VP8_KEY = {0x10, 0x50, 0x42, 0x00, (byte) 0x9d, 0x01, 0x2a};

  private final InMemorySfu sfu = new InMemorySfu();

  private static byte[] rtp(long ssrc, int pt, int seq, long ts, byte[] payload) {
    return RtpPacket.build(RtpHeader.of(false, pt, seq, ts, ssrc), payload, 0, payload.length);
  }

  private static byte[] vp8(int seq) {
    return new byte[] {0x10, 0x51, 0x42, 0x00, (byte) seq};
  }

  private static byte[] payload(RtpPacket p) {
    return Arrays.copyOfRange(p.buffer(), p.payloadOffset(), p.payloadOffset() + p.payloadLength());
  }

  private InMemorySfu.Client publisher(String channel) {
    return sfu.join(channel, "sendonly", "a=x-publish:audio " + A_AUDIO + "\r\na=x-publish:video " + A_VIDEO + "\r\n");
  }

  @Test
  void join_thenForward_withTheSubscribersSsrcs_andVideoFromAKeyFrame() throws Exception {
    InMemorySfu.Client a = publisher("room");
    InMemorySfu.Client b = sfu.join("room", "recvonly", "");
    long[] audio = b.offered(a.id() + "-audio");
    long[] video = b.offered(a.id() + "-video");
    assertNotNull(audio, "b's offer carries a's tracks");
    assertNotNull(video);
    assertTrue(a.rtcp().contains(new PictureLossIndication(sfu.routers.channel("room").router.rtcpSsrc(), A_VIDEO)),
        "the new video consumer asked a for a key frame");

    a.sendRtp(rtp(A_AUDIO, 111, 500, 960, new byte[] {1, 2, 3}));
    a.sendRtp(rtp(A_VIDEO, 96, 70, 3000, vp8(70))); // a delta frame: b waits for a key frame
    a.sendRtp(rtp(A_VIDEO, 96, 71, 6000, VP8_KEY));
    List<RtpPacket> got = b.newRtp();
    assertEquals(2, got.size(), got.toString());
    assertEquals(audio[0], got.get(0).header().ssrc());
    assertEquals(video[0], got.get(1).header().ssrc());
    assertTrue(Arrays.equals(VP8_KEY, payload(got.get(1))));
    assertEquals(1, sfu.routers.size());
  }

  @Test
  void nack_isAnsweredFromTheCache_onRtxWhenNegotiated_elseOnTheMediaSsrc() throws Exception {
    InMemorySfu.Client a = publisher("room");
    InMemorySfu.Client plain = sfu.join("room", "recvonly", "");
    InMemorySfu.Client withRtx = sfu.join("room", "recvonly", "a=x-rtx\r\n");
    a.sendRtp(rtp(A_VIDEO, 96, 100, 0, VP8_KEY));
    for (int seq = 101; seq <= 104; seq++) {
      a.sendRtp(rtp(A_VIDEO, 96, seq, 3000L * (seq - 100), vp8(seq)));
    }
    for (InMemorySfu.Client sub : List.of(plain, withRtx)) {
      long[] ssrcs = sub.offered(a.id() + "-video");
      List<RtpPacket> got = sub.newRtp();
      assertEquals(5, got.size());
      int lost = got.get(2).header().sequenceNumber(); // the subscriber "lost" producer seq 102
      sfu.advanceMillis(20);
      sub.sendRtcp(new GenericNack(0x77, ssrcs[0], List.of(lost)));
      RtpPacket re = sub.newRtp().get(0);
      if (sub == plain) {
        assertEquals(ssrcs[0], re.header().ssrc());
        assertEquals(lost, re.header().sequenceNumber());
        assertTrue(Arrays.equals(vp8(102), payload(re)));
      } else {
        assertEquals(ssrcs[1], re.header().ssrc(), "on the RTX SSRC announced in the offer");
        assertEquals(InMemorySfu.RTX_PT, re.header().payloadType());
        byte[] p = payload(re);
        assertEquals(lost, ((p[0] & 0xFF) << 8) | (p[1] & 0xFF), "OSN");
        assertTrue(Arrays.equals(vp8(102), Arrays.copyOfRange(p, 2, p.length)));
      }
    }
    var s = sfu.routers.channel("room").router.stats();
    assertEquals(2, s.retransmittedFromCache());
    assertEquals(1, s.retransmittedRtx());
  }

  @Test
  void upstreamLoss_isNackedToThePublisher_byTheRoutersTimer() throws Exception {
    InMemorySfu.Client a = publisher("room");
    sfu.join("room", "recvonly", "");
    a.sendRtp(rtp(A_VIDEO, 96, 10, 0, VP8_KEY));
    a.sendRtp(rtp(A_VIDEO, 96, 13, 9000, vp8(13))); // 11 and 12 lost on the way in
    long rtcpSsrc = sfu.routers.channel("room").router.rtcpSsrc();
    GenericNack expected = new GenericNack(rtcpSsrc, A_VIDEO, List.of(11, 12));
    assertTrue(a.rtcp().stream().noneMatch(p -> p instanceof GenericNack), "not before the reorder wait");
    sfu.advanceMillis(10);
    assertEquals(List.of(expected), nacks(a.rtcp()));
    a.sendRtp(rtp(A_VIDEO, 96, 11, 3000, vp8(11))); // retransmitted
    sfu.advanceMillis(40);
    assertEquals(List.of(expected, new GenericNack(rtcpSsrc, A_VIDEO, List.of(12))), nacks(a.rtcp()),
        "only what is still missing is asked again");
  }

  @Test
  void routerCounters_inMetrics_summedOverChannels_withoutIds() throws Exception {
    InMemorySfu.Client a = publisher("room");
    InMemorySfu.Client b = sfu.join("room", "recvonly", "a=x-rtx\r\n");
    InMemorySfu.Client c = publisher("other");
    InMemorySfu.Client d = sfu.join("other", "recvonly", "");
    a.sendRtp(rtp(A_VIDEO, 96, 1, 0, VP8_KEY));
    c.sendRtp(rtp(A_VIDEO, 96, 1, 0, VP8_KEY));
    long[] ssrcs = b.offered(a.id() + "-video");
    b.sendRtcp(new GenericNack(1, ssrcs[0], List.of(b.rtp().get(0).header().sequenceNumber())));
    d.leave(); // the other channel's consumers close; its router stays for c
    c.leave(); // ... and now closes: its counters move to Stats
    java.util.Map<String, Long> counters = new java.util.TreeMap<>(sfu.stats.snapshot());
    sfu.routers.addLiveCounters(counters);
    String text = Metrics.render(counters);
    MetricsTest.Exposition e = MetricsTest.Exposition.parse(text);
    assertEquals(2.0, e.value("veil_router_rtp_forwarded_total", ""));
    assertEquals(1.0, e.value("veil_router_nacked_packets_total", ""));
    assertEquals(1.0, e.value("veil_router_retransmitted_from_cache_total", ""));
    assertEquals(1.0, e.value("veil_router_retransmitted_rtx_total", ""));
    assertEquals(2.0, e.value("veil_router_pli_sent_total", ""));
    assertEquals(0.0, e.value("veil_router_fir_sent_total", ""));
    assertEquals(0.0, e.value("veil_router_nacked_upstream_total", ""));
    for (InMemorySfu.Client x : List.of(a, b, c, d)) {
      assertTrue(!text.contains(x.id()), "no connection id in /metrics");
    }
    assertTrue(!text.contains("room") && !text.contains("other"), "no channel id in /metrics");
  }

  private static List<RtcpPacket> nacks(List<RtcpPacket> l) {
    return l.stream().filter(p -> p instanceof GenericNack).toList();
  }

  @Test
  void leave_closesTransportProducersConsumers_andTheRouterWhenTheChannelEmpties() throws Exception {
    InMemorySfu.Client a = publisher("room");
    InMemorySfu.Client b = sfu.join("room", "recvonly", "");
    InMemorySfu.Client other = publisher("elsewhere");
    assertEquals(2, sfu.routers.size(), "one router per channel");
    ChannelRouters.Channel room = sfu.routers.channel("room");
    String consumer = b.id() + "/" + a.id() + "-video";
    assertNotNull(room.router.findConsumer(consumer));
    a.sendRtp(rtp(A_AUDIO, 111, 1, 0, new byte[] {1}));

    a.leave();
    assertNull(room.router.findProducer(a.id() + "-video"), "a's producers closed");
    assertNull(room.router.findConsumer(consumer), "and b's consumers of them");
    assertNull(b.offered(a.id() + "-video"), "b was re-offered without a's tracks");
    assertTrue(room.router.isEmpty());
    assertTrue(!room.router.isClosed(), "b is still in the channel");

    b.leave();
    assertTrue(room.router.isClosed(), "the channel emptied: its router closed");
    assertNull(sfu.routers.channel("room"));
    assertEquals(1, sfu.routers.size(), "the other channel's router lives on");
    assertEquals(1, sfu.stats.get("router.closed"));
    assertEquals(1, sfu.stats.get("router.rtp_forwarded"), "the closed router's counters are kept");
    assertTrue(other.peer().channel.router.findProducer(other.id() + "-audio") != null);
    sfu.advanceMillis(5_000); // the closed router's timer never fires again: nothing is sent to anyone
    assertTrue(a.rtcp().stream().noneMatch(p -> p instanceof dev.veil.webrtc.rtcp.ReceiverReport));
  }
}
