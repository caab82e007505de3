package dev.veil.e2ee.sframe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.HexFormat;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class SFrameHeaderTest {

    @Test
    void encode_minimalLengths() {
        assertEquals("00", hex(new SFrameHeader(0, 0)));
        assertEquals("77", hex(new SFrameHeader(7, 7)));
        assertEquals("8008", hex(new SFrameHeader(8, 0)));
        assertEquals("1808", hex(new SFrameHeader(1, 8)));
        assertEquals("ffffffffffffffffffffffffffffffffff", hex(new SFrameHeader(-1L, -1L)));
        assertEquals(17, new SFrameHeader(-1L, -1L).length());
    }

    @Test
    void decode_acceptsNonMinimalEncoding() throws Exception {
        // KID 1 written on one extension byte, CTR 2 on two: X=1 K=0, Y=1 C=1.
        byte[] b = HexFormat.of().parseHex("89010002");
        SFrameHeader h = SFrameHeader.decode(b, 0, b.length);
        assertEquals(1, h.kid());
        assertEquals(2, h.counter());
    }

    @Test
    void decode_truncated_throws() {
        byte[] b = HexFormat.of().parseHex("f0010203");
        assertThrows(SFrameHeader.MalformedHeaderException.class, () -> SFrameHeader.decode(b, 0, b.length));
        assertThrows(SFrameHeader.MalformedHeaderException.class, () -> SFrameHeader.decode(b, 0, 0));
    }

    @Test
    void roundTrip_randomUnsignedValues() throws Exception {
        SplittableRandom rnd = new SplittableRandom(5);
        byte[] buf = new byte[SFrameHeader.MAX_LENGTH + 3];
        for (int i = 0; i < 5000; i++) {
            long kid = rnd.nextLong() >>> rnd.nextInt(64);
            long ctr = rnd.nextLong() >>> rnd.nextInt(64);
            int n = new SFrameHeader(kid, ctr).encode(buf, 3);
            SFrameHeader h = SFrameHeader.decode(buf, 3, n);
            assertEquals(kid, h.kid());
            assertEquals(ctr, h.counter());
            assertArrayEquals(new SFrameHeader(kid, ctr).toBytes(), java.util.Arrays.copyOfRange(buf, 3, 3 + n));
        }
    }

    @Test
    void toString_printsUnsigned() {
        assertEquals("SFrameHeader[kid=18446744073709551615, ctr=1]", new SFrameHeader(-1L, 1).toString());
    }

    private static String hex(SFrameHeader h) {
        return HexFormat.of().formatHex(h.toBytes());
    }
}
