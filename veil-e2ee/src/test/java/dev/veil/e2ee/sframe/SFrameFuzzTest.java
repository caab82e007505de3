package dev.veil.e2ee.sframe;

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
import dev.veil.e2ee.key.KeyId;
import dev.veil.e2ee.util.SecretBytes;
import java.util.Arrays;

/**
 * Fuzz targets for the SFrame receive path (every media frame the SFU forwards reaches it), with a fixed key.
 *
 * <ul>
 *   <li>{@link #header}: {@link SFrameHeader#decode} throws only {@link SFrameHeader.MalformedHeaderException};
 *       a decoded header re-encodes to at most as many bytes and decodes back to itself.
 *   <li>{@link #decryptFrame}: the receiver with a fixed key, fed either raw bytes or a frame that a sender with the
 *       same key encrypted from fuzzed plaintext, then optionally tampered with (one flipped bit, or truncation).
 *       Never throws; an untouched frame decrypts to exactly its plaintext (clear prefix included) and a second
 *       copy is a {@link Rejection#REPLAY}; a tampered frame is always rejected; output never exceeds
 *       {@link SFrameReceiver#maxDecryptedLength}.
 * </ul>
 */
class SFrameFuzzTest {
    private static final KeyId KID = KeyId.fromKid(0x0305);
    private static final byte[] BASE_KEY = new byte[32];

    static {
        for (int i = 0; i < BASE_KEY.length; i++) {
            BASE_KEY[i] = (byte) (0xA0 + i);
        }
    }

    @FuzzTest
    void header(byte[] data) {
        SFrameHeader h;
        try {
            h = SFrameHeader.decode(data, 0, data.length);
        } catch (SFrameHeader.MalformedHeaderException e) {
            return;
        }
        byte[] enc = h.toBytes();
        assertEquals(h.length(), enc.length);
        assertTrue(enc.length <= Math.min(data.length, SFrameHeader.MAX_LENGTH));
        try {
            assertEquals(h, SFrameHeader.decode(enc, 0, enc.length));
        } catch (SFrameHeader.MalformedHeaderException e) {
            throw new AssertionError("encoded header does not decode", e);
        }
    }

    @FuzzTest
    void decryptFrame(FuzzedDataProvider in) throws FrameCryptoException {
        CipherSuite suite = in.pickValue(CipherSuite.values());
        Codec codec = in.pickValue(Codec.values());
        FrameType type = in.pickValue(FrameType.values());
        int mode = in.consumeInt(0, 3); // 0 raw bytes, 1 authentic, 2 one bit flipped, 3 truncated
        int edit = in.consumeInt() & Integer.MAX_VALUE;
        byte[] payload = in.consumeRemainingAsBytes();

        SFrameReceiver r = new SFrameReceiver(suite);
        r.addKey(KID, SecretBytes.copyOf(BASE_KEY));
        byte[] frame;
        if (mode == 0) {
            frame = payload;
        } else {
            SFrameSender s = new SFrameSender(suite);
            s.setKey(KID, SecretBytes.copyOf(BASE_KEY));
            frame = s.encryptFrame(codec, type, payload);
            if (mode == 2) {
                int bit = edit % (frame.length * 8);
                frame[bit / 8] ^= (byte) (1 << (bit % 8));
            } else if (mode == 3) {
                frame = Arrays.copyOf(frame, edit % frame.length);
            }
        }
        byte[] out = new byte[r.maxDecryptedLength(frame.length)];
        DecryptResult res = r.decryptFrame(codec, type, frame, 0, frame.length, out, 0);
        if (mode == 1) {
            DecryptResult.Decrypted d = assertInstanceOf(DecryptResult.Decrypted.class, res, "authentic frame");
            assertEquals(payload.length, d.length());
            assertArrayEquals(payload, Arrays.copyOf(out, d.length()));
        } else if (mode >= 2) {
            assertInstanceOf(DecryptResult.Rejected.class, res, "tampered frame accepted (mode " + mode + ")");
        }
        if (res instanceof DecryptResult.Decrypted d) {
            assertTrue(d.length() <= out.length);
            DecryptResult again = r.decryptFrame(codec, type, frame, 0, frame.length, out, 0);
            assertInstanceOf(DecryptResult.Rejected.class, again, "replayed frame not refused");
            // A frame shorter than its codec prefix has several readings and the reason reported is that of the
            // largest prefix (documented on decryptFrame), so REPLAY is certain only past the longest prefix.
            if (mode == 1 && payload.length > Codec.MAX_PREFIX) {
                assertEquals(DecryptResult.Rejected.of(Rejection.REPLAY), again, "replay not reported as REPLAY");
            }
        }
    }
}
