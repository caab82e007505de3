package dev.veil.webrtc.srtp;

import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Arrays;

/**
 * HMAC-SHA1 (RFC 2104) on one reused {@link MessageDigest}, writing into the caller's array: no allocation per
 * message (JCE's {@code Mac.doFinal} allocates its inner and outer digests). Not thread-safe.
 */
final class HmacSha1 {
    static final int LENGTH = 20;
    private static final int BLOCK = 64;
    private final MessageDigest md;
    private final byte[] ipad = new byte[BLOCK];
    private final byte[] opad = new byte[BLOCK];
    private final byte[] inner = new byte[LENGTH];

    HmacSha1(byte[] key) throws GeneralSecurityException {
        md = MessageDigest.getInstance("SHA-1");
        byte[] k = key.length > BLOCK ? md.digest(key) : key;
        for (int i = 0; i < BLOCK; i++) {
            byte b = i < k.length ? k[i] : 0;
            ipad[i] = (byte) (b ^ 0x36);
            opad[i] = (byte) (b ^ 0x5c);
        }
        if (k != key) {
            Arrays.fill(k, (byte) 0);
        }
        md.update(ipad);
    }

    /** Adds message bytes. */
    void update(byte[] b, int off, int len) {
        md.update(b, off, len);
    }

    /** Finishes the message: the 20-byte MAC into {@code out[off..]}; ready for the next message. */
    void doFinal(byte[] out, int off) {
        try {
            md.digest(inner, 0, LENGTH);
            md.update(opad);
            md.update(inner);
            md.digest(out, off, LENGTH);
        } catch (java.security.DigestException e) {
            throw new IllegalStateException(e);
        }
        md.update(ipad);
    }
}
