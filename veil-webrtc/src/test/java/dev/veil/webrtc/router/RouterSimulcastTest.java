package dev.veil.webrtc.router;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.veil.webrtc.rtcp.GenericNack;
import dev.veil.webrtc.rtcp.PictureLossIndication;
import dev.veil.webrtc.rtcp.RtcpPacket;
import dev.veil.webrtc.rtcp.SenderReport;
import dev.veil.webrtc.rtp.HeaderExtension;
import dev.veil.webrtc.rtp.RtpCodec;
import dev.veil.webrtc.rtp.RtpHeader;
import dev.veil.webrtc.rtp.RtpPacket;
import dev.veil.webrtc.sdp.MediaKind;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A simulcast producer in the router: layers learned from the RtpStreamId extension, one layer per consumer,
 * switches at key frames with continuous sequence numbers, and PLI/NACK/SR about the layer a consumer gets.
 */
class RouterSimulcastTest extends RouterFixture {

    private static final int RID_EXT = 4;
    private static final List<String> RIDS = List.of("q", "h", "f");
    private final long[] SSRC = {0xA0L, 0xB0L, 0xC0L};

    private final int[] seq = {1000, 20_000, 65_500};
    private final long[] ts = {5_000, 6_000_000, 7_000_000};
    /** Whether each layer's packets still carry their RID (Chromium stops once the SSRC is acknowledged). */
    private final boolean[] ridOn = {true, true, true};

    @BeforeEach
    void setUp() {
        router = new Router(RouterConfig.defaults(), new Random(9));
        now = 10_000;
        router.createSimulcastProducer("cam", PUB, new ProducerParams(MediaKind.VIDEO, RtpCodec.VP8, 96, 90000, 0,
                "1"), RIDS, RID_EXT);
    }

    private byte[] packet(int layer, boolean key, int marker) {
        byte[] payload;
        if (key) { // with the picture size of the layer: 320x180, 640x360, 1280x720
            int w = 320 << layer;
            int h = 180 << layer;
            payload = new byte[] {0x10, 0x50, 0x42, 0x00, (byte) 0x9d, 0x01, 0x2a, (byte) w, (byte) (w >> 8),
                (byte) h, (byte) (h >> 8), 0};
        } else {
            payload = VP8_DELTA.clone();
        }
        payload[payload.length - 1] = (byte) (layer * 16 + marker); // tells the layer apart in the output
        RtpHeader h = RtpHeader.of(false, 96, seq[layer]++ & 0xFFFF, ts[layer], SSRC[layer]);
        if (ridOn[layer]) {
            h = h.withExtensions(List.of(new HeaderExtension(RID_EXT, RIDS.get(layer).getBytes(StandardCharsets.US_ASCII))));
        }
        return RtpPacket.build(h, payload, 0, payload.length);
    }

    /** One frame (one packet) on each layer; {@code keys} marks the layers sending a key frame. */
    private void frame(int... keys) {
        for (int l = 0; l < 3; l++) {
            boolean key = false;
            for (int k : keys) {
                key |= k == l;
            }
            byte[] p = packet(l, key, 0);
            router.handleRtp(PUB, p, 0, p.length, now);
            ts[l] += 3000;
        }
        now += 33;
    }

    private static List<Long> plisTo(List<RtcpPacket> l) {
        return l.stream().filter(p -> p instanceof PictureLossIndication).map(p -> ((PictureLossIndication) p).mediaSsrc())
                .toList();
    }

    private static int layerOf(RtpPacket p) {
        return (p.buffer()[p.payloadOffset() + p.payloadLength() - 1] & 0xFF) / 16;
    }

    private Consumer consumer(String peer, long ssrc) {
        return router.createConsumer(peer + "/cam", peer, "cam", new ConsumerParams(ssrc, 100, "cn", 0, null), now);
    }

