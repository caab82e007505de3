package dev.veil.server.cluster.relay;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.veil.webrtc.router.ConsumerParams;
import dev.veil.webrtc.router.ProducerParams;
import dev.veil.webrtc.router.Router;
import dev.veil.webrtc.router.RouterConfig;
import dev.veil.webrtc.router.RouterOutput;
import dev.veil.webrtc.rtcp.PictureLossIndication;
import dev.veil.webrtc.rtcp.RtcpCompound;
import dev.veil.webrtc.rtcp.RtcpPacket;
import dev.veil.webrtc.rtp.RtpCodec;
import dev.veil.webrtc.rtp.RtpHeader;
import dev.veil.webrtc.rtp.RtpPacket;
import dev.veil.webrtc.sdp.MediaKind;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * A cascaded channel in memory on a manual clock: a publisher on node a's router, a subscriber on node b's router,
 * the two routers joined by {@link CascadeBridge}s over a {@link RelayLink} pair. The subscriber gets the publisher's
 * payloads byte-for-byte (they stand for E2EE ciphertext: the nodes never look inside), starting at a key frame;
 * its PLI reaches the publisher on node a.
 */
class CascadeBridgeTest {
  private static final byte[] SECRET = RelayLinkTest.secret(9);
  private static final RelayLink.Timings T = new RelayLink.Timings(500, 1000, 5000, 1024);
  private static final long PUB_SSRC = 0x2222L;
  private static final byte[] VP8_KEY = {0x10, 0x50, 0x42, 0x00, (byte) 0x9d, 0x01, 0x2a}; // S=1 PID=0, P=0
  private static final byte[] VP8_DELTA = {0x10, 0x51, 0x42, 0x00, 0x01, 0x02};

  private long now = 50_000;
  private final Router routerA = new Router(RouterConfig.defaults(), new Random(1));
  private final Router routerB = new Router(RouterConfig.defaults(), new Random(2));
  private final RelayLink linkB = RelayLink.initiator(SECRET, "b", "a", T, new Random(3), now);
  private final RelayLink linkA = RelayLink.responder(SECRET, "a", "b", T, new Random(4), now);
  private final CascadeBridge bridgeA = new CascadeBridge(routerA, linkA);
  private final CascadeBridge bridgeB = new CascadeBridge(routerB, linkB);
  private final List<RouterOutput> localA = new ArrayList<>();
  private final List<RouterOutput> localB = new ArrayList<>();
  private final List<byte[]> wire = new ArrayList<>();

  /** One step of both nodes: router outputs to the bridges or the local peers, datagrams across, link into routers. */
  private void step() {
    for (int round = 0; round < 4; round++) {
      for (RouterOutput o; (o = routerA.pollOutput()) != null; ) {
        if (!bridgeA.offer(o, now)) {
          localA.add(o);
        }
      }
      for (RouterOutput o; (o = routerB.pollOutput()) != null; ) {
        if (!bridgeB.offer(o, now)) {
          localB.add(o);
        }
      }
      for (byte[] d; (d = linkA.pollOutput()) != null; ) {
        wire.add(d);
        linkB.input(d, 0, d.length, now);
      }
      for (byte[] d; (d = linkB.pollOutput()) != null; ) {
        linkA.input(d, 0, d.length, now);
      }
      bridgeA.pumpLink(now);
      bridgeB.pumpLink(now);
    }
  }

  private static byte[] payload(byte[] vp8Descriptor, int i) {
    byte[] p = new byte[vp8Descriptor.length + 300];
    System.arraycopy(vp8Descriptor, 0, p, 0, vp8Descriptor.length);
    byte[] ct = new byte[300];
    new Random(1000 + i).nextBytes(ct); // the frame's SFrame ciphertext, as far as the nodes can tell
    System.arraycopy(ct, 0, p, vp8Descriptor.length, ct.length);
    return p;
  }

  private List<RtpPacket> rtpTo(List<RouterOutput> outs, String peer) throws Exception {
    List<RtpPacket> r = new ArrayList<>();
    for (RouterOutput o : outs) {
      if (o instanceof RouterOutput.Rtp p && p.peerId().equals(peer)) {
        r.add(RtpPacket.parse(p.packet(), 0, p.packet().length));
      }
    }
    return r;
  }

