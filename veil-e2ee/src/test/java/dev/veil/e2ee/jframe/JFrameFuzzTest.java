package dev.veil.e2ee.jframe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.veil.e2ee.codec.Codec;
import dev.veil.e2ee.codec.DecryptResult;
import dev.veil.e2ee.codec.FrameCryptoException;
import dev.veil.e2ee.codec.FrameType;
import dev.veil.e2ee.codec.Rejection;
import dev.veil.e2ee.util.SecretBytes;
import java.util.Arrays;
import java.util.Random;

/**
 * Fuzz target for the JFrame receive path (the browser-compatible format), with fixed key material in slot 0 (a
 * ratchetable slot, so tampered frames also exercise the 8-step ratchet search). Input: raw bytes, or a frame that a
 * sender with the same material encrypted from fuzzed plaintext, optionally with one flipped bit or truncated.
 * Properties: never throws; an authentic frame decrypts to exactly its plaintext and its replay is refused; a
 * tampered frame is always rejected; the output is {@code len - 30} bytes at most.
 */
class JFrameFuzzTest {
    private static final byte[] MATERIAL = new byte[32];

    static {
        for (int i = 0; i < MATERIAL.length; i++) {
            MATERIAL[i] = (byte) (0x33 + 7 * i);
        }
    }

    @FuzzTest
    void decrypt(FuzzedDataProvider in) throws FrameCryptoException {
        Codec codec = in.pickValue(Codec.values());
        FrameType type = in.pickValue(FrameType.values());
        int mode = in.consumeInt(0, 3); // 0 raw bytes, 1 authentic, 2 one bit flipped, 3 truncated
        int edit = in.consumeInt() & Integer.MAX_VALUE;
        int ssrc = in.consumeInt();
        int timestamp = in.consumeInt();
        byte[] payload = in.consumeRemainingAsBytes();

        JFrameReceiver r = new JFrameReceiver();
        r.setKey(0, SecretBytes.copyOf(MATERIAL));
        byte[] frame;
        if (mode == 0) {
            frame = payload;
        } else {
            JFrameSender s = new JFrameSender(new Random(edit));
            s.setKey(0, SecretBytes.copyOf(MATERIAL));
            frame = s.encrypt(codec, type, ssrc, timestamp, payload);
            if (mode == 2) {
                int bit = edit % (frame.length * 8);
                frame[bit / 8] ^= (byte) (1 << (bit % 8));
            } else if (mode == 3) {
                frame = Arrays.copyOf(frame, edit % frame.length);
            }
        }
        byte[] out = new byte[Math.max(0, frame.length - JFrameSender.OVERHEAD)];
        DecryptResult res = r.decrypt(codec, type, frame, 0, frame.length, out, 0);
        if (mode == 1) {
            DecryptResult.Decrypted d = assertInstanceOf(DecryptResult.Decrypted.class, res, "authentic frame");
            assertEquals(payload.length, d.length());
            assertArrayEquals(payload, Arrays.copyOf(out, d.length()));
        } else if (mode >= 2) {
            assertInstanceOf(DecryptResult.Rejected.class, res, "tampered frame accepted (mode " + mode + ")");
        }
        if (res instanceof DecryptResult.Decrypted d) {
            assertTrue(d.length() <= out.length);
            DecryptResult again = r.decrypt(codec, type, frame, 0, frame.length, out, 0);
            assertEquals(DecryptResult.Rejected.of(Rejection.REPLAY), again, "replayed frame not refused");
        }
    }
}