    @Test
    void layersAreLearnedFromTheirRidAndKeptWhenTheRidIsGone() throws Exception {
        Producer cam = router.findProducer("cam");
        assertTrue(cam.isSimulcast());
        assertEquals(List.of(-1L, -1L, -1L), cam.layerSsrcs());
        frame();
        assertEquals(List.of(SSRC[0], SSRC[1], SSRC[2]), cam.layerSsrcs());
        ridOn[0] = ridOn[1] = ridOn[2] = false;
        long unknownBefore = router.stats().rtpUnknownSsrc();
        frame();
        assertEquals(unknownBefore, router.stats().rtpUnknownSsrc(), "known SSRCs need no RID any more");
        // an SSRC without a RID, or with a rid that was not negotiated, is no layer
        byte[] stray = RtpPacket.build(RtpHeader.of(false, 96, 1, 1, 0xDEADL).withExtensions(List.of(
                new HeaderExtension(RID_EXT, "x".getBytes(StandardCharsets.US_ASCII)))), VP8_KEY, 0, VP8_KEY.length);
        router.handleRtp(PUB, stray, 0, stray.length, now);
        assertEquals(unknownBefore + 1, router.stats().rtpUnknownSsrc());
    }

    @Test
    void twoSubscribersGetOneLayerEachAndSwitchAtAKeyFrameWithoutAGap() throws Exception {
        frame();
        drain();
        consumer("high", 0x100L);
        consumer("low", 0x200L);
        router.setTargetLayer("low/cam", 0, now);
        List<Long> plis = plisTo(rtcpTo(drain(), PUB));
        assertTrue(plis.contains(SSRC[2]) && plis.contains(SSRC[0]), "key frames asked on both layers: " + plis);
        frame(0, 1, 2);
        for (int i = 0; i < 5; i++) {
            frame();
        }
        List<RouterOutput> out = drain();
        List<RtpPacket> high = rtpTo(out, "high");
        List<RtpPacket> low = rtpTo(out, "low");
        assertEquals(6, high.size());
        assertEquals(6, low.size());
        assertTrue(high.stream().allMatch(p -> layerOf(p) == 2 && p.header().ssrc() == 0x100L));
        assertTrue(low.stream().allMatch(p -> layerOf(p) == 0 && p.header().ssrc() == 0x200L));
        assertEquals(2, router.currentLayer("high/cam"));
        assertEquals(0, router.currentLayer("low/cam"));

        // the high one is told to go down: PLI to layer 1's SSRC, layer 2 keeps flowing until layer 1's key frame
        now += 1000;
        router.setTargetLayer("high/cam", 1, now);
        assertEquals(List.of(SSRC[1]), plisTo(rtcpTo(drain(), PUB)));
        frame();
        RtpPacket lastHigh = rtpTo(drain(), "high").get(0);
        assertEquals(2, layerOf(lastHigh));
        frame(1);
        frame();
        List<RtpPacket> after = rtpTo(drain(), "high");
        assertEquals(List.of(1, 1), after.stream().map(RouterSimulcastTest::layerOf).toList());
        assertEquals((lastHigh.header().sequenceNumber() + 1) & 0xFFFF, after.get(0).header().sequenceNumber());
        assertEquals((lastHigh.header().timestamp() + 33 * 90) & 0xFFFF_FFFFL, after.get(0).header().timestamp());
        assertEquals(0x100L, after.get(0).header().ssrc());
        assertEquals(1, router.simulcastLayerSwitches());
        // per consumer (the subscriber's downlink stats)
        Consumer h = router.findConsumer("high/cam");
        assertEquals(1, h.layer());
        assertEquals(1, h.layerSwitches());
        // its start (layer 2), its switch (layer 1) and, as the 1 s pause made every layer look stopped, layer 0 for
        // the moment only layer 0's packet had arrived again
        assertEquals(3, h.keyFrameRequests());
        assertEquals(0, router.findConsumer("low/cam").layerSwitches(), "started on layer 0: no switch");
    }

