package dev.veil.webrtc.cc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.veil.webrtc.rtp.HeaderExtension;
import dev.veil.webrtc.rtp.RtpHeader;
import dev.veil.webrtc.rtp.RtpPacket;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The forwarding path's in-place element insertion and stamping ({@link TransportSequence#withElementInPlace},
 * {@link TransportWideStamper#stampOrAddInPlace}) give the same bytes and counts as the copying ones.
 */
class TransportSequenceInPlaceTest {

    private static byte[] packet(List<HeaderExtension> ext, int payload) {
        return RtpPacket.build(RtpHeader.of(true, 111, 77, 1234, 0xABCD).withExtensions(ext), new byte[payload], 0,
                payload);
    }

    /** {@code p} placed at {@code off} of a larger buffer with garbage around it. */
    private static byte[] placed(byte[] p, int off, int room, Random r) {
        byte[] buf = new byte[off + p.length + room + 5];
        r.nextBytes(buf);
        System.arraycopy(p, 0, buf, off, p.length);
        return buf;
    }

    @Test
    void inPlaceEqualsTheCopyForEveryHeaderShape() {
        Random r = new Random(5);
        List<List<HeaderExtension>> shapes = List.of(
                List.of(),
                List.of(new HeaderExtension(1, "a".getBytes())),
                List.of(new HeaderExtension(1, "mid0".getBytes()), new HeaderExtension(3, new byte[3])),
                List.of(new HeaderExtension(1, new byte[20])), // two-byte form (element longer than 16)
                List.of(new HeaderExtension(20, "x".getBytes()))); // two-byte form (id > 14)
        for (List<HeaderExtension> ext : shapes) {
            for (int id : new int[] {2, 5, 14, 15, 200}) {
                for (int payload : new int[] {0, 1, 40, 1180}) {
                    byte[] p = packet(ext, payload);
                    byte[] expected = TransportSequence.withElement(p, 0, p.length, id);
                    int off = r.nextInt(20);
                    byte[] buf = placed(p, off, 8, r);
                    byte[] untouched = buf.clone();
                    int n = TransportSequence.withElementInPlace(buf, off, p.length, p.length + 8, id);
                    if (expected == null) {
                        assertEquals(-1, n, "refused as the copy is: " + ext + " id " + id);
                        assertArrayEquals(untouched, buf, "a refusal leaves the buffer as it was");
                    } else {
                        assertEquals(expected.length, n);
                        assertArrayEquals(expected, Arrays.copyOfRange(buf, off, off + n), ext + " id " + id);
                        assertArrayEquals(Arrays.copyOfRange(untouched, 0, off), Arrays.copyOfRange(buf, 0, off),
                                "nothing before the packet changes");
                    }
                }
            }
        }
    }

    @Test
    void tooLittleRoomIsRefusedWithTheBufferUntouched() {
        byte[] p = packet(List.of(), 40);
        byte[] buf = placed(p, 3, 8, new Random(1));
        byte[] untouched = buf.clone();
        assertEquals(-1, TransportSequence.withElementInPlace(buf, 3, p.length, p.length + 7, 3), "needs 8 bytes");
        assertArrayEquals(untouched, buf);
        byte[] q = packet(List.of(new HeaderExtension(1, "a".getBytes())), 40);
        byte[] qb = placed(q, 0, 4, new Random(2));
        assertEquals(-1, TransportSequence.withElementInPlace(qb, 0, q.length, q.length + 3, 3), "needs 4 bytes");
        assertEquals(q.length + 4, TransportSequence.withElementInPlace(qb, 0, q.length, q.length + 4, 3));
        assertEquals(-1, TransportSequence.withElementInPlace(new byte[20], 0, 20, 19, 3), "capacity below length");
        assertEquals(-1, TransportSequence.withElementInPlace(new byte[20], 4, 20, 20, 3), "outside the array");
    }

    @Test
    void neverThrowsOnGarbageAndAgreesWithTheCopy() {
        Random r = new Random(11);
        int added = 0;
        for (int i = 0; i < 50_000; i++) {
            byte[] b = new byte[r.nextInt(48)];
            r.nextBytes(b);
            if (b.length > 0) {
                b[0] = (byte) (0x80 | (b[0] & 0x1F));
            }
            int id = 1 + r.nextInt(20);
            byte[] expected = TransportSequence.withElement(b, 0, b.length, id);
            byte[] buf = Arrays.copyOf(b, b.length + 8);
            int n = TransportSequence.withElementInPlace(buf, 0, b.length, b.length + 8, id);
            if (expected == null) {
                assertEquals(-1, n);
            } else {
                added++;
                assertArrayEquals(expected, Arrays.copyOf(buf, n));
            }
        }
        assertTrue(added > 1000, "exercised: " + added);
    }

    @Test
    void stampOrAddInPlaceStampsAndCountsAsStampOrAdd() {
        TransportWideStamper copying = new TransportWideStamper(3, new SendHistory(256, 100));
        TransportWideStamper inPlace = new TransportWideStamper(3, new SendHistory(256, 100));
        Random r = new Random(3);
        List<List<HeaderExtension>> shapes = List.of(List.of(), List.of(new HeaderExtension(1, "a".getBytes())),
                List.of(new HeaderExtension(3, new byte[2])));
        for (int i = 0; i < 30; i++) {
            byte[] p = packet(shapes.get(i % 3), 10 + i);
            byte[] expected = copying.stampOrAdd(p.clone(), i);
            byte[] buf = placed(p, 2, 16, r);
            int n = inPlace.stampOrAddInPlace(buf, 2, p.length, p.length + 16, i);
            assertArrayEquals(expected, Arrays.copyOfRange(buf, 2, 2 + n));
        }
        assertEquals(copying.added(), inPlace.added());
        assertEquals(copying.stamped(), inPlace.stamped());
        assertEquals(copying.skipped(), inPlace.skipped());
        assertEquals(20, inPlace.added());
        TransportWideStamper high = new TransportWideStamper(20, new SendHistory(256, 0));
        byte[] oneByte = packet(List.of(new HeaderExtension(1, "a".getBytes())), 10);
        byte[] buf = placed(oneByte, 0, 16, r);
        byte[] untouched = buf.clone();
        assertEquals(oneByte.length, high.stampOrAddInPlace(buf, 0, oneByte.length, oneByte.length + 16, 1),
                "id 20 does not fit a one-byte block: left alone");
        assertArrayEquals(untouched, buf);
        assertEquals(1, high.skipped());
        assertEquals(0, high.added());
    }
}
