package dev.veil.e2ee.key;

import dev.veil.e2ee.kdf.Hkdf;
import java.nio.charset.StandardCharsets;

/**
 * A one-way step from one 32-byte base key to the next. Frame keys are derived from a base key with a different
 * HKDF input than the ratchet uses, so a frame key can never be computed from the next base key (nor the reverse):
 * unlike LiveKit, where both come out of one KDF call and the frame key is a prefix of the next key.
 */
public interface KeyRatchet {
    /** Base keys are 32 bytes in every Veil key schedule. */
    int BASE_KEY_LENGTH = 32;

    /** The next base key. Does not modify {@code baseKey}. */
    byte[] next(byte[] baseKey);

    /**
     * Veil's ratchet for SFrame keys:
     * {@code next = HKDF-Expand(HKDF-Extract(salt = "", base), info = "Veil 1.0 ratchet", 32)}.
     * SFrame frame keys come from {@code HKDF-Extract("", base)} too, but with RFC 9605's
     * "SFrame 1.0 Secret key/salt" labels, so the expand outputs are independent.
     */
    KeyRatchet VEIL = base -> Hkdf.SHA256.derive(new byte[0], base,
            "Veil 1.0 ratchet".getBytes(StandardCharsets.US_ASCII), BASE_KEY_LENGTH);

    /**
     * Jitsi's ratchet, needed for JFrame compatibility:
     * {@code next = HKDF-SHA256(IKM = base, salt = "JFrameRatchetKey", info = "", 32)}. Jitsi's frame key uses the
     * salt "JFrameEncryptionKey", a different extract, so again the two are independent.
     */
    KeyRatchet JFRAME = base -> Hkdf.SHA256.derive("JFrameRatchetKey".getBytes(StandardCharsets.US_ASCII), base,
            new byte[0], BASE_KEY_LENGTH);
}