    /** A VP8 packet of {@code layer} with PictureID, TL0PICIDX and TID in its descriptor, as Chromium sends. */
    private byte[] idPacket(int layer, boolean key, int pictureId, int tl0) {
        byte[] frame = key ? new byte[] {0x50, 0x42, 0x00, (byte) 0x9d, 0x01, 0x2a, 0x40, 0x01, (byte) 0xb4, 0x00}
                : new byte[] {0x51, 0x42, 0x00, 0x01};
        byte[] payload = new byte[6 + frame.length];
        payload[0] = (byte) 0x90; // X, S
        payload[1] = (byte) 0xE0; // I, L, T
        payload[2] = (byte) (0x80 | pictureId >> 8);
        payload[3] = (byte) pictureId;
        payload[4] = (byte) tl0;
        payload[5] = 0;
        System.arraycopy(frame, 0, payload, 6, frame.length);
        RtpHeader h = RtpHeader.of(true, 96, seq[layer]++ & 0xFFFF, ts[layer], SSRC[layer]).withExtensions(List.of(
                new HeaderExtension(RID_EXT, RIDS.get(layer).getBytes(StandardCharsets.US_ASCII))));
        return RtpPacket.build(h, payload, 0, payload.length);
    }

    @Test
    void vp8PictureIdsStayContinuousAcrossASwitchAndOnRetransmission() throws Exception {
        int[] pid = {100, 20_000, 32_760};
        int[] tl0 = {5, 200, 250};
        consumer("s", 0x100L);
        List<Integer> sent = new java.util.ArrayList<>();
        List<Integer> sentTl0 = new java.util.ArrayList<>();
        int lastSeq = -1;
        for (int f = 0; f < 12; f++) {
            if (f == 6) {
                router.setTargetLayer("s/cam", 0, now); // down to layer 0, whose ids are elsewhere entirely
            }
            for (int l = 0; l < 3; l++) {
                byte[] p = idPacket(l, f == 0 || f == 7 && l == 0, pid[l]++ & 0x7FFF, tl0[l]++ & 0xFF);
                router.handleRtp(PUB, p, 0, p.length, now);
                ts[l] += 3000;
            }
            now += 33;
            for (RtpPacket p : rtpTo(drain(), "s")) {
                lastSeq = p.header().sequenceNumber();
                sent.add(idOf(p, true));
                sentTl0.add(idOf(p, false));
            }
        }
        assertEquals(0, router.currentLayer("s/cam"));
        // frame 0: layer 0's key frame starts it (the only layer seen yet), 1's and 2's switch it up; layer 2 until
        // frame 7, layer 0's key frame, then layer 0: 3 switches, 14 packets
        assertEquals(14, sent.size());
        for (int i = 1; i < sent.size(); i++) {
            assertEquals((sent.get(i - 1) + 1) & 0x7FFF, sent.get(i), "PictureIDs " + sent);
            assertEquals((sentTl0.get(i - 1) + 1) & 0xFF, sentTl0.get(i), "TL0PICIDX " + sentTl0);
        }
        assertEquals(100, sent.get(0), "the first layer keeps its own ids");
        // a NACK of the last packet: retransmitted with the ids it was sent with
        byte[] nack = new GenericNack(0x5EEDL, 0x100L, List.of(lastSeq)).encode();
        router.handleRtcp("s", nack, 0, nack.length, now);
        List<RtpPacket> again = rtpTo(drain(), "s");
        assertEquals(1, again.size());
        assertEquals(sent.get(sent.size() - 1), idOf(again.get(0), true));
    }

    /** The PictureID (or TL0PICIDX) in a packet built by {@link #idPacket}. */
    private static int idOf(RtpPacket p, boolean pictureId) {
        byte[] b = p.buffer();
        int off = p.payloadOffset();
        return pictureId ? ((b[off + 2] & 0x7F) << 8) | (b[off + 3] & 0xFF) : b[off + 4] & 0xFF;
    }

