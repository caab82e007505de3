package dev.veil.webrtc.router;

import static dev.veil.webrtc.router.StageFixtures.VP8_DELTA;
import static dev.veil.webrtc.router.StageFixtures.VP8_KEY;
import static dev.veil.webrtc.router.StageFixtures.drain;
import static dev.veil.webrtc.router.StageFixtures.rtcp;
import static dev.veil.webrtc.router.StageFixtures.rtp;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.veil.webrtc.rtcp.GenericNack;
import dev.veil.webrtc.rtp.RtpPacket;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class NackResponderTest {
    private final UpstreamNacker upstream = new UpstreamNacker(0, RouterConfig.defaults(), 0x99L);
    private final NackResponder responder = new NackResponder(1, RouterConfig.defaults(), upstream);
    private final Producer video = StageFixtures.video("pv", "pub", 0x2222L);

    /** The producer sends seq 10 (key), 11, 12; the consumer forwards them as out 5000, 5001, 5002. */
    private Consumer stream(ConsumerParams params) throws Exception {
        Consumer c = StageFixtures.consumer("c", "sub", video, params);
        for (int seq = 10; seq <= 12; seq++) {
            byte[] payload = seq == 10 ? VP8_KEY : new byte[] {0x10, 0x51, 0x42, 0x00, (byte) seq};
            RtpPacket p = rtp(0x2222L, 96, seq, 9000L * seq, payload);
            responder.onProducerRtp(video, p, seq == 10, 0);
            c.forward(p, seq == 10, 0);
        }
        return c;
    }

    private static byte[] payload(RtpPacket p) {
        return Arrays.copyOfRange(p.buffer(), p.payloadOffset(), p.payloadOffset() + p.payloadLength());
    }

    @Test
    void nack_withoutRtx_resentOnTheMediaSsrc() throws Exception {
        Consumer c = stream(new ConsumerParams(0x5555L, 96, null, 0, null));
        responder.onConsumerRtcp(c, new GenericNack(1, 0x5555L, List.of(5001)), 10);
        List<RouterOutput> out = drain(responder);
        RtpPacket p = RtpPacket.parse(((RouterOutput.Rtp) out.get(0)).packet());
        assertEquals(0x5555L, p.header().ssrc());
        assertEquals(5001, p.header().sequenceNumber());
        assertEquals(100_000 + 9000, p.header().timestamp());
        assertArrayEquals(new byte[] {0x10, 0x51, 0x42, 0x00, 11}, payload(p));
        assertEquals(1, responder.retransmitted());
        assertEquals(0, responder.retransmittedRtx());
    }

    @Test
    void nack_withRtx_resentOnTheRtxStreamWithOsnAndOwnSequence() throws Exception {
        Consumer c = stream(new ConsumerParams(0x5555L, 96, null, 0, null).withRtx(0x6666L, 97));
        responder.onConsumerRtcp(c, new GenericNack(1, 0x5555L, List.of(5001, 5002)), 10);
        responder.onConsumerRtcp(c, new GenericNack(1, 0x5555L, List.of(5001)), 110);
        List<RouterOutput> out = drain(responder);
        assertEquals(3, out.size());
        int[] osn = {5001, 5002, 5001};
        for (int i = 0; i < 3; i++) {
            RtpPacket p = RtpPacket.parse(((RouterOutput.Rtp) out.get(i)).packet());
            assertEquals(0x6666L, p.header().ssrc());
            assertEquals(97, p.header().payloadType());
            assertEquals(700 + i, p.header().sequenceNumber(), "the RTX stream's own sequence numbers");
            byte[] pl = payload(p);
            assertEquals(osn[i], ((pl[0] & 0xFF) << 8) | (pl[1] & 0xFF), "OSN first");
            assertEquals(osn[i] - 5000 + 10, pl[6], "then the original payload");
            assertEquals(100_000 + 9000L * (osn[i] - 5000), p.header().timestamp());
        }
        assertEquals(3, responder.retransmittedRtx());
    }

    @Test
    void retransmissions_oncePerIntervalPerConsumer_andNotWhenTooOld() throws Exception {
        Consumer c = stream(new ConsumerParams(0x5555L, 96, null, 0, null));
        Consumer other = StageFixtures.consumer("c2", "sub2", video, new ConsumerParams(0x5556L, 96, null, 0, null));
        other.forward(rtp(0x2222L, 96, 10, 90_000, VP8_KEY), true, 0);
        other.forward(rtp(0x2222L, 96, 11, 99_000, VP8_DELTA), false, 0);
        responder.onConsumerRtcp(c, new GenericNack(1, 0x5555L, List.of(5001)), 10);
        responder.onConsumerRtcp(c, new GenericNack(1, 0x5555L, List.of(5001)), 109); // repeated within 100 ms
        responder.onConsumerRtcp(other, new GenericNack(1, 0x5556L, List.of(5001)), 109); // another consumer
        assertEquals(2, drain(responder).size());
        responder.onConsumerRtcp(c, new GenericNack(1, 0x5555L, List.of(5001)), 110);
        assertEquals(1, drain(responder).size(), "again after the interval");
        responder.onConsumerRtcp(c, new GenericNack(1, 0x5555L, List.of(5002)), 2_001); // arrived at 0: too old
        assertTrue(drain(responder).isEmpty());
        assertTrue(drain(upstream).isEmpty(), "a packet too old to help is not asked upstream either");
        assertEquals(2, responder.suppressed());
        assertEquals(3, responder.retransmitted());
    }

    @Test
    void cacheMiss_askedUpstream_andUnmappedSequenceIgnored() throws Exception {
        Consumer c = stream(new ConsumerParams(0x5555L, 96, null, 0, null));
        // out 4999 precedes the sync point, 5100 was never sent: ignored; nothing cached for producer seq 9
        responder.onConsumerRtcp(c, new GenericNack(1, 0x5555L, List.of(4999, 5100)), 10);
        assertTrue(drain(responder).isEmpty());
        assertTrue(drain(upstream).isEmpty());
        assertEquals(2, responder.nackedPackets());
        // evict seq 11 from the 512-slot cache by a packet 512 later
        responder.onProducerRtp(video, rtp(0x2222L, 96, 11 + 512, 0, VP8_DELTA), false, 0);
        responder.onConsumerRtcp(c, new GenericNack(1, 0x5555L, List.of(5001)), 10);
        assertTrue(drain(responder).isEmpty());
        assertEquals(List.of(new GenericNack(0x99L, 0x2222L, List.of(11))), rtcp(drain(upstream), "pub"));
    }
}
