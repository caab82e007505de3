package dev.veil.webrtc.router;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.veil.webrtc.rtp.HeaderExtension;
import dev.veil.webrtc.rtp.RtpCodec;
import dev.veil.webrtc.rtp.RtpHeader;
import dev.veil.webrtc.rtp.RtpPacket;
import dev.veil.webrtc.sdp.MediaKind;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The allocation-free forwarding path ({@link Router#setForwardSink}) gives the subscribers byte for byte what the
 * queueing path ({@link RouterOutput.Rtp}) gives, in the same order, with the same counters: two routers built
 * alike (same seed) are fed the same packets, one with a sink and one without.
 */
class RouterForwardSinkTest {
    private static final byte[] VP8_KEY = {0x10, 0x50, 0x42, 0x00, (byte) 0x9d, 0x01, 0x2a};
    private static final byte[] VP8_DELTA = {0x10, 0x51, 0x42, 0x00, 0x01, 0x02};

    private record Sent(String consumerId, byte[] packet) {}

    private static Router router() {
        Router r = new Router(RouterConfig.defaults(), new Random(5));
        r.createProducer("pa", "pub", new ProducerParams(MediaKind.AUDIO, RtpCodec.OPUS, 111, 48000, 0x1111L, "0"));
        r.createProducer("pv", "pub", new ProducerParams(MediaKind.VIDEO, RtpCodec.VP8, 96, 90000, 0x2222L, "1"));
        // mid extension ids: none, one-byte (4), 14 with a 16-byte mid; one paused consumer
        r.createConsumer("s1/pa", "s1", "pa", new ConsumerParams(r.newSsrc(), 111, "pub", 0, "0"), 0);
        r.createConsumer("s2/pa", "s2", "pa", new ConsumerParams(r.newSsrc(), 111, "pub", 4, "0"), 0);
        r.createConsumer("s3/pa", "s3", "pa", new ConsumerParams(r.newSsrc(), 111, "pub", 14, "sixteen-byte-mid"), 0);
        r.createConsumer("s1/pv", "s1", "pv", new ConsumerParams(r.newSsrc(), 96, "pub", 4, "1"), 0);
        r.createConsumer("s2/pv", "s2", "pv", new ConsumerParams(r.newSsrc(), 96, "pub", 0, "1"), 0);
        r.createConsumer("s4/pv", "s4", "pv", new ConsumerParams(r.newSsrc(), 96, "pub", 4, "1"), 0);
        r.pauseConsumer("s4/pv");
        return r;
    }

    /** Packets of every header shape: plain, CSRCs, one-byte and two-byte extensions, a raw profile, padding. */
    private static List<byte[]> packets() {
        Random rnd = new Random(9);
        List<byte[]> out = new ArrayList<>();
        for (int i = 0; i < 120; i++) {
            boolean video = i % 2 == 1;
            byte[] payload = new byte[video ? 300 + i : 40 + i % 7];
            rnd.nextBytes(payload);
            if (video) {
                byte[] d = i == 1 || i == 61 ? VP8_KEY : VP8_DELTA;
                System.arraycopy(d, 0, payload, 0, d.length);
            }
            List<Long> csrcs = i % 5 == 0 ? List.of(7L, 8L) : List.of();
            RtpHeader h;
            switch (i % 4) {
                case 0 -> h = new RtpHeader(i % 3 == 0, video ? 96 : 111, (1000 + i) & 0xFFFF, 5000L * i,
                        video ? 0x2222L : 0x1111L, csrcs, -1, List.of(), null);
                case 1 -> h = new RtpHeader(false, video ? 96 : 111, (1000 + i) & 0xFFFF, 5000L * i,
                        video ? 0x2222L : 0x1111L, csrcs, RtpHeader.PROFILE_ONE_BYTE,
                        List.of(new HeaderExtension(2, new byte[] {1, 2, 3}), new HeaderExtension(3, new byte[] {4})),
                        null);
                case 2 -> h = new RtpHeader(true, video ? 96 : 111, (1000 + i) & 0xFFFF, 5000L * i,
                        video ? 0x2222L : 0x1111L, csrcs, RtpHeader.PROFILE_TWO_BYTE,
                        List.of(new HeaderExtension(20, new byte[0]), new HeaderExtension(3, new byte[40])), null);
                default -> h = new RtpHeader(false, video ? 96 : 111, (1000 + i) & 0xFFFF, 5000L * i,
                        video ? 0x2222L : 0x1111L, csrcs, 0x1234, List.of(), new byte[8]);
            }
            byte[] pkt = RtpPacket.build(h, payload, 0, payload.length);
            if (i % 6 == 3) { // 4 bytes of padding
                byte[] padded = Arrays.copyOf(pkt, pkt.length + 4);
                padded[0] |= 0x20;
                padded[padded.length - 1] = 4;
                pkt = padded;
            }
            out.add(pkt);
        }
        return out;
    }

    @Test
    void sink_getsTheSameBytesAsTheQueue_inTheSameOrder() {
        Router queued = router();
        Router sunk = router();
        List<Sent> viaSink = new ArrayList<>();
        byte[][] lastBuf = new byte[1][];
        sunk.setForwardSink((c, buf, off, len) -> {
            assertTrue(buf.length - off - len >= Router.FORWARD_TAIL_ROOM);
            lastBuf[0] = buf;
            viaSink.add(new Sent(c.id(), Arrays.copyOfRange(buf, off, off + len)));
            Arrays.fill(buf, off, off + len, (byte) 0x5a); // the sink may scribble: the router must not care
        });
        List<Sent> viaQueue = new ArrayList<>();
        long now = 1_000;
        // in the sink router the packet arrives in a buffer at an offset, as the server's receive buffer
        byte[] rx = new byte[4096];
        for (byte[] p : packets()) {
            now += 10;
            queued.handleRtp("pub", p, 0, p.length, now);
            System.arraycopy(p, 0, rx, 7, p.length);
            sunk.handleRtp("pub", rx, 7, p.length, now);
            for (RouterOutput o; (o = queued.pollOutput()) != null; ) {
                if (o instanceof RouterOutput.Rtp rtp) {
                    viaQueue.add(new Sent(rtp.consumerId(), rtp.packet()));
                }
            }
            for (RouterOutput o; (o = sunk.pollOutput()) != null; ) {
                assertTrue(!(o instanceof RouterOutput.Rtp), "forwarded packets go to the sink, not the queue");
            }
        }
        assertEquals(viaQueue.size(), viaSink.size());
        assertTrue(viaQueue.size() > 250, "forwarded " + viaQueue.size());
        for (int i = 0; i < viaQueue.size(); i++) {
            assertEquals(viaQueue.get(i).consumerId(), viaSink.get(i).consumerId(), "packet " + i);
            assertArrayEquals(viaQueue.get(i).packet(), viaSink.get(i).packet(), "packet " + i);
        }
        assertEquals(queued.stats(), sunk.stats());
        assertTrue(lastBuf[0] != rx, "the sink gets the router's buffer, not the input");
    }

    @Test
    void attachment_isKeptOnTheConsumer() {
        Router r = router();
        Object peer = new Object();
        r.findConsumer("s1/pa").attach(peer);
        assertSame(peer, r.findConsumer("s1/pa").attachment());
    }
}
