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
 *   P    = PBKDF2-HMAC-SHA256(password = UTF8(passphrase), salt, c = 100,000, dkLen = 16)      the seed's step
 *
 *   SFrame: each sender draws a random 64-bit KID per connection (and never reuses it);
 *           base_key = HKDF-SHA256(salt = "", IKM = P, info = "Veil 1.0 passphrase sframe" ‖ KID (8 B BE), 32)
 *           and the RFC 9605 schedule of base_key under that KID. A receiver derives the key of a KID it has not
 *           seen from the sender's P and the KID on the wire.
 *   JFrame: each sender draws a random 16-byte salt per connection and publishes it in its
 *           signaling_notify_metadata ("e2ee_passphrase_salt", base64url);
 *           aes_key = HKDF-SHA256(salt = "", IKM = P, info = "Veil 1.0 passphrase jframe" ‖ salt (16), 16)
 * </pre>
 *
 * The 0x00 separator keeps ("room", "x1") and ("room x", "1")-style pairs apart. The participant id is the
 * connection id that the server hands out, so the server could give two members (or one member across a
 * reconnect) the same P: the per-connection random KID or salt, drawn by the sender itself, is what keeps their
 * (key, nonce) pairs apart (docs/PROTOCOL.md §2.5).
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

    /** Length of the JFrame per-connection salt. */
    public static final int SALT_LENGTH = 16;
    /** The member of {@code signaling_notify_metadata} that carries the JFrame salt (base64url, no padding). */
    public static final String SALT_METADATA_MEMBER = "e2ee_passphrase_salt";
    private static final byte[] SFRAME_LABEL = "Veil 1.0 passphrase sframe".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] JFRAME_LABEL = "Veil 1.0 passphrase jframe".getBytes(StandardCharsets.US_ASCII);

    /** A sender's random per-connection SFrame KID (64 bits from {@code random}). */
    public static long randomKid(java.security.SecureRandom random) {
        return random.nextLong();
    }

    /** A sender's random per-connection JFrame salt. */
    public static byte[] randomSalt(java.security.SecureRandom random) {
        byte[] s = new byte[SALT_LENGTH];
        random.nextBytes(s);
        return s;
    }

    /** The SFrame base key (32 bytes) of the KID {@code kid} of a sender whose passphrase key is {@code p}. */
    public static SecretBytes sframeBaseKey(SecretBytes p, long kid) {
        byte[] info = Arrays.copyOf(SFRAME_LABEL, SFRAME_LABEL.length + 8);
        for (int i = 0; i < 8; i++) {
            info[SFRAME_LABEL.length + i] = (byte) (kid >>> (56 - 8 * i));
        }
        return derive(p, info, 32);
    }

    /** The JFrame AES-128 key of a sender whose passphrase key is {@code p} and whose salt is {@code salt}. */
    public static SecretBytes jframeKey(SecretBytes p, byte[] salt) {
        if (salt == null || salt.length != SALT_LENGTH) {
            throw new IllegalArgumentException("salt must be " + SALT_LENGTH + " bytes");
        }
        byte[] info = Arrays.copyOf(JFRAME_LABEL, JFRAME_LABEL.length + SALT_LENGTH);
        System.arraycopy(salt, 0, info, JFRAME_LABEL.length, SALT_LENGTH);
        return derive(p, info, KEY_LENGTH);
    }

    private static SecretBytes derive(SecretBytes p, byte[] info, int length) {
        byte[] ikm = Objects.requireNonNull(p, "passphrase key").toByteArray();
        byte[] out = dev.veil.e2ee.kdf.Hkdf.SHA256.derive(new byte[0], ikm, info, length);
        try {
            return SecretBytes.copyOf(out);
        } finally {
            Arrays.fill(ikm, (byte) 0);
            Arrays.fill(out, (byte) 0);
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
