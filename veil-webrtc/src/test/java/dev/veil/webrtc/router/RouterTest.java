package dev.veil.webrtc.router;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.veil.webrtc.rtcp.FullIntraRequest;
import dev.veil.webrtc.rtcp.GenericNack;
import dev.veil.webrtc.rtcp.PictureLossIndication;
import dev.veil.webrtc.rtcp.ReceiverReport;
import dev.veil.webrtc.rtcp.ReportBlock;
import dev.veil.webrtc.rtcp.RtcpPacket;
import dev.veil.webrtc.rtcp.SenderReport;
import dev.veil.webrtc.rtcp.SourceDescription;
import dev.veil.webrtc.rtp.HeaderExtension;
import dev.veil.webrtc.rtp.RtpCodec;
import dev.veil.webrtc.rtp.RtpHeader;
import dev.veil.webrtc.rtp.RtpPacket;
import dev.veil.webrtc.sdp.MediaKind;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class RouterTest extends RouterFixture {

    private static final String SUB = "sub";
    private static final long AUDIO_SSRC = 0x1111L;
    private static final long VIDEO_SSRC = 0x2222L;
    private static final byte[] VP8_CONT = {0x00, 0x33, 0x44, 0x55};

    @BeforeEach
    void setUp() {
        router = new Router(RouterConfig.defaults(), new Random(77));
        now = 10_000;
    }

    private Producer audioProducer() {
        return router.createProducer("pa", PUB, new ProducerParams(MediaKind.AUDIO, RtpCodec.OPUS, 111, 48000,
                AUDIO_SSRC, "0"));
    }

    private Producer videoProducer() {
        return router.createProducer("pv", PUB, new ProducerParams(MediaKind.VIDEO, RtpCodec.VP8, 96, 90000,
                VIDEO_SSRC, "1"));
    }

    private static byte[] rtp(long ssrc, int pt, int seq, long ts, byte[] payload) {
        return RtpPacket.build(RtpHeader.of(false, pt, seq & 0xFFFF, ts & 0xFFFF_FFFFL, ssrc), payload, 0,
                payload.length);
    }

    @Test
    void forward_audio_rewritesSsrcPtAndKeepsSeqTsContinuous() throws Exception {
        audioProducer();
        Consumer c = router.createConsumer("c1", SUB, "pa", new ConsumerParams(0xABCDL, 109, null, 0, null), now);
        assertTrue(drain().isEmpty(), "no key-frame request for audio");
        List<RtpPacket> out = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            send(PUB, rtp(AUDIO_SSRC, 111, 65530 + i, 4_000_000_000L + 960L * i, new byte[] {(byte) i, 1, 2}));
            now += 20;
            out.addAll(rtpTo(drain(), SUB));
        }
        assertEquals(10, out.size());
        for (int i = 0; i < 10; i++) {
            RtpHeader h = out.get(i).header();
            assertEquals(0xABCDL, h.ssrc());
            assertEquals(109, h.payloadType());
            assertArrayEquals(new byte[] {(byte) i, 1, 2}, payloadOf(out.get(i)));
            if (i > 0) {
                RtpHeader prev = out.get(i - 1).header();
                assertEquals(1, RtpHeader.seqDelta(prev.sequenceNumber(), h.sequenceNumber()));
                assertEquals(960, (h.timestamp() - prev.timestamp()) & 0xFFFF_FFFFL);
            }
        }
        assertEquals(10, c.packetsSent());
        assertEquals(10, router.stats().rtpForwarded());
    }

    @Test
    void forward_longStream_keepsForwardingPastSequenceWrapsAndAnswersNacks() throws Exception {
        audioProducer();
        Consumer c = router.createConsumer("c1", SUB, "pa", new ConsumerParams(0xABCDL, 109, null, 0, null), now);
        drain();
        int total = 3 * 65536 + 100; // far past the 32,768 packets where a 16-bit "before the sync point" test flips
        int lastOut = -1;
        for (int i = 0; i < total; i++) {
            send(PUB, rtp(AUDIO_SSRC, 111, 40_000 + i, 960L * i, new byte[] {(byte) i, 1, 2}));
            now += 20;
            List<RtpPacket> out = rtpTo(drain(), SUB);
            assertEquals(1, out.size(), "packet " + i + " forwarded");
            int seq = out.get(0).header().sequenceNumber();
            if (lastOut >= 0) {
                assertEquals(1, RtpHeader.seqDelta(lastOut, seq), "continuous at packet " + i);
            }
            lastOut = seq;
        }
        assertEquals(total, c.packetsSent());
        // a packet from before the latest 32,768 arrives very late: it is older than anything cached, never a crash
        send(PUB, rtp(AUDIO_SSRC, 111, 40_000 + total - 40_000, 0, new byte[] {9}));
        drain();
        // a NACK for the packet just sent is still answered from the cache under the current mapping
        sendRtcp(SUB, new GenericNack(0x77, 0xABCDL, List.of(lastOut)));
        List<RtpPacket> resent = rtpTo(drain(), SUB);
        assertEquals(1, resent.size());
        assertEquals(lastOut, resent.get(0).header().sequenceNumber());
    }

    @Test
    void pauseResumeAndSwitchProducer_streamStaysContinuous() throws Exception {
        audioProducer();
        router.createProducer("pa2", "pub2", new ProducerParams(MediaKind.AUDIO, RtpCodec.OPUS, 111, 48000, 0x9999L,
                "0"));
        router.createConsumer("c1", SUB, "pa", new ConsumerParams(0xABCDL, 111, null, 0, null), now);
        send(PUB, rtp(AUDIO_SSRC, 111, 100, 5000, new byte[] {1}));
        RtpHeader first = rtpTo(drain(), SUB).get(0).header();

        router.pauseConsumer("c1");
        now += 20;
        send(PUB, rtp(AUDIO_SSRC, 111, 101, 5960, new byte[] {2}));
        assertTrue(drain().isEmpty(), "paused: nothing forwarded");

        now += 2000;
        router.resumeConsumer("c1", now);
        send(PUB, rtp(AUDIO_SSRC, 111, 205, 5000 + 960 * 105, new byte[] {3})); // the publisher moved on
        RtpHeader afterPause = rtpTo(drain(), SUB).get(0).header();
        assertEquals(1, RtpHeader.seqDelta(first.sequenceNumber(), afterPause.sequenceNumber()), "no seq gap");
        assertEquals(48000L * 2020 / 1000, (afterPause.timestamp() - first.timestamp()) & 0xFFFF_FFFFL,
                "timestamp advanced by the wall-clock time since the last forwarded packet");

        now += 20;
        router.switchProducer("c1", "pa2", now);
        send("pub2", rtp(0x9999L, 111, 40000, 123, new byte[] {4}));
        RtpHeader afterSwitch = rtpTo(drain(), SUB).get(0).header();
        assertEquals(0xABCDL, afterSwitch.ssrc());
        assertEquals(1, RtpHeader.seqDelta(afterPause.sequenceNumber(), afterSwitch.sequenceNumber()));
        assertEquals(960, (afterSwitch.timestamp() - afterPause.timestamp()) & 0xFFFF_FFFFL);
        send(PUB, rtp(AUDIO_SSRC, 111, 206, 5000 + 960 * 106, new byte[] {5}));
        assertTrue(rtpTo(drain(), SUB).isEmpty(), "the old producer no longer feeds the consumer");
        send("pub2", rtp(0x9999L, 111, 40001, 123 + 960, new byte[] {6}));
        RtpHeader next = rtpTo(drain(), SUB).get(0).header();
        assertEquals(1, RtpHeader.seqDelta(afterSwitch.sequenceNumber(), next.sequenceNumber()));
    }

    @Test
    void videoConsumer_startsAtKeyFrameAndAsksForOne() throws Exception {
        videoProducer();
        send(PUB, rtp(VIDEO_SSRC, 96, 500, 90000, VP8_DELTA)); // before any consumer
        Consumer c = router.createConsumer("cv", SUB, "pv", new ConsumerParams(0x5555L, 96, "cn", 0, null), now);
        List<RtcpPacket> toPub = rtcpTo(drain(), PUB);
        assertEquals(List.of(new PictureLossIndication(router.rtcpSsrc(), VIDEO_SSRC)), toPub);
        assertTrue(c.waitingForKeyFrame());

        send(PUB, rtp(VIDEO_SSRC, 96, 501, 93000, VP8_DELTA));
        send(PUB, rtp(VIDEO_SSRC, 96, 502, 93000, VP8_CONT));
        assertTrue(drain().isEmpty());
        assertEquals(2, router.stats().rtpDroppedBeforeKeyFrame());

        send(PUB, rtp(VIDEO_SSRC, 96, 503, 96000, VP8_KEY));
        send(PUB, rtp(VIDEO_SSRC, 96, 504, 96000, VP8_CONT));
        send(PUB, rtp(VIDEO_SSRC, 96, 505, 99000, VP8_DELTA));
        List<RtpPacket> out = rtpTo(drain(), SUB);
        assertEquals(3, out.size());
        assertArrayEquals(VP8_KEY, payloadOf(out.get(0)));
        assertFalse(c.waitingForKeyFrame());
        assertEquals(1, RtpHeader.seqDelta(out.get(0).header().sequenceNumber(), out.get(1).header().sequenceNumber()));
        assertEquals(3000, (out.get(2).header().timestamp() - out.get(0).header().timestamp()) & 0xFFFF_FFFFL);

        // a late packet from before the key frame is not forwarded
        send(PUB, rtp(VIDEO_SSRC, 96, 502, 93000, VP8_CONT));
        assertTrue(drain().isEmpty());
    }

    @Test
    void poll_consumerStillWaiting_reasksEverySecond() throws Exception {
        videoProducer();
        router.createConsumer("cv", SUB, "pv", new ConsumerParams(0x5555L, 96, null, 0, null), now);
        assertEquals(1, rtcpTo(drain(), PUB).size());
        long deadline = router.poll(now + 500);
        assertEquals(now + 1000, deadline);
        assertTrue(drain().isEmpty());
        router.poll(now + 1000);
        assertEquals(List.of(new PictureLossIndication(router.rtcpSsrc(), VIDEO_SSRC)), rtcpTo(drain(), PUB));
        now += 1000;
        send(PUB, rtp(VIDEO_SSRC, 96, 1, 0, VP8_KEY));
        drain();
        router.poll(now + 5000);
        assertTrue(rtcpTo(drain(), PUB).stream().noneMatch(p -> p instanceof PictureLossIndication));
    }

    @Test
    void pliFromSubscribers_rateLimitedPerProducer() throws Exception {
        videoProducer();
        router.createConsumer("c1", SUB, "pv", new ConsumerParams(0x5555L, 96, null, 0, null), now);
        router.createConsumer("c2", "sub2", "pv", new ConsumerParams(0x6666L, 96, null, 0, null), now);
        assertEquals(1, rtcpTo(drain(), PUB).size(), "second consumer's start request suppressed");
        send(PUB, rtp(VIDEO_SSRC, 96, 1, 0, VP8_KEY));
        drain();

        now += 100;
        sendRtcp(SUB, new PictureLossIndication(0x77, 0x5555L));
        sendRtcp("sub2", new PictureLossIndication(0x78, 0x6666L));
        assertTrue(drain().isEmpty(), "within 500 ms of the last request");

        now += 400; // 500 ms after the first request
        sendRtcp(SUB, new PictureLossIndication(0x77, 0x5555L));
        assertEquals(List.of(new PictureLossIndication(router.rtcpSsrc(), VIDEO_SSRC)), rtcpTo(drain(), PUB));

        now += 499;
        sendRtcp("sub2", new FullIntraRequest(0x78, List.of(new FullIntraRequest.Entry(0x6666L, 0))));
        assertTrue(drain().isEmpty());
        now += 1;
        sendRtcp("sub2", new FullIntraRequest(0x78, List.of(new FullIntraRequest.Entry(0x6666L, 1))));
        assertEquals(List.of(new FullIntraRequest(router.rtcpSsrc(), List.of(new FullIntraRequest.Entry(VIDEO_SSRC, 0)))),
                rtcpTo(drain(), PUB));
        now += 600;
        sendRtcp("sub2", new FullIntraRequest(0x78, List.of(new FullIntraRequest.Entry(0x6666L, 2))));
        FullIntraRequest fir = (FullIntraRequest) rtcpTo(drain(), PUB).get(0);
        assertEquals(1, fir.entries().get(0).sequenceNumber(), "FIR command sequence number increments");

        // PLI for an SSRC the subscriber does not consume: ignored
        now += 1000;
        sendRtcp(SUB, new PictureLossIndication(0x77, 0x6666L));
        assertTrue(drain().isEmpty());
        RouterStats s = router.stats();
        assertEquals(4, s.keyFrameRequestsSent());
        assertEquals(4, s.keyFrameRequestsSuppressed());
        // per consumer (the subscriber's downlink stats): the requests that went out on each one's behalf
        assertEquals(2, router.findConsumer("c1").keyFrameRequests(), "its start and its second PLI");
        assertEquals(2, router.findConsumer("c2").keyFrameRequests(), "two FIRs; its start was coalesced");
    }

    @Test
    void nack_answeredFromCacheAndMissesForwardedUpstream() throws Exception {
        videoProducer();
        router.createConsumer("cv", SUB, "pv", new ConsumerParams(0x5555L, 96, null, 0, null), now);
        drain();
        send(PUB, rtp(VIDEO_SSRC, 96, 1000, 0, VP8_KEY));
        send(PUB, rtp(VIDEO_SSRC, 96, 1001, 0, new byte[] {0, 1, 1, 1}));
        // 1002 and 1003 are lost between publisher and SFU
        send(PUB, rtp(VIDEO_SSRC, 96, 1004, 3000, new byte[] {0x10, 0x51, 4, 4}));
        List<RtpPacket> out = rtpTo(drain(), SUB);
        int base = out.get(0).header().sequenceNumber();
        assertEquals((base + 4) & 0xFFFF, out.get(2).header().sequenceNumber(), "the gap stays visible");

        now += 30;
        // the subscriber lost out seq base+1 (SFU->subscriber) and sees base+2, base+3 missing
        sendRtcp(SUB, new GenericNack(0x77, 0x5555L, List.of((base + 1) & 0xFFFF, (base + 2) & 0xFFFF,
                (base + 3) & 0xFFFF)));
        List<RouterOutput> outs = drain();
        List<RtpPacket> resent = rtpTo(outs, SUB);
        assertEquals(1, resent.size());
        assertEquals((base + 1) & 0xFFFF, resent.get(0).header().sequenceNumber());
        assertEquals(0x5555L, resent.get(0).header().ssrc());
        assertArrayEquals(new byte[] {0, 1, 1, 1}, payloadOf(resent.get(0)));
        assertEquals(List.of(new GenericNack(router.rtcpSsrc(), VIDEO_SSRC, List.of(1002, 1003))), rtcpTo(outs, PUB));

        // a second subscriber NACK for the same packets within 100 ms is not forwarded again
        now += 50;
        sendRtcp(SUB, new GenericNack(0x77, 0x5555L, List.of((base + 2) & 0xFFFF)));
        assertTrue(drain().isEmpty());
        now += 60;
        sendRtcp(SUB, new GenericNack(0x77, 0x5555L, List.of((base + 2) & 0xFFFF)));
        assertEquals(List.of(new GenericNack(router.rtcpSsrc(), VIDEO_SSRC, List.of(1002))), rtcpTo(drain(), PUB));

        // the publisher's retransmission is forwarded with the mapped sequence number
        send(PUB, rtp(VIDEO_SSRC, 96, 1002, 0, new byte[] {0, 2, 2, 2}));
        RtpPacket re = rtpTo(drain(), SUB).get(0);
        assertEquals((base + 2) & 0xFFFF, re.header().sequenceNumber());

        // NACKs for sequence numbers never sent under this mapping are ignored
        sendRtcp(SUB, new GenericNack(0x77, 0x5555L, List.of((base - 1) & 0xFFFF, (base + 100) & 0xFFFF)));
        assertTrue(drain().isEmpty());
        RouterStats s = router.stats();
        assertEquals(1, s.retransmittedFromCache());
        assertEquals(3, s.nackedUpstream());
        assertEquals(7, s.nackedPackets());
        Consumer c = router.findConsumer("cv");
        assertEquals(7, c.nacksReceived());
        assertEquals(1, c.retransmissionsSent());
        assertEquals(-1, c.layer(), "no simulcast");
        assertEquals(0, c.layerSwitches());
    }

    @Test
    void malformedRtpAndRtcp_droppedAndCounted() throws Exception {
        audioProducer();
        router.createConsumer("c1", SUB, "pa", new ConsumerParams(0xABCDL, 111, null, 0, null), now);
        byte[] junk = {(byte) 0x80, 111, 0, 1, 2};
        send(PUB, junk);
        send(PUB, new byte[0]);
        send(PUB, rtp(0x4242L, 111, 1, 1, new byte[] {1})); // unknown SSRC
        send(SUB, rtp(AUDIO_SSRC, 111, 1, 1, new byte[] {1})); // right SSRC, wrong peer
        send(PUB, rtp(AUDIO_SSRC, 0, 1, 1, new byte[] {1})); // wrong payload type
        byte[] badRtcp = {(byte) 0x81, (byte) 201, 0, 9, 0, 0, 0, 1};
        router.handleRtcp(SUB, badRtcp, 0, badRtcp.length, now);
        router.handleRtcp(SUB, new byte[3], 0, 3, now);
        assertTrue(drain().isEmpty());
        RouterStats s = router.stats();
        assertEquals(2, s.rtpMalformed());
        assertEquals(2, s.rtpUnknownSsrc());
        assertEquals(1, s.rtpWrongPayloadType());
        assertEquals(2, s.rtcpMalformed());
        assertEquals(0, s.rtpForwarded());
        // and the stream still works afterwards
        send(PUB, rtp(AUDIO_SSRC, 111, 2, 960, new byte[] {1}));
        assertEquals(1, rtpTo(drain(), SUB).size());
    }

    @Test
    void senderReport_rewrittenForEachConsumer() throws Exception {
        audioProducer();
        router.createConsumer("c1", SUB, "pa", new ConsumerParams(0xABCDL, 111, "cnameA", 0, null), now);
        router.createConsumer("c2", "sub2", "pa", new ConsumerParams(0xBCDEL, 111, null, 0, null), now);
        send(PUB, rtp(AUDIO_SSRC, 111, 10, 48_000, new byte[] {1, 2, 3, 4}));
        send(PUB, rtp(AUDIO_SSRC, 111, 11, 48_960, new byte[] {1, 2}));
        List<RouterOutput> fwd = drain();
        RtpPacket firstOut = rtpTo(fwd, SUB).get(0);
        long ntp = 0xE8A0_0000_8000_0000L;
        sendRtcp(PUB, new SenderReport(AUDIO_SSRC, ntp, 50_000, 2, 6, List.of()));
        List<RouterOutput> outs = drain();
        List<RtcpPacket> toSub = rtcpTo(outs, SUB);
        SenderReport sr = (SenderReport) toSub.get(0);
        assertEquals(0xABCDL, sr.ssrc());
        assertEquals(ntp, sr.ntpTimestamp());
        assertEquals((firstOut.header().timestamp() + 2000) & 0xFFFF_FFFFL, sr.rtpTimestamp());
        assertEquals(2, sr.packetCount());
        assertEquals(6, sr.octetCount());
        assertEquals("cnameA", ((SourceDescription) toSub.get(1)).chunks().get(0).cname().orElseThrow());
        assertEquals(0xBCDEL, ((SenderReport) rtcpTo(outs, "sub2").get(0)).ssrc());
        assertEquals(2, router.stats().senderReportsSent());
    }

    @Test
    void poll_sendsReceiverReportsToPublishers() throws Exception {
        audioProducer();
        assertEquals(now + 1000, router.poll(now));
        send(PUB, rtp(AUDIO_SSRC, 111, 65534, 0, new byte[] {1}));
        now += 20;
        send(PUB, rtp(AUDIO_SSRC, 111, 65535, 960, new byte[] {1}));
        now += 40;
        send(PUB, rtp(AUDIO_SSRC, 111, 1, 2880, new byte[] {1})); // seq 0 lost, wrapped
        long ntp = 0x0000_1234_5678_0000L;
        sendRtcp(PUB, new SenderReport(AUDIO_SSRC, ntp, 2880, 3, 3, List.of()));
        drain();
        now = 11_000;
        router.poll(now);
        List<RtcpPacket> rr = rtcpTo(drain(), PUB);
        ReceiverReport r = assertInstanceOf(ReceiverReport.class, rr.get(0));
        assertEquals(router.rtcpSsrc(), r.ssrc());
        ReportBlock b = r.reports().get(0);
        assertEquals(AUDIO_SSRC, b.ssrc());
        assertEquals(65536 + 1, b.extendedHighestSeq());
        assertEquals(1, b.cumulativeLost());
        assertEquals(64, b.fractionLost()); // 1 of 4 expected = 0.25 * 256
        assertEquals(0x1234_5678L, b.lastSr());
        assertEquals((11_000 - 10_060) * 65536L / 1000, b.delaySinceLastSr());
        assertEquals(1, router.stats().receiverReportsSent());
    }

    @Test
    void forward_publisherExtensionsStrippedAndMidWritten() throws Exception {
        audioProducer();
        router.createConsumer("c1", SUB, "pa", new ConsumerParams(0xABCDL, 111, null, 3, "7"), now);
        router.createConsumer("c2", "sub2", "pa", new ConsumerParams(0xBCDEL, 111, null, 0, null), now);
        RtpHeader h = RtpHeader.of(true, 111, 5, 960, AUDIO_SSRC).withExtensions(List.of(
                new HeaderExtension(1, "0".getBytes()), new HeaderExtension(2, new byte[] {1, 2, 3})));
        byte[] pkt = RtpPacket.build(h, new byte[] {9, 9}, 0, 2);
        send(PUB, pkt);
        List<RouterOutput> outs = drain();
        RtpHeader toSub = rtpTo(outs, SUB).get(0).header();
        assertEquals(List.of(new HeaderExtension(3, "7".getBytes())), toSub.extensions());
        assertTrue(toSub.marker());
        RtpPacket toSub2 = rtpTo(outs, "sub2").get(0);
        assertEquals(-1, toSub2.header().extensionProfile());
        assertArrayEquals(new byte[] {9, 9}, payloadOf(toSub2));
    }

    @Test
    void closeProducerAndPeer_closeDependentConsumers() throws Exception {
        audioProducer();
        videoProducer();
        router.createConsumer("c1", SUB, "pa", new ConsumerParams(1, 111, null, 0, null), now);
        router.createConsumer("c2", SUB, "pv", new ConsumerParams(2, 96, null, 0, null), now);
        router.createProducer("sub-audio", SUB, new ProducerParams(MediaKind.AUDIO, RtpCodec.OPUS, 111, 48000, 3,
                "0"));
        router.createConsumer("c3", PUB, "sub-audio", new ConsumerParams(4, 111, null, 0, null), now);
        drain();
        List<Consumer> closed = router.closeProducer("pa");
        assertEquals(List.of("c1"), closed.stream().map(Consumer::id).toList());
        assertTrue(closed.get(0).closed());
        assertNull(router.findConsumer("c1"));
        send(PUB, rtp(AUDIO_SSRC, 111, 1, 1, new byte[] {1}));
        assertEquals(1, router.stats().rtpUnknownSsrc());

        List<Consumer> others = router.closePeer(SUB);
        assertEquals(List.of("c3"), others.stream().map(Consumer::id).toList());
        assertNull(router.findConsumer("c2"));
        assertNull(router.findProducer("sub-audio"));
        assertTrue(router.findProducer("pv").consumers().isEmpty());
    }

    @Test
    void createAndSwitch_badArguments_throw() {
        audioProducer();
        videoProducer();
        assertThrows(IllegalArgumentException.class, () -> audioProducer());
        assertThrows(IllegalArgumentException.class, () -> router.createProducer("x", PUB,
                new ProducerParams(MediaKind.AUDIO, RtpCodec.OPUS, 111, 48000, AUDIO_SSRC, "0")));
        assertThrows(IllegalArgumentException.class,
                () -> router.createConsumer("c", SUB, "nope", new ConsumerParams(1, 111, null, 0, null), now));
        router.createConsumer("c", SUB, "pa", new ConsumerParams(1, 111, null, 0, null), now);
        assertThrows(IllegalArgumentException.class, () -> router.switchProducer("c", "pv", now));
        assertThrows(IllegalArgumentException.class,
                () -> router.createConsumer("d", SUB, "pa", new ConsumerParams(1, 111, null, 0, null), now));
        assertThrows(IllegalArgumentException.class, () -> new ConsumerParams(1, 111, null, 3, null));
    }

    @Test
    void newSsrc_uniqueAndNonZero() {
        java.util.Set<Long> seen = new java.util.HashSet<>();
        seen.add(router.rtcpSsrc());
        for (int i = 0; i < 1000; i++) {
            long s = router.newSsrc();
            assertTrue(s > 0 && s <= 0xFFFF_FFFFL);
            assertTrue(seen.add(s));
        }
    }
}
