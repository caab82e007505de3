package dev.veil.webrtc.srtp;

import java.security.GeneralSecurityException;
import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * The SRTP key derivation function with the AES-CM PRF and a key derivation rate of zero
 * (<a href="https://www.rfc-editor.org/rfc/rfc3711#section-4.3">RFC 3711 §4.3</a>).
 *
 * <pre>
 *   key_id = label || r          (r = index DIV kdr = 0, 48 bits)
 *   x      = key_id XOR master_salt   (aligned on the right of the 112-bit salt)
 *   out    = AES-CM(master_key, IV = x * 2^16) keystream, truncated to the wanted length
 * </pre>
 *
 * <p>The label lands in octet 7 of the 16-octet counter block. A 96-bit (GCM, RFC 7714 §11) master salt is
 * placed in the first 12 octets of the same 112-bit field with the two octets after it zero, as libsrtp and
 * Pion do.
 */
final class SrtpKdf {
    static final int LABEL_RTP_ENCRYPTION = 0x00;
    static final int LABEL_RTP_AUTH = 0x01;
    static final int LABEL_RTP_SALT = 0x02;
    static final int LABEL_RTCP_ENCRYPTION = 0x03;
    static final int LABEL_RTCP_AUTH = 0x04;
    static final int LABEL_RTCP_SALT = 0x05;

    private final Cipher aes;
    private final byte[] masterSalt;

    private SrtpKdf(Cipher aes, byte[] masterSalt) {
        this.aes = aes;
        this.masterSalt = masterSalt;
    }

    /**
     * A KDF for one master key and salt: one AES block cipher keyed once, from which every session key, salt and
     * auth key is derived (a session needs six; one {@code Cipher} lookup and key schedule per label made creating
     * a session cost more than a thousand packets).
     */
    static SrtpKdf of(byte[] masterKey, byte[] masterSalt) throws GeneralSecurityException {
        if (masterSalt.length > 14) {
            throw new GeneralSecurityException("master salt longer than 112 bits");
        }
        Cipher aes = Cipher.getInstance("AES/ECB/NoPadding");
        aes.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(masterKey, "AES"));
        return new SrtpKdf(aes, masterSalt.clone());
    }

    /** The {@code length} bytes of key material for {@code label}. */
    byte[] derive(int label, int length) throws GeneralSecurityException {
        byte[] iv = new byte[16];
        System.arraycopy(masterSalt, 0, iv, 0, masterSalt.length);
        iv[7] ^= (byte) label;
        int blocks = (length + 15) / 16;
        byte[] counters = new byte[blocks * 16];
        for (int b = 0; b < blocks; b++) {
            System.arraycopy(iv, 0, counters, b * 16, 16);
            increment(iv);
        }
        byte[] stream = aes.doFinal(counters);
        return length == stream.length ? stream : java.util.Arrays.copyOf(stream, length);
    }

    /** Adds one to a 128-bit big-endian counter block, as AES/CTR does. */
    private static void increment(byte[] block) {
        for (int i = block.length - 1; i >= 0; i--) {
            if (++block[i] != 0) {
                return;
            }
        }
    }

    static byte[] derive(byte[] masterKey, byte[] masterSalt, int label, int length) throws GeneralSecurityException {
        return of(masterKey, masterSalt).derive(label, length);
    }

    /** {@code length} bytes of AES counter-mode keystream starting at counter block {@code iv}. */
    static byte[] keystream(byte[] key, byte[] iv, int length) throws GeneralSecurityException {
        Cipher c = Cipher.getInstance("AES/CTR/NoPadding");
        c.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key, "AES"), new IvParameterSpec(iv));
        return c.doFinal(new byte[length]);
    }
}
