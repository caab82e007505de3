package dev.veil.e2ee.sframe;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * RFC 9605 section 4.4.2, the key and salt of one KID:
 *
 * <pre>
 *   sframe_secret     = HKDF-Extract("", base_key)
 *   sframe_key_label  = "SFrame 1.0 Secret key "  ‖ KID (8 bytes BE) ‖ cipher_suite (2 bytes BE)
 *   sframe_salt_label = "SFrame 1.0 Secret salt " ‖ KID (8 bytes BE) ‖ cipher_suite (2 bytes BE)
 *   sframe_key        = HKDF-Expand(sframe_secret, sframe_key_label, Nk)
 *   sframe_salt       = HKDF-Expand(sframe_secret, sframe_salt_label, Nn)
 * </pre>
 *
 * HKDF uses SHA-256, or SHA-512 for suite 0x0005.
 */
final class SFrameKeySchedule {
    static final byte[] KEY_LABEL = "SFrame 1.0 Secret key ".getBytes(StandardCharsets.US_ASCII);
    static final byte[] SALT_LABEL = "SFrame 1.0 Secret salt ".getBytes(StandardCharsets.US_ASCII);

    private SFrameKeySchedule() {
    }

    static byte[] label(byte[] prefix, long kid, CipherSuite suite) {
        byte[] l = Arrays.copyOf(prefix, prefix.length + 10);
        for (int i = 0; i < 8; i++) {
            l[prefix.length + i] = (byte) (kid >>> (56 - 8 * i));
        }
        l[prefix.length + 8] = (byte) (suite.id() >>> 8);
        l[prefix.length + 9] = (byte) suite.id();
        return l;
    }

    /** Returns {sframe_key, sframe_salt}. */
    static byte[][] derive(CipherSuite suite, long kid, byte[] baseKey) {
        byte[] secret = suite.kdf().extract(new byte[0], baseKey);
        try {
            byte[] key = suite.kdf().expand(secret, label(KEY_LABEL, kid, suite), suite.keyLength());
            byte[] salt = suite.kdf().expand(secret, label(SALT_LABEL, kid, suite), suite.nonceLength());
            return new byte[][] {key, salt};
        } finally {
            Arrays.fill(secret, (byte) 0);
        }
    }
}
