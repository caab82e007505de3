package dev.veil.e2ee.passphrase;

import dev.veil.e2ee.util.SecretBytes;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Arrays;
import java.util.Objects;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Passphrase mode (Jitsi's first E2EE design, per-participant since May 2020): every sender's key comes from a
 * passphrase that all members know.
 *
 * <pre>
 *   salt = UTF8(room) ‖ 0x00 ‖ UTF8(participant id)
 *   key  = PBKDF2-HMAC-SHA256(password = UTF8(passphrase), salt, c = 100,000, dkLen = 16)
 * </pre>
 *
 * The 0x00 separator keeps ("room", "x1") and ("room x", "1")-style pairs apart. JFrame uses the key directly as
 * its AES-128 key ({@code setRawKey}); SFrame uses it as the base key of the RFC 9605 key schedule.
 *
 * <p>A passphrase is a low-entropy secret: anyone who records a frame can test guesses offline at the cost of
 * 100,000 HMACs per guess. See docs/SECURITY.md §3.
 */
public final class PassphraseKeys {
    /** PBKDF2 iteration count. */
    public static final int ITERATIONS = 100_000;
    /** Derived key length in bytes (AES-128). */
    public static final int KEY_LENGTH = 16;

    private PassphraseKeys() {
    }

    /** The 16-byte key of {@code participantId}'s frames in {@code room}. */
    public static SecretBytes deriveSenderKey(String passphrase, String room, String participantId) {
        Objects.requireNonNull(passphrase, "passphrase");
        if (passphrase.isEmpty()) {
            throw new IllegalArgumentException("empty passphrase");
        }
        byte[] password = passphrase.getBytes(StandardCharsets.UTF_8);
        try {
            byte[] key = pbkdf2Sha256(password, salt(room, participantId), ITERATIONS, KEY_LENGTH);
            try {
                return SecretBytes.copyOf(key);
            } finally {
                Arrays.fill(key, (byte) 0);
            }
        } finally {
            Arrays.fill(password, (byte) 0);
        }
    }

    /** {@code UTF8(room) ‖ 0x00 ‖ UTF8(participantId)}. */
    public static byte[] salt(String room, String participantId) {
        byte[] r = Objects.requireNonNull(room, "room").getBytes(StandardCharsets.UTF_8);
        byte[] p = Objects.requireNonNull(participantId, "participantId").getBytes(StandardCharsets.UTF_8);
        byte[] s = new byte[r.length + 1 + p.length];
        System.arraycopy(r, 0, s, 0, r.length);
        System.arraycopy(p, 0, s, r.length + 1, p.length);
        return s;
    }

    /** PBKDF2 (RFC 8018 section 5.2) with HMAC-SHA256; the password must not be empty. */
    static byte[] pbkdf2Sha256(byte[] password, byte[] salt, int iterations, int length) {
        if (iterations < 1 || length < 1) {
            throw new IllegalArgumentException("iterations and length must be positive");
        }
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(password, "HmacSHA256"));
            int hLen = mac.getMacLength();
            byte[] out = new byte[length];
            byte[] u = new byte[hLen];
            byte[] t = new byte[hLen];
            for (int block = 1, pos = 0; pos < length; block++) {
                mac.update(salt);
                mac.update(new byte[] {(byte) (block >>> 24), (byte) (block >>> 16), (byte) (block >>> 8),
                        (byte) block});
                mac.doFinal(u, 0);
                System.arraycopy(u, 0, t, 0, hLen);
                for (int i = 1; i < iterations; i++) {
                    mac.update(u);
                    mac.doFinal(u, 0);
                    for (int j = 0; j < hLen; j++) {
                        t[j] ^= u[j];
                    }
                }
                int n = Math.min(hLen, length - pos);
                System.arraycopy(t, 0, out, pos, n);
                pos += n;
            }
            Arrays.fill(u, (byte) 0);
            Arrays.fill(t, (byte) 0);
            return out;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 unavailable", e);
        }
    }
}
