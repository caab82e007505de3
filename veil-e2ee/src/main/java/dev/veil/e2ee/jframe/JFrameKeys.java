package dev.veil.e2ee.jframe;

import dev.veil.e2ee.kdf.Hkdf;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import javax.crypto.spec.SecretKeySpec;

/**
 * Jitsi's frame key schedule (lib-jitsi-meet {@code crypto-utils.ts}):
 *
 * <pre>
 *   aes_key = HKDF-SHA256(IKM = material, salt = "JFrameEncryptionKey", info = "", L = 16)   -- AES-128-GCM key
 *   next    = HKDF-SHA256(IKM = material, salt = "JFrameRatchetKey",    info = "", L = 32)   -- KeyRatchet.JFRAME
 * </pre>
 */
final class JFrameKeys {
    static final byte[] ENCRYPTION_SALT = "JFrameEncryptionKey".getBytes(StandardCharsets.US_ASCII);
    static final int AES_KEY_LENGTH = 16;

    private JFrameKeys() {
    }

    /** The AES-128 key bytes for {@code material}. */
    static byte[] frameKey(byte[] material) {
        return Hkdf.SHA256.derive(ENCRYPTION_SALT, material, new byte[0], AES_KEY_LENGTH);
    }

    static SecretKeySpec aesKey(byte[] material) {
        byte[] k = frameKey(material);
        try {
            return new SecretKeySpec(k, "AES");
        } finally {
            Arrays.fill(k, (byte) 0);
        }
    }

    /** One ring slot: the AES key, and the material it came from (null for a raw key, which never ratchets). */
    static final class Slot {
        final SecretKeySpec aesKey;
        final byte[] material;

        Slot(SecretKeySpec aesKey, byte[] material) {
            this.aesKey = aesKey;
            this.material = material;
        }

        static Slot fromMaterial(byte[] material) {
            if (material.length == 0) {
                throw new IllegalArgumentException("empty key material");
            }
            return new Slot(aesKey(material), material);
        }

        static Slot raw(byte[] aesKey) {
            if (aesKey.length != 16 && aesKey.length != 24 && aesKey.length != 32) {
                throw new IllegalArgumentException("raw AES key must be 16, 24 or 32 bytes, got " + aesKey.length);
            }
            try {
                return new Slot(new SecretKeySpec(aesKey, "AES"), null);
            } finally {
                Arrays.fill(aesKey, (byte) 0);
            }
        }

        void destroy() {
            if (material != null) {
                Arrays.fill(material, (byte) 0);
            }
        }

        @Override
        public String toString() {
            return "Slot[redacted]";
        }
    }
}
