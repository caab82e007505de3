package dev.veil.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.veil.webrtc.rtp.RtpHeader;
import java.util.List;
import org.junit.jupiter.api.Test;

/** VP8 frames reassembled from the packets Vp8Packetizer makes; a gap or a missing start drops the frame whole. */
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
    void aGapOrAMissingStartDropsTheFrame_theNextFrameArrives() {
        VideoReceiver r = new VideoReceiver();
        List<byte[]> p = Vp8Packetizer.packetize(frame(2500), Vp8Packetizer.MAX_CHUNK);
        assertNull(r.onPayload(h(10, 90, false), p.get(0)));
        assertNull(r.onPayload(h(12, 90, true), p.get(2))); // 11 lost
        assertEquals(1, r.dropped());
        assertNull(r.onPayload(h(21, 180, true), p.get(2))); // no start: nothing
        byte[] next = frame(300);
        VideoReceiver.Sealed s = r.onPayload(h(22, 270, true), Vp8Packetizer.packetize(next, 1100).get(0));
        assertArrayEquals(next, s.payload());
    }
}
