package dev.veil.e2ee.mls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class MlsKidTest {
    /** RFC 9605 §5.2, figure "An example sequence of KIDs": E = 4, S = 6 (64 members). */
    @Test
    void rfc9605Figure() {
        assertEquals(0x3eL, MlsKid.kid(0, 3, 14, 6, 4));
        assertEquals(0x7eL, MlsKid.kid(0, 7, 14, 6, 4));
        assertEquals(0x14eL, MlsKid.kid(0, 20, 14, 6, 4));
        assertEquals(0x3fL, MlsKid.kid(0, 3, 15, 6, 4));
        assertEquals(0x5fL, MlsKid.kid(0, 5, 15, 6, 4));
        assertEquals(0x820L, MlsKid.kid(2, 2, 16, 6, 4));
        assertEquals(0xc20L, MlsKid.kid(3, 2, 16, 6, 4));
        assertEquals(0x211L, MlsKid.kid(0, 33, 17, 6, 4));
        assertEquals(0x331L, MlsKid.kid(0, 51, 17, 6, 4));
    }

    @Test
    void indexBitsIsTheSmallestSWithGroupSizeBelowTwoToTheS() {
        assertEquals(1, MlsKid.indexBits(1));
        assertEquals(2, MlsKid.indexBits(2));
        assertEquals(2, MlsKid.indexBits(3));
        assertEquals(3, MlsKid.indexBits(4));
        assertEquals(6, MlsKid.indexBits(63));
        assertEquals(7, MlsKid.indexBits(64));
        assertThrows(IllegalArgumentException.class, () -> MlsKid.indexBits(0));
    }

    @Test
    void veilLayoutRoundTrips() {
        long kid = MlsKid.kid(5, 300, 3);
        assertEquals(300 & 0xFF, MlsKid.epochBits(kid));
        assertEquals(5, MlsKid.senderIndex(kid, 3));
        assertEquals(0, MlsKid.context(kid, 3));
        assertEquals((5L << 8) | 44, kid);
        assertThrows(IllegalArgumentException.class, () -> MlsKid.kid(8, 1, 3));
    }
}