    @Test
    void pliNackAndSenderReportsAreAboutTheLayerTheConsumerGets() throws Exception {
        frame();
        consumer("s", 0x100L);
        router.setTargetLayer("s/cam", 1, now);
        drain();
        frame(1);
        frame();
        frame();
        List<RtpPacket> got = rtpTo(drain(), "s");
        assertEquals(3, got.size());
        now += 1000;
        byte[] pli = new PictureLossIndication(0x77L, 0x100L).encode();
        router.handleRtcp("s", pli, 0, pli.length, now);
        assertEquals(List.of(SSRC[1]), plisTo(rtcpTo(drain(), PUB)));

        byte[] nack = new GenericNack(0x77L, 0x100L, List.of(got.get(1).header().sequenceNumber())).encode();
        router.handleRtcp("s", nack, 0, nack.length, now);
        List<RtpPacket> re = rtpTo(drain(), "s");
        assertEquals(1, re.size());
        assertEquals(got.get(1).header().sequenceNumber(), re.get(0).header().sequenceNumber());
        assertEquals(1, layerOf(re.get(0)));
        Consumer c = router.findConsumer("s/cam");
        assertEquals(1, c.nacksReceived());
        assertEquals(1, c.retransmissionsSent());
        assertEquals(1, c.layer());

        byte[] sr = new SenderReport(SSRC[1], 0x0102030405060708L, ts[1] - 3000, 10, 1000, List.of()).encode();
        router.handleRtcp(PUB, sr, 0, sr.length, now);
        List<RtcpPacket> toSub = rtcpTo(drain(), "s");
        SenderReport out = (SenderReport) toSub.stream().filter(p -> p instanceof SenderReport).findFirst().orElseThrow();
        assertEquals(0x100L, out.ssrc());
        assertEquals(got.get(2).header().timestamp(), out.rtpTimestamp(), "the layer's timestamp, mapped");
        byte[] otherSr = new SenderReport(SSRC[2], 1L, 1, 1, 1, List.of()).encode();
        router.handleRtcp(PUB, otherSr, 0, otherSr.length, now);
        assertTrue(rtcpTo(drain(), "s").isEmpty(), "another layer's SR is not the consumer's");
    }

    @Test
    void aConsumerStartsOnTheTopLayerByDefaultAndNothingBeforeItsKeyFrame() throws Exception {
        frame();
        consumer("s", 0x100L);
        drain();
        frame(0, 1);
        assertTrue(rtpTo(drain(), "s").isEmpty(), "waits for the top layer's key frame");
        frame(2);
        List<RtpPacket> got = rtpTo(drain(), "s");
        assertEquals(1, got.size());
        assertEquals(2, layerOf(got.get(0)));
    }

    @Test
    void receiverReportsCoverEveryLayerAndClosingTheProducerClosesItsConsumers() throws Exception {
        frame();
        Consumer c = consumer("s", 0x100L);
        router.poll(now);
        now += 1500;
        router.poll(now);
        List<RtcpPacket> rr = rtcpTo(drain(), PUB);
        assertTrue(rr.stream().anyMatch(p -> p instanceof dev.veil.webrtc.rtcp.ReceiverReport r
                && r.reports().size() == 3), "one report block per layer: " + rr);
        List<Consumer> closed = router.closeProducer("cam");
        assertEquals(List.of(c), closed);
        assertTrue(c.closed());
        frame(0, 1, 2);
        assertTrue(rtpTo(drain(), "s").isEmpty());
        assertFalse(router.stats().rtpUnknownSsrc() == 0, "the layers' SSRCs are gone with it");
    }