  private List<RtcpPacket> rtcpTo(List<RouterOutput> outs, String peer) throws Exception {
    List<RtcpPacket> r = new ArrayList<>();
    for (RouterOutput o : outs) {
      if (o instanceof RouterOutput.Rtcp c && c.peerId().equals(peer)) {
        r.addAll(RtcpCompound.parse(c.packet(), 0, c.packet().length));
      }
    }
    return r;
  }

  private static byte[] payloadOf(RtpPacket p) {
    return java.util.Arrays.copyOfRange(p.buffer(), p.payloadOffset(), p.payloadOffset() + p.payloadLength());
  }

  @Test
  void aSubscriberOnTheRelayNodeGetsThePublisherOfTheOwnerUntouchedAndItsPliGoesBack() throws Exception {
    linkB.handleTimeout(now);
    step();
    assertTrue(linkA.up() && linkB.up());

    routerA.createProducer("pv", "pub", new ProducerParams(MediaKind.VIDEO, RtpCodec.VP8, 96, 90000, PUB_SSRC, "1"));
    CascadeBridge.RemoteTrack track = bridgeA.export("pv", now); // announced to node b (signaling: §1.9.3)
    bridgeB.importTrack(track);
    String remote = bridgeB.importedProducer("pv");
    routerB.createConsumer("c1", "sub", remote, new ConsumerParams(0x5555L, 96, null, 0, null), now);
    step();
    List<RtcpPacket> toPub = rtcpTo(localA, "pub");
    assertTrue(toPub.contains(new PictureLossIndication(routerA.rtcpSsrc(), PUB_SSRC)),
        "the new subscriber's key-frame request reached the publisher on the owner: " + toPub);
    localA.clear();

    List<byte[]> sent = new ArrayList<>();
    for (int i = 0; i < 30; i++) {
      byte[] pl = payload(i == 0 ? VP8_KEY : VP8_DELTA, i);
      sent.add(pl);
      byte[] pkt = RtpPacket.build(RtpHeader.of(i % 3 == 2, 96, 700 + i, 90000L + 3000L * (i / 3), PUB_SSRC), pl, 0,
          pl.length);
      routerA.handleRtp("pub", pkt, 0, pkt.length, now);
      step();
      now += 10;
    }
    List<RtpPacket> got = rtpTo(localB, "sub");
    assertEquals(30, got.size(), "every packet reached the subscriber on node b");
    for (int i = 0; i < 30; i++) {
      assertArrayEquals(sent.get(i), payloadOf(got.get(i)), "payload " + i + " byte-for-byte");
      assertEquals(0x5555L, got.get(i).header().ssrc(), "the subscriber's own SSRC");
      if (i > 0) {
        assertEquals(1, RtpHeader.seqDelta(got.get(i - 1).header().sequenceNumber(),
            got.get(i).header().sequenceNumber()));
      }
    }
    int carried = 0;
    for (byte[] d : wire) {
      for (byte[] pl : sent) {
        if (contains(d, pl)) {
          carried++;
          break;
        }
      }
    }
    assertEquals(30, carried, "each payload crossed the link as it was");

    // the subscriber on b loses a picture: its PLI crosses back and the owner asks the publisher
    now += 1000;
    byte[] pli = RtcpCompound.write(List.of(new PictureLossIndication(0x77, 0x5555L)));
    routerB.handleRtcp("sub", pli, 0, pli.length, now);
    step();
    assertEquals(List.of(new PictureLossIndication(routerA.rtcpSsrc(), PUB_SSRC)),
        rtcpTo(localA, "pub").stream().filter(p -> p instanceof PictureLossIndication).toList());
    assertEquals(0, bridgeA.dropped() + bridgeB.dropped());
    assertEquals(0, linkB.stats().rejectedAuth() + linkB.stats().rejectedReplay());

    // the publisher leaves: the imported track goes, and so does b's consumer
    bridgeB.dropTrack("pv");
    assertEquals(null, routerB.findConsumer("c1"));
  }

  private static boolean contains(byte[] hay, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= hay.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (hay[i + j] != needle[j]) {
          continue outer;
        }
      }
      return true;
    }
    return false;
  }
}
