package dev.veil.webrtc.ice;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class TcpFrameDecoderTest {

    /** Feeds all of {@code in} in chunks of {@code chunk} bytes and collects the frames. */
    private static List<byte[]> decodeAll(TcpFrameDecoder d, byte[] in, int chunk) {
        List<byte[]> out = new ArrayList<>();
        for (int base = 0; base < in.length; base += chunk) {
            int n = Math.min(chunk, in.length - base);
            for (int off = 0; off < n; ) {
                int used = d.feed(in, base + off, n - off);
                off += used;
                for (byte[] f; (f = d.poll()) != null; ) {
                    out.add(f);
                }
                if (d.failed()) {
                    return out;
                }
                if (used == 0 && off < n) {
                    throw new AssertionError("no progress");
                }
            }
        }
        return out;
    }

    private static byte[] stream(byte[]... packets) {
        ByteArrayOutputStream s = new ByteArrayOutputStream();
        for (byte[] p : packets) {
            s.writeBytes(TcpFrameDecoder.encode(p));
        }
        return s.toByteArray();
    }

    @Test
    void wholeFramesInOneRead() {
        byte[] a = {0x00, 0x01, 0x02};
        byte[] b = new byte[1500];
        new Random(1).nextBytes(b);
        TcpFrameDecoder d = new TcpFrameDecoder(1500);
        List<byte[]> frames = decodeAll(d, stream(a, b, a), 1 << 16);
        assertEquals(3, frames.size());
        assertArrayEquals(a, frames.get(0));
        assertArrayEquals(b, frames.get(1));
        assertArrayEquals(a, frames.get(2));
        assertFalse(d.hasPartialFrame());
        assertEquals(3, d.frames());
    }

    @Test
    void framesSplitAtEveryByteBoundary() {
        Random r = new Random(7);
        byte[][] packets = new byte[20][];
        for (int i = 0; i < packets.length; i++) {
            packets[i] = new byte[1 + r.nextInt(1400)];
            r.nextBytes(packets[i]);
        }
        byte[] s = stream(packets);
        for (int chunk : new int[] {1, 2, 3, 7, 100, 1401, 4096}) {
            TcpFrameDecoder d = new TcpFrameDecoder(1500);
            List<byte[]> frames = decodeAll(d, s, chunk);
            assertEquals(packets.length, frames.size(), "chunk " + chunk);
            for (int i = 0; i < packets.length; i++) {
                assertArrayEquals(packets[i], frames.get(i), "chunk " + chunk + " frame " + i);
            }
        }
    }

    @Test
    void partialFrameIsHeldUntilTheRestArrives() {
        byte[] p = {9, 8, 7, 6, 5};
        byte[] s = stream(p);
        TcpFrameDecoder d = new TcpFrameDecoder(100);
        assertEquals(1, d.feed(s, 0, 1)); // half a header
        assertNull(d.poll());
        assertTrue(d.hasPartialFrame());
        assertEquals(3, d.feed(s, 1, 3)); // rest of the header, 2 payload bytes
        assertNull(d.poll());
        assertEquals(3, d.feed(s, 4, 3));
        assertArrayEquals(p, d.poll());
        assertNull(d.poll());
        assertFalse(d.hasPartialFrame());
    }

    @Test
    void stopsAfterEachFrameUntilPolled() {
        byte[] s = stream(new byte[] {1}, new byte[] {2});
        TcpFrameDecoder d = new TcpFrameDecoder(10);
        assertEquals(3, d.feed(s, 0, s.length));
        assertEquals(0, d.feed(s, 3, s.length - 3)); // the first frame waits for poll
        assertArrayEquals(new byte[] {1}, d.poll());
        assertEquals(3, d.feed(s, 3, s.length - 3));
        assertArrayEquals(new byte[] {2}, d.poll());
    }

    @Test
    void oversizeFrameFailsBeforeAnyAllocationOfIt() {
        TcpFrameDecoder d = new TcpFrameDecoder(1500);
        byte[] s = {(byte) 0xFF, (byte) 0xFF, 1, 2, 3};
        assertEquals(2, d.feed(s, 0, s.length)); // only the header is consumed
        assertTrue(d.failed());
        assertTrue(d.failure().contains("65535"), d.failure());
        assertNull(d.poll());
        assertEquals(0, d.feed(s, 2, 3)); // nothing more after a failure
        assertEquals(0, d.frames());
        assertNull(d.poll());
    }

    @Test
    void frameOfMaxSizeIsAcceptedAndOneMoreIsNot() {
        TcpFrameDecoder ok = new TcpFrameDecoder(1500);
        assertEquals(1, decodeAll(ok, stream(new byte[1500]), 512).size());
        assertFalse(ok.failed());
        TcpFrameDecoder bad = new TcpFrameDecoder(1500);
        assertEquals(0, decodeAll(bad, stream(new byte[1501]), 512).size());
        assertTrue(bad.failed());
    }

    @Test
    void emptyFrameFails() {
        TcpFrameDecoder d = new TcpFrameDecoder(1500);
        d.feed(new byte[] {0, 0, 5}, 0, 3);
        assertTrue(d.failed());
        assertEquals("empty frame", d.failure());
    }

    @Test
    void garbageStreamFailsWithinTheFirstHeaderMostOfTheTime() {
        // random bytes: a header above 1500 (the first byte above 5) fails at once; the rest yield a few frames
        // of garbage, which the server then refuses by content (not STUN from an unknown connection)
        Random r = new Random(42);
        int failedAtOnce = 0;
        for (int i = 0; i < 1000; i++) {
            byte[] g = new byte[4096];
            r.nextBytes(g);
            TcpFrameDecoder d = new TcpFrameDecoder(1500);
            List<byte[]> frames = decodeAll(d, g, 4096);
            if (frames.isEmpty() && d.failed()) {
                failedAtOnce++;
            }
            assertTrue(frames.size() <= 4096 / 3);
        }
        assertTrue(failedAtOnce > 950, "failed at once: " + failedAtOnce);
    }

    @Test
    void badArgumentsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new TcpFrameDecoder(0));
        assertThrows(IllegalArgumentException.class, () -> new TcpFrameDecoder(65536));
        assertThrows(IllegalArgumentException.class, () -> TcpFrameDecoder.encode(new byte[0]));
        assertThrows(IllegalArgumentException.class, () -> TcpFrameDecoder.encode(new byte[65536]));
        TcpFrameDecoder d = new TcpFrameDecoder(10);
        assertThrows(IndexOutOfBoundsException.class, () -> d.feed(new byte[4], 2, 3));
    }

    @Test
    void headerIsBigEndian() {
        assertArrayEquals(new byte[] {0x05, (byte) 0xDC}, TcpFrameDecoder.header(1500));
        assertArrayEquals(new byte[] {0, 3, 1, 2, 3}, TcpFrameDecoder.encode(new byte[] {1, 2, 3}));
    }
}