    @Test
    void aMaxHeightPicksTheLayerFromTheSizesItsKeyFramesAnnounce() throws Exception {
        frame(0, 1, 2); // the layers' sizes are known from their key frames
        consumer("s", 0x100L);
        router.setPreferredMaxHeight("s/cam", 400, now);
        drain();
        now += 600; // past the key-frame request limit, the layers still running
        frame(0, 1, 2);
        assertEquals(List.of(1), rtpTo(drain(), "s").stream().map(RouterSimulcastTest::layerOf).toList());
        router.setPreferredMaxHeight("s/cam", 100, now); // below every layer: the lowest
        frame(0);
        assertEquals(0, router.currentLayer("s/cam"));
        router.setPreferredMaxHeight("s/cam", 0, now); // no limit: the top
        frame(2);
        assertEquals(2, router.currentLayer("s/cam"));
    }

    @Test
    void aMaxHeightSetBeforeTheSizesAreKnownIsAppliedWhenTheyAre() throws Exception {
        frame();
        consumer("s", 0x100L);
        router.setPreferredMaxHeight("s/cam", 720, now);
        drain();
        frame(0);
        assertEquals(0, router.currentLayer("s/cam"), "no size known: the lowest layer");
        now += 600;
        frame(1, 2); // now 1280x720 is known to fit: target the top
        frame(2);
        assertEquals(2, router.currentLayer("s/cam"));
    }

    @Test
    void aPublisherChangingALayersSsrcKeepsOneSsrcPerRidAndItsConsumerResyncs() throws Exception {
        frame();
        consumer("s", 0x100L);
        router.setTargetLayer("s/cam", 0, now);
        drain();
        frame(0);
        int lastSeq = rtpTo(drain(), "s").get(0).header().sequenceNumber();
        for (int i = 0; i < 1000; i++) { // a hostile publisher: a new SSRC for layer q on every packet
            SSRC[0] = 0x1000L + i;
            frame();
        }
        assertEquals(List.of(SSRC[0], SSRC[1], SSRC[2]), router.findProducer("cam").layerSsrcs());
        drain();
        now += 600;
        frame(0); // the consumer resyncs at the new SSRC's key frame, continuing its own sequence numbers
        List<RtpPacket> got = rtpTo(drain(), "s");
        assertEquals(1, got.size());
        assertEquals((lastSeq + 1) & 0xFFFF, got.get(0).header().sequenceNumber());
    }

    /** The subscriber "s" NACKs {@code seqs} of its consumer (media SSRC 0x100). */
    private void nack(int... seqs) {
        List<Integer> l = new java.util.ArrayList<>();
        for (int q : seqs) {
            l.add(q);
        }
        sendRtcp("s", new GenericNack(0x5EEDL, 0x100L, l));
    }

    /** The OSN of an RTX packet (RFC 4588: the first two payload bytes). */
    private static int osnOf(RtpPacket rtx) {
        return ((rtx.buffer()[rtx.payloadOffset()] & 0xFF) << 8) | (rtx.buffer()[rtx.payloadOffset() + 1] & 0xFF);
    }

