package dev.veil.e2ee.sframe;

import java.util.Arrays;
import javax.crypto.spec.SecretKeySpec;

/** The derived key material of one KID: the JCE key(s) and the salt. Package-private; never printed. */
final class SFrameKey {
    final long kid;
    /** AES key: the whole sframe_key for GCM, its first 16 bytes for CTR+HMAC. */
    final SecretKeySpec encKey;
    /** HMAC-SHA256 key (the rest of sframe_key) for CTR+HMAC; null for GCM. */
    final SecretKeySpec authKey;
    final byte[] salt;

    private SFrameKey(long kid, SecretKeySpec encKey, SecretKeySpec authKey, byte[] salt) {
        this.kid = kid;
        this.encKey = encKey;
        this.authKey = authKey;
        this.salt = salt;
    }

    /** RFC 9605 key schedule for {@code kid} from {@code baseKey}. */
    static SFrameKey derive(CipherSuite suite, long kid, byte[] baseKey) {
        byte[][] ks = SFrameKeySchedule.derive(suite, kid, baseKey);
        try {
            return fromRaw(suite, kid, ks[0], ks[1]);
        } finally {
            Arrays.fill(ks[0], (byte) 0);
        }
    }

    /** From an already derived sframe_key (Nk bytes) and salt (Nn bytes); the salt array is kept, the key copied. */
    static SFrameKey fromRaw(CipherSuite suite, long kid, byte[] key, byte[] salt) {
        if (key.length != suite.keyLength() || salt.length != suite.nonceLength()) {
            throw new IllegalArgumentException("key/salt length does not match " + suite);
        }
        if (suite.isGcm()) {
            return new SFrameKey(kid, new SecretKeySpec(key, "AES"), null, salt);
        }
        int nka = CipherSuite.CTR_ENC_KEY_LENGTH;
        return new SFrameKey(kid, new SecretKeySpec(key, 0, nka, "AES"),
                new SecretKeySpec(key, nka, key.length - nka, "HmacSHA256"), salt);
    }

    void destroy() {
        Arrays.fill(salt, (byte) 0);
    }

    @Override
    public String toString() {
        return "SFrameKey[kid=" + Long.toUnsignedString(kid) + ", redacted]";
    }
}
