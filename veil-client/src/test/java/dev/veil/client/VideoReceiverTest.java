package dev.veil.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.veil.webrtc.rtp.RtpHeader;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * VP8 frames reassembled from the packets Vp8Packetizer makes, handed out in order; a gap waits for its
 * retransmission (the frames after it wait too), and a frame never completed is abandoned whole once newer frames
 * push it out, reported so that the connection can ask for a key frame.
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

    /** The one frame {@code o} lets out. */
    private static VideoReceiver.Sealed one(VideoReceiver.Out o) {
        assertEquals(1, o.frames().size(), "frames out: " + o);
        return o.frames().get(0);
    }

    private static void none(VideoReceiver.Out o) {
        assertEquals(List.of(), o.frames());
    }

    @Test
    void aThreePacketFrameIsReassembled_acrossTheSequenceWrap() {
        VideoReceiver r = new VideoReceiver();
        byte[] f = frame(2500);
        List<byte[]> p = Vp8Packetizer.packetize(f, Vp8Packetizer.MAX_CHUNK);
        assertEquals(3, p.size());
        none(r.onPayload(h(0xfffe, 90, false), p.get(0)));
        none(r.onPayload(h(0xffff, 90, false), p.get(1)));
        VideoReceiver.Sealed s = one(r.onPayload(h(0, 90, true), p.get(2)));
        assertArrayEquals(f, s.payload());
        assertEquals(0xfffe, s.firstSequence());
        assertEquals(0, s.lastSequence());
        assertEquals(90, s.rtpTimestamp());
        assertEquals(0, r.dropped());
    }

    @Test
    void aGapHoldsBackLaterFramesUntilTheRetransmission_thenAllComeOutInOrder() {
        VideoReceiver r = new VideoReceiver();
        byte[] f = frame(2500);
        List<byte[]> p = Vp8Packetizer.packetize(f, Vp8Packetizer.MAX_CHUNK);
        none(r.onPayload(h(10, 90, false), p.get(0)));
        none(r.onPayload(h(12, 90, true), p.get(2))); // 11 lost for now
        byte[] next = frame(300);
        VideoReceiver.Out held = r.onPayload(h(13, 180, true), Vp8Packetizer.packetize(next, 1100).get(0));
        assertEquals(VideoReceiver.Out.NONE, held, "a later frame waits behind the incomplete one");
        none(r.onPayload(h(13, 180, true), Vp8Packetizer.packetize(next, 1100).get(0)));
        VideoReceiver.Out o = r.onPayload(h(11, 90, false), p.get(1)); // the retransmission
        assertEquals(2, o.frames().size());
        assertEquals(0, o.abandoned());
        assertArrayEquals(f, o.frames().get(0).payload());
        assertEquals(10, o.frames().get(0).firstSequence());
        assertEquals(12, o.frames().get(0).lastSequence());
        assertArrayEquals(next, o.frames().get(1).payload());
        none(r.onPayload(h(11, 90, false), p.get(1))); // a late copy of a returned frame's packet
        assertEquals(0, r.dropped());
        assertEquals(0, r.pending());
    }

    @Test
    void aFrameNeverCompletedIsAbandonedWhenPushedOut_theCompletedOnesBehindItComeOut() {
        VideoReceiver r = new VideoReceiver();
        List<byte[]> p = Vp8Packetizer.packetize(frame(2500), Vp8Packetizer.MAX_CHUNK);
        // a frame whose middle never comes, then complete frames behind it
        none(r.onPayload(h(20, 270, false), p.get(0)));
        none(r.onPayload(h(22, 270, true), p.get(2)));
        byte[][] g = new byte[VideoReceiver.MAX_PENDING - 1][];
        for (int i = 0; i < g.length; i++) {
            g[i] = frame(100 + i);
            none(r.onPayload(h(23 + i, 360 + 90L * i, true), Vp8Packetizer.packetize(g[i], 1100).get(0)));
        }
        assertEquals(VideoReceiver.MAX_PENDING, r.pending());
        // the next frame's first packet pushes the incomplete one out: the ones behind it come out, in order
        byte[] last = frame(50);
        VideoReceiver.Out o = r.onPayload(h(23 + g.length, 9000, true), Vp8Packetizer.packetize(last, 1100).get(0));
        assertEquals(1, o.abandoned());
        assertEquals(g.length + 1, o.frames().size());
        for (int i = 0; i < g.length; i++) {
            assertArrayEquals(g[i], o.frames().get(i).payload());
        }
        assertArrayEquals(last, o.frames().get(g.length).payload());
        assertEquals(1, r.dropped());
        assertEquals(0, r.pending());
        // the lost packet arriving late is ignored (its frame was given up), and does not block anything
        assertEquals(VideoReceiver.Out.NONE, r.onPayload(h(21, 270, false), p.get(1)));
        assertEquals(0, r.pending());

        // frames that start and never end: each new one past the limit abandons the oldest
        for (int i = 0; i < VideoReceiver.MAX_PENDING; i++) {
            assertEquals(VideoReceiver.Out.NONE, r.onPayload(h(60 + 2 * i, 18000 + 90L * i, false), p.get(0)));
        }
        VideoReceiver.Out pushed = r.onPayload(h(70, 19000, false), p.get(0));
        assertEquals(1, pushed.abandoned());
        assertEquals(List.of(), pushed.frames());
        assertEquals(2, r.dropped());
        assertEquals(VideoReceiver.MAX_PENDING, r.pending());
    }

    @Test
    void aCompletedKeyFrameAbandonsTheFramesWaitingBeforeIt() {
        VideoReceiver r = new VideoReceiver();
        List<byte[]> p = Vp8Packetizer.packetize(frame(2500), Vp8Packetizer.MAX_CHUNK);
        none(r.onPayload(h(100, 90, false), p.get(0))); // 101 lost
        none(r.onPayload(h(102, 90, true), p.get(2)));
        byte[] delta = frame(200);
        none(r.onPayload(h(103, 180, true), Vp8Packetizer.packetize(delta, 1100).get(0)));
        byte[] key = frame(300);
        key[0] = 0x50; // P bit clear
        VideoReceiver.Out o = r.onPayload(h(104, 270, true), Vp8Packetizer.packetize(key, 1100).get(0));
        assertEquals(2, o.abandoned(), "the incomplete frame and the delta waiting behind it");
        assertArrayEquals(key, one(o).payload());
        assertEquals(0, r.pending());
        assertEquals(VideoReceiver.Out.NONE, r.onPayload(h(101, 90, false), p.get(1)), "too late");
    }
}