    @Test
    void whileALayerDrainsNoneOfItIsRetransmitted_andAfterTheSwitchNacksMapToTheNewLayer() throws Exception {
        frame();
        router.createConsumer("s/cam", "s", "cam", new ConsumerParams(0x100L, 100, "cn", 0, null).withRtx(0x101L, 101),
                now);
        drain();
        int s1 = (seq[2] + 1) & 0xFFFF; // layer 2's sequence number of the consumer's second packet
        frame(0, 1, 2); // starts on the top layer
        frame();
        frame();
        List<RtpPacket> top = rtpTo(drain(), "s");
        assertEquals(List.of(2, 2, 2), top.stream().map(RouterSimulcastTest::layerOf).toList());
        Consumer c = router.findConsumer("s/cam");

        // on the top layer, a NACK is answered on the RTX stream
        nack(top.get(1).header().sequenceNumber());
        List<RtpPacket> re = rtpTo(drain(), "s");
        assertEquals(1, re.size());
        assertEquals(0x101L, re.get(0).header().ssrc());
        assertEquals(top.get(1).header().sequenceNumber(), osnOf(re.get(0)));
        int rtxSeq = re.get(0).header().sequenceNumber();

        // congestion: down to the low layer; layer 2 drains (its next frame is dropped, the switch waits for layer
        // 0's key frame), and NACKs of layer 2's packets are not answered, nor passed on to the publisher
        router.setBandwidthLayer("s/cam", 0, true, now);
        assertTrue(c.draining());
        drain();
        frame();
        assertTrue(rtpTo(drain(), "s").isEmpty(), "nothing of the draining layer after its frame in flight");
        long nackedUpstream = router.stats().nackedUpstream();
        nack(top.get(0).header().sequenceNumber(), top.get(2).header().sequenceNumber(),
                (top.get(2).header().sequenceNumber() + 1) & 0xFFFF);
        List<RouterOutput> out = drain();
        assertTrue(rtpTo(out, "s").isEmpty(), "no retransmission of the layer being left");
        assertTrue(rtcpTo(out, PUB).stream().noneMatch(p -> p instanceof GenericNack), "nothing asked upstream");
        assertEquals(3, router.stats().retransmissionsSkippedDraining());
        assertEquals(nackedUpstream, router.stats().nackedUpstream());
        assertEquals(1, c.retransmissionsSent());
        assertEquals(4, c.nacksReceived());

        // layer 0's key frame is the switch point; its first packet happens to carry the very sequence number that
        // was resent from layer 2 a moment ago (another layer, another sequence space: no reason to hold it back)
        seq[0] = s1;
        frame(0);
        frame();
        assertFalse(c.draining());
        List<RtpPacket> low = rtpTo(drain(), "s");
        assertEquals(List.of(0, 0), low.stream().map(RouterSimulcastTest::layerOf).toList());
        assertEquals((top.get(2).header().sequenceNumber() + 1) & 0xFFFF, low.get(0).header().sequenceNumber(),
                "the subscriber's sequence numbers go on without a gap");
        nack(low.get(0).header().sequenceNumber(), low.get(1).header().sequenceNumber(),
                top.get(2).header().sequenceNumber());
        re = rtpTo(drain(), "s");
        assertEquals(2, re.size(), "the new layer's packets are resent, the old layer's map to nothing");
        for (int i = 0; i < 2; i++) {
            assertEquals(0x101L, re.get(i).header().ssrc());
            assertEquals(low.get(i).header().sequenceNumber(), osnOf(re.get(i)));
            assertEquals(0, layerOf(re.get(i)));
            assertEquals((rtxSeq + 1 + i) & 0xFFFF, re.get(i).header().sequenceNumber(),
                    "the RTX stream's numbers go on: none was used while draining");
        }
        assertEquals(3, router.stats().retransmissionsSkippedDraining());
        assertEquals(3, c.retransmissionsSent());
    }

    @Test
    void badUseIsRefused() {
        ProducerParams audio = new ProducerParams(MediaKind.AUDIO, RtpCodec.OPUS, 111, 48000, 0, "0");
        assertThrows(IllegalArgumentException.class, () -> router.createSimulcastProducer("a", PUB, audio, RIDS, 4));
        ProducerParams video = new ProducerParams(MediaKind.VIDEO, RtpCodec.VP8, 96, 90000, 0, "1");
        assertThrows(IllegalArgumentException.class, () -> router.createSimulcastProducer("v", PUB, video,
                List.of("q", "q"), 4));
        assertThrows(IllegalArgumentException.class, () -> router.createSimulcastProducer("v", PUB, video, RIDS, 0));
        router.createProducer("plain", PUB, new ProducerParams(MediaKind.VIDEO, RtpCodec.VP8, 96, 90000, 0x55L, "2"));
        router.createConsumer("c", "s", "plain", new ConsumerParams(0x100L, 100, null, 0, null), now);
        assertThrows(IllegalArgumentException.class, () -> router.setTargetLayer("c", 0, now));
        assertThrows(IllegalArgumentException.class, () -> router.switchProducer("c", "cam", now));
    }
}
