package dev.veil.webrtc.router.simulcast;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class Vp8PictureIdRewriterTest {

    /** A VP8 payload: descriptor with X, I (15-bit PictureID), L (TL0PICIDX), T (TID), then two frame bytes. */
    private static byte[] payload(int pictureId, int tl0, int tid) {
        return new byte[] {(byte) 0x90, (byte) 0xE0, (byte) (0x80 | pictureId >> 8), (byte) pictureId, (byte) tl0,
            (byte) (tid << 6), 0x51, 0x42};
    }

    private static int pid(byte[] p) {
        return Vp8PictureIdRewriter.field(p, 0, p.length, true);
    }

    private static int tl0(byte[] p) {
        return Vp8PictureIdRewriter.field(p, 0, p.length, false);
    }

    /** Sends {@code p} through {@code r} as the newest packet; returns the copy sent. */
    private static byte[] send(Vp8PictureIdRewriter r, byte[] p) {
        byte[] out = p.clone();
        r.rewrite(out, 0, out.length, true);
        return out;
    }

    @Test
    void theFirstLayerKeepsItsIdsAndASwitchContinuesFromTheLastSent() {
        Vp8PictureIdRewriter r = new Vp8PictureIdRewriter();
        byte[] first = payload(32_766, 254, 0);
        r.onSwitch(first, 0, first.length);
        assertEquals(32_766, pid(send(r, first)));
        assertEquals(32_767, pid(send(r, payload(32_767, 254, 2))));
        byte[] last = send(r, payload(0, 255, 0)); // both wrap
        assertEquals(0, pid(last));
        assertEquals(255, tl0(last));
        // the switch to a layer whose ids are anywhere else (here: behind): its key frame gets last + 1
        byte[] key = payload(1234, 17, 0);
        r.onSwitch(key, 0, key.length);
        byte[] k = send(r, key);
        assertEquals(1, pid(k));
        assertEquals(0, tl0(k));
        byte[] next = send(r, payload(1235, 17, 2));
        assertEquals(2, pid(next));
        assertEquals(0, tl0(next));
        assertEquals(3, pid(send(r, payload(1236, 18, 0))));
        // everything but the two ids is untouched
        byte[] in = payload(1237, 18, 1);
        byte[] out = send(r, in);
        assertEquals(4, pid(out));
        in[2] = out[2];
        in[3] = out[3];
        in[4] = out[4];
        assertArrayEquals(in, out);
    }

    @Test
    void anOlderPacketIsRewrittenButDoesNotMoveTheLastSentIds() {
        Vp8PictureIdRewriter r = new Vp8PictureIdRewriter();
        byte[] a = payload(500, 9, 0);
        r.onSwitch(a, 0, a.length);
        send(r, a);
        send(r, payload(501, 9, 1));
        byte[] late = payload(499, 8, 0).clone();
        r.rewrite(late, 0, late.length, false); // reordered / a retransmission
        assertEquals(499, pid(late));
        byte[] key = payload(7000, 100, 0);
        r.onSwitch(key, 0, key.length);
        assertEquals(502, pid(send(r, key)), "continues from the newest sent, 501");
        assertEquals(10, tl0(send(r, payload(7001, 100, 2))));
    }

    @Test
    void sevenBitIdsStaySevenBitsAndPayloadsWithoutIdsPassUnchanged() {
        Vp8PictureIdRewriter r = new Vp8PictureIdRewriter();
        byte[] seven = {(byte) 0x90, (byte) 0x80, 0x7F, 0x51};
        r.onSwitch(seven, 0, seven.length);
        send(r, seven);
        byte[] key = {(byte) 0x90, (byte) 0x80, 0x05, 0x50};
        r.onSwitch(key, 0, key.length);
        byte[] k = send(r, key);
        assertEquals(0, k[2], "127 + 1 modulo 128");
        assertEquals(0x50, k[3]);
        byte[] plain = {0x10, 0x51, 0x42};
        assertArrayEquals(plain, send(r, plain.clone()), "no X bit: nothing to rewrite");
        byte[] truncated = {(byte) 0x90, (byte) 0x80, (byte) 0x81};
        assertArrayEquals(truncated, send(r, truncated.clone()), "a truncated 15-bit id is left alone");
    }
}
