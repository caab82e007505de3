package dev.veil.signaling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;

/**
 * Fuzz target for {@link SignalingCodec#decode}, which reads every WebSocket text frame on both sides (the server
 * decodes what clients send; the Java SDK decodes what the server sends). Properties: only
 * {@link SignalingException}; a decoded message re-encodes to text that decodes to an equal message and is a fixed
 * point of encode(decode(..)); the re-encoding is at most twice the input plus a fixed bound (defaults made
 * explicit), so decoding never amplifies.
 */
class SignalingCodecFuzzTest {
    private static final SignalingCodec CODEC = new SignalingCodec();

    @FuzzTest
    void decode(byte[] data) {
        String text = new String(data, StandardCharsets.UTF_8);
        SignalingMessage m;
        try {
            m = CODEC.decode(text);
        } catch (SignalingException e) {
            return;
        }
        String once = CODEC.encode(m);
        assertTrue(once.length() <= 2 * text.length() + 256,
                "re-encoding of " + text.length() + " chars has " + once.length());
        SignalingMessage again;
        try {
            again = CODEC.decode(once);
        } catch (SignalingException e) {
            throw new AssertionError("re-encoded message does not decode: " + e.getMessage() + ": " + once, e);
        }
        assertEquals(m, again, "decode(encode(m)) != m");
        assertEquals(once, CODEC.encode(again), "encode(decode(x)) is not a fixed point");
    }
}
