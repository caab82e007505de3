package dev.veil.webrtc.stun;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;

/**
 * Fuzz target for the STUN decoder (any datagram from any address reaches it). Properties: only
 * {@link StunException} for bad input; a decoded message keeps its 20-byte header and length; integrity and
 * fingerprint checks never throw; re-encoding the decoded attributes is canonical (decode then encode is a fixed
 * point after one pass) (where the canonical form fits the encoder's limits).
 *
 * <p>Regression replay: the inputs in {@code src/test/resources/dev/veil/webrtc/stun/StunFuzzTestInputs/decode/}
 * run as ordinary tests; {@code JAZZER_FUZZ=1} fuzzes (docs/FUZZING.md).
 */
class StunFuzzTest {
    private static final byte[] KEY = "fuzzpasswordfuzzpassword".getBytes(StandardCharsets.UTF_8);

    @FuzzTest
    void decode(byte[] data) {
        StunMessage m;
        try {
            m = StunMessage.decode(data);
        } catch (StunException e) {
            return;
        }
        assertTrue(StunMessage.looksLikeStun(data, 0, data.length), "decoded what looksLikeStun refuses");
        assertEquals(12, m.transactionId().length);
        m.verifyIntegrity(KEY);
        m.verifyFingerprint();
        m.username();
        byte[] once = reencode(m);
        if (once == null) {
            return;
        }
        StunMessage again;
        try {
            again = StunMessage.decode(once);
        } catch (StunException e) {
            throw new AssertionError("re-encoded message does not decode: " + e.getMessage(), e);
        }
        assertEquals(m.messageClass(), again.messageClass());
        assertEquals(m.method(), again.method());
        assertArrayEquals(m.transactionId(), again.transactionId());
        assertArrayEquals(once, reencode(again), "encode(decode(x)) is not a fixed point");
    }

    private static byte[] reencode(StunMessage m) {
        StunMessage.Builder b = StunMessage.builder(m.messageClass(), m.method(), m.transactionId());
        for (StunAttribute a : m.attributes()) {
            if (!(a instanceof StunAttribute.MessageIntegrity) && !(a instanceof StunAttribute.Fingerprint)) {
                b.add(a);
            }
        }
        try {
            byte[] out = b.encode(null, false);
            // Malformed UTF-8 decodes to U+FFFD (3 bytes each): the canonical form may outgrow the 16-bit length.
            return out.length - StunMessage.HEADER_LENGTH <= 0xFFFF ? out : null;
        } catch (IllegalArgumentException e) {
            return null; // the encoder's documented limit (USERNAME over 513 bytes once U+FFFD is expanded)
        }
    }
}
