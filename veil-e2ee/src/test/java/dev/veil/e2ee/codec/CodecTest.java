package dev.veil.e2ee.codec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class CodecTest {

    @Test
    void vp8_prefixByTypeAndPBit() {
        byte[] key = FrameVectorFiles.vp8KeyFrame(40, "k");
        byte[] delta = FrameVectorFiles.vp8DeltaFrame(40, "d");
        assertEquals(10, Codec.VP8.clearPrefixLength(key, 0, 40, FrameType.KEY));
        assertEquals(3, Codec.VP8.clearPrefixLength(key, 0, 40, FrameType.DELTA));
        assertEquals(10, Codec.VP8.clearPrefixLength(key, 0, 40, FrameType.UNSPECIFIED));
        assertEquals(3, Codec.VP8.clearPrefixLength(delta, 0, 40, FrameType.UNSPECIFIED));
    }

    @Test
    void shortFrames_clampedNeverThrow() {
        byte[] b = new byte[4];
        for (Codec c : Codec.values()) {
            for (FrameType t : FrameType.values()) {
                for (int len = 0; len <= 4; len++) {
                    int n = c.clearPrefixLength(b, 0, len, t);
                    assertEquals(true, n >= 0 && n <= len, c + " " + t + " " + len);
                }
            }
        }
        assertEquals(0, Codec.OPUS.clearPrefixLength(new byte[0], 0, 0, FrameType.UNSPECIFIED));
        assertEquals(4, Codec.VP8.clearPrefixLength(b, 0, 4, FrameType.KEY));
    }

    @Test
    void opusAndNone() {
        assertEquals(1, Codec.OPUS.clearPrefixLength(new byte[9], 0, 9, FrameType.UNSPECIFIED));
        assertEquals(0, Codec.NONE.clearPrefixLength(new byte[9], 0, 9, FrameType.KEY));
    }

    @Test
    void rejectionCodes_roundTrip() {
        for (Rejection r : Rejection.values()) {
            assertEquals(r, Rejection.fromCode(r.code()));
            assertEquals(r, ((DecryptResult.Rejected) DecryptResult.fromRaw(r.code())).reason());
        }
        assertEquals(new DecryptResult.Decrypted(7), DecryptResult.fromRaw(7));
        assertThrows(IllegalArgumentException.class, () -> Rejection.fromCode(0));
    }

    @Test
    void brokenPolicy_isRefused() {
        ClearPrefixPolicy bad = (f, o, l, t) -> l + 1;
        assertThrows(IllegalStateException.class, () -> FrameBuffers.prefix(bad, new byte[3], 0, 3, null));
    }
}
