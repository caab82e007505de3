package dev.veil.webrtc.router;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.veil.webrtc.rtp.RtpCodec;
import dev.veil.webrtc.rtp.RtpHeader;
import dev.veil.webrtc.rtp.RtpPacket;
import dev.veil.webrtc.sdp.MediaKind;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The producer lookup by (peer, SSRC) behind its cache: many publishers whose SSRCs share cache slots, interleaved
 * packet by packet, each reach their own consumer; an SSRC of another peer is not taken for the sender's; a producer
 * closed and created again with the same SSRC is the new one.
 */
class RouterProducerLookupTest {
    private static final int PUBLISHERS = 70; // more than the cache's 32 slots: slots are shared and evicted

    private static byte[] opus(long ssrc, int seq) {
        byte[] payload = new byte[20];
        RtpHeader h = new RtpHeader(false, 111, seq & 0xFFFF, 960L * seq, ssrc, List.of(), -1, List.of(), null);
        return RtpPacket.build(h, payload, 0, payload.length);
    }

    private static Map<String, Integer> forwardedByConsumer(Router r) {
        Map<String, Integer> n = new HashMap<>();
        for (RouterOutput o; (o = r.pollOutput()) != null; ) {
            if (o instanceof RouterOutput.Rtp rtp) {
                n.merge(rtp.consumerId(), 1, Integer::sum);
            }
        }
        return n;
    }

    @Test
    void interleavedPublishers_closedAndRecreated_andForeignSsrcs() {
        Router r = new Router(RouterConfig.defaults(), new Random(3));
        long[] ssrc = new long[PUBLISHERS];
        Random rnd = new Random(11);
        for (int i = 0; i < PUBLISHERS; i++) {
            ssrc[i] = i < 3 ? 0x1000L + i * 32 : rnd.nextLong() & 0xFFFF_FFFFL; // a few equal low bits too
            r.createProducer("p" + i, "pub" + i, new ProducerParams(MediaKind.AUDIO, RtpCodec.OPUS, 111, 48000,
                    ssrc[i], "0"));
            r.createConsumer("c" + i, "sub", "p" + i, new ConsumerParams(r.newSsrc(), 111, "pub" + i, 0, "m" + i), 0);
        }
        long now = 1_000;
        int rounds = 20;
        for (int seq = 0; seq < rounds; seq++) {
            for (int i = 0; i < PUBLISHERS; i++) {
                byte[] p = opus(ssrc[i], seq);
                r.handleRtp("pub" + i, p, 0, p.length, now);
            }
            now += 20;
        }
        Map<String, Integer> n = forwardedByConsumer(r);
        for (int i = 0; i < PUBLISHERS; i++) {
            assertEquals(rounds, n.getOrDefault("c" + i, 0), "consumer c" + i);
        }
        assertEquals(0, r.stats().rtpUnknownSsrc());

        // pub1 sends pub0's SSRC just after pub0 did (so it is cached for pub0's map): not pub1's producer
        byte[] own = opus(ssrc[0], rounds);
        r.handleRtp("pub0", own, 0, own.length, now);
        byte[] foreign = opus(ssrc[0], rounds + 1);
        r.handleRtp("pub1", foreign, 0, foreign.length, now);
        assertEquals(1, r.stats().rtpUnknownSsrc());
        assertEquals(Map.of("c0", 1), forwardedByConsumer(r));

        // pub2's producer closed: its SSRC is unknown; created again (same SSRC): the new producer's consumer gets it
        r.closeProducer("p2");
        byte[] p = opus(ssrc[2], rounds);
        r.handleRtp("pub2", p, 0, p.length, now);
        assertEquals(2, r.stats().rtpUnknownSsrc());
        r.createProducer("p2b", "pub2", new ProducerParams(MediaKind.AUDIO, RtpCodec.OPUS, 111, 48000, ssrc[2], "0"));
        r.createConsumer("c2b", "sub", "p2b", new ConsumerParams(r.newSsrc(), 111, "pub2", 0, "m2b"), now);
        for (int seq = rounds + 1; seq < rounds + 4; seq++) {
            byte[] q = opus(ssrc[2], seq);
            r.handleRtp("pub2", q, 0, q.length, now);
            byte[] other = opus(ssrc[5], seq);
            r.handleRtp("pub5", other, 0, other.length, now);
            now += 20;
        }
        n = forwardedByConsumer(r);
        assertEquals(3, n.getOrDefault("c2b", 0));
        assertEquals(3, n.getOrDefault("c5", 0));
        assertEquals(2, r.stats().rtpUnknownSsrc());
    }
}
