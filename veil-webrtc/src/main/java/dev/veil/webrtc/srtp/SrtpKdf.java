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

    private SrtpKdf() {
    }

    static byte[] derive(byte[] masterKey, byte[] masterSalt, int label, int length) throws GeneralSecurityException {
        if (masterSalt.length > 14) {
            throw new GeneralSecurityException("master salt longer than 112 bits");
        }
        byte[] iv = new byte[16];
        System.arraycopy(masterSalt, 0, iv, 0, masterSalt.length);
        iv[7] ^= (byte) label;
        return keystream(masterKey, iv, length);
    }

    /** {@code length} bytes of AES counter-mode keystream starting at counter block {@code iv}. */
    static byte[] keystream(byte[] key, byte[] iv, int length) throws GeneralSecurityException {
        Cipher c = Cipher.getInstance("AES/CTR/NoPadding");
        c.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key, "AES"), new IvParameterSpec(iv));
        return c.doFinal(new byte[length]);
    }
}
