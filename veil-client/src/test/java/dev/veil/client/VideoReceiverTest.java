package dev.veil.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.veil.webrtc.rtp.RtpHeader;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * VP8 frames reassembled from the packets Vp8Packetizer makes; a gap waits for its retransmission, and a frame never
 * completed is dropped whole once newer frames push it out.
 */
class VideoReceiverTest {
    private static byte[] frame(int n) {
        byte[] f = new byte[n];
        for (int i = 0; i < n; i++) {
            f[i] = (byte) (i * 7 + 3);
        }
        return f;
    }

    private static RtpHeader h(int seq, long ts, boolean marker) {
        return RtpHeader.of(marker, 96, seq, ts, 0xABCDL);
    }

    @Test
    void aThreePacketFrameIsReassembled_acrossTheSequenceWrap() {
        VideoReceiver r = new VideoReceiver();
        byte[] f = frame(2500);
        List<byte[]> p = Vp8Packetizer.packetize(f, Vp8Packetizer.MAX_CHUNK);
        assertEquals(3, p.size());
        assertNull(r.onPayload(h(0xfffe, 90, false), p.get(0)));
        assertNull(r.onPayload(h(0xffff, 90, false), p.get(1)));
        VideoReceiver.Sealed s = r.onPayload(h(0, 90, true), p.get(2));
        assertArrayEquals(f, s.payload());
        assertEquals(0xfffe, s.firstSequence());
        assertEquals(0, s.lastSequence());
        assertEquals(90, s.rtpTimestamp());
        assertEquals(0, r.dropped());
    }

    @Test
    void aGapWaitsForTheRetransmission_aFrameNeverCompletedIsDroppedWhenPushedOut() {
        VideoReceiver r = new VideoReceiver();
        byte[] f = frame(2500);
        List<byte[]> p = Vp8Packetizer.packetize(f, Vp8Packetizer.MAX_CHUNK);
        assertNull(r.onPayload(h(10, 90, false), p.get(0)));
        assertNull(r.onPayload(h(12, 90, true), p.get(2))); // 11 lost for now
        byte[] next = frame(300);
        VideoReceiver.Sealed n = r.onPayload(h(13, 180, true), Vp8Packetizer.packetize(next, 1100).get(0));
        assertArrayEquals(next, n.payload(), "a later frame is not held back by the incomplete one");
        VideoReceiver.Sealed s = r.onPayload(h(11, 90, false), p.get(1)); // the retransmission
        assertArrayEquals(f, s.payload());
        assertEquals(10, s.firstSequence());
        assertEquals(12, s.lastSequence());
        assertNull(r.onPayload(h(11, 90, false), p.get(1)), "a late copy of a returned frame's packet");
        assertEquals(0, r.dropped());
        assertEquals(0, r.pending());

        // a frame whose middle never comes, and one without a start: dropped once newer frames push them out
        assertNull(r.onPayload(h(20, 270, false), p.get(0)));
        assertNull(r.onPayload(h(22, 270, true), p.get(2)));
        assertNull(r.onPayload(h(31, 360, true), p.get(2)));
        for (int i = 0; i < VideoReceiver.MAX_PENDING; i++) {
            byte[] g = frame(100 + i);
            long ts = 450 + 90L * i;
            assertArrayEquals(g, r.onPayload(h(40 + i, ts, true), Vp8Packetizer.packetize(g, 1100).get(0)).payload());
        }
        assertEquals(2, r.pending());
        for (int i = 0; i < VideoReceiver.MAX_PENDING; i++) { // frames that start and never end
            assertNull(r.onPayload(h(60 + 2 * i, 9000 + 90L * i, false), p.get(0)));
        }
        assertEquals(2, r.dropped(), "the two incomplete ones, pushed out by the third and fourth unfinished start");
        assertEquals(VideoReceiver.MAX_PENDING, r.pending());
    }
}
