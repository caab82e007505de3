package dev.veil.webrtc.srtp;

import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import javax.crypto.Cipher;
import javax.crypto.Mac;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * AES_CM_128_HMAC_SHA1_80 (<a href="https://www.rfc-editor.org/rfc/rfc3711#section-4.1.1">RFC 3711 §4.1.1</a>,
 * §4.2.1).
 *
 * <pre>
 * SRTP:  IV  = (k_s * 2^16) XOR (SSRC * 2^64) XOR (i * 2^16)        i = ROC || SEQ (48 bits)
 *        tag = HMAC-SHA1(k_a, header || encrypted payload || ROC)[0..10)
 *
 * SRTCP: IV  = (k_s * 2^16) XOR (SSRC * 2^64) XOR (SRTCP index * 2^16)
 *        packet = header(8) || encrypted rest || E(1) SRTCP index(31) || tag(10)
 *        tag = HMAC-SHA1(k_a, header || encrypted rest || E || index)[0..10)
 * </pre>
 */
final class AesCmHmacSrtpCipher extends SrtpCipher {
    private static final int TAG = 10;

    private final SecretKeySpec rtpKey;
    private final SecretKeySpec rtcpKey;
    private final byte[] rtpSalt;
    private final byte[] rtcpSalt;
    private final Cipher rtpCtr;
    private final Cipher rtcpCtr;
    private final HmacSha1 rtpHmac;
    /** AES-CM on the JDK's intrinsic counter mode (no allocation per packet), or null: {@link #rtpCtr} then. */
    private final JdkAes.Ctr rtpFastCtr;
    private final Mac rtcpMac;
    /** SRTCP's HMAC and AES-CM for the in-place receive path (no allocation per packet); the CTR null without JdkAes. */
    private final HmacSha1 rtcpHmac;
    private final JdkAes.Ctr rtcpFastCtr;
    private final byte[] iv = new byte[16];
    private final byte[] rocBytes = new byte[4];
    private final byte[] fullTag = new byte[20];
    private final byte[] computed = new byte[TAG];
    private final byte[] received = new byte[TAG];

    AesCmHmacSrtpCipher(SrtpProfile profile, byte[] masterKey, byte[] masterSalt) throws GeneralSecurityException {
        this(profile, masterKey, masterSalt, true);
    }

    /** @param fast use {@link JdkAes} when available (false: public JCE only, for tests of both paths) */
    AesCmHmacSrtpCipher(SrtpProfile profile, byte[] masterKey, byte[] masterSalt, boolean fast)
            throws GeneralSecurityException {
        int keyLen = profile.keyLength();
        int saltLen = profile.saltLength();
        SrtpKdf kdf = SrtpKdf.of(masterKey, masterSalt);
        int authLen = profile.authKeyLength();
        rtpKey = new SecretKeySpec(kdf.derive(SrtpKdf.LABEL_RTP_ENCRYPTION, keyLen), "AES");
        rtcpKey = new SecretKeySpec(kdf.derive(SrtpKdf.LABEL_RTCP_ENCRYPTION, keyLen),
                "AES");
        rtpSalt = kdf.derive(SrtpKdf.LABEL_RTP_SALT, saltLen);
        rtcpSalt = kdf.derive(SrtpKdf.LABEL_RTCP_SALT, saltLen);
        rtpCtr = Cipher.getInstance("AES/CTR/NoPadding");
        rtcpCtr = Cipher.getInstance("AES/CTR/NoPadding");
        byte[] rtpAuthKey = kdf.derive(SrtpKdf.LABEL_RTP_AUTH, authLen);
        rtpHmac = new HmacSha1(rtpAuthKey);
        java.util.Arrays.fill(rtpAuthKey, (byte) 0);
        rtpFastCtr = fastCtr(fast, rtpKey);
        rtcpFastCtr = fastCtr(fast, rtcpKey);
        byte[] rtcpAuthKey = kdf.derive(SrtpKdf.LABEL_RTCP_AUTH, authLen);
        rtcpMac = Mac.getInstance("HmacSHA1");
        rtcpMac.init(new SecretKeySpec(rtcpAuthKey, "HmacSHA1"));
        rtcpHmac = new HmacSha1(rtcpAuthKey);
        java.util.Arrays.fill(rtcpAuthKey, (byte) 0);
    }

    private static JdkAes.Ctr fastCtr(boolean fast, SecretKeySpec key) throws GeneralSecurityException {
        if (!fast || !JdkAes.AVAILABLE) {
            return null;
        }
        byte[] k = key.getEncoded();
        try {
            return new JdkAes.Ctr(k);
        } finally {
            java.util.Arrays.fill(k, (byte) 0);
        }
    }

    @Override
    int tagLength() {
        return TAG;
    }

    /** The AES-CM counter block for (salt, SSRC, 48-bit index); visible for the RFC 3711 B.2 test. */
    static void counterBlock(byte[] out, byte[] salt, int ssrc, long index) {
        java.util.Arrays.fill(out, (byte) 0);
        System.arraycopy(salt, 0, out, 0, 14);
        out[4] ^= (byte) (ssrc >>> 24);
        out[5] ^= (byte) (ssrc >>> 16);
        out[6] ^= (byte) (ssrc >>> 8);
        out[7] ^= (byte) ssrc;
        out[8] ^= (byte) (index >>> 40);
        out[9] ^= (byte) (index >>> 32);
        out[10] ^= (byte) (index >>> 24);
        out[11] ^= (byte) (index >>> 16);
        out[12] ^= (byte) (index >>> 8);
        out[13] ^= (byte) index;
    }

    @Override
    byte[] protectRtp(byte[] packet, int off, int len, int headerLength, int ssrc, long index)
            throws GeneralSecurityException {
        byte[] out = new byte[len + TAG];
        System.arraycopy(packet, off, out, 0, len);
        protectRtpInPlace(out, 0, len, headerLength, ssrc, index);
        return out;
    }

    @Override
    int protectRtpInPlace(byte[] buf, int off, int len, int headerLength, int ssrc, long index)
            throws GeneralSecurityException {
        cryptRtp(buf, off + headerLength, len - headerLength, ssrc, index);
        rtpHmac.update(buf, off, len);
        putInt(rocBytes, 0, (int) (index >>> 16));
        rtpHmac.update(rocBytes, 0, 4);
        rtpHmac.doFinal(fullTag, 0);
        System.arraycopy(fullTag, 0, buf, off + len, TAG);
        return len + TAG;
    }

    /** XORs the RTP key stream for (SSRC, index) into {@code buf[off, off+len)}, in place. */
    private void cryptRtp(byte[] buf, int off, int len, int ssrc, long index) throws GeneralSecurityException {
        counterBlock(iv, rtpSalt, ssrc, index);
        if (rtpFastCtr != null) {
            rtpFastCtr.start(iv, 0);
            rtpFastCtr.crypt(buf, off, len, buf, off);
        } else {
            rtpCtr.init(Cipher.ENCRYPT_MODE, rtpKey, new IvParameterSpec(iv));
            rtpCtr.doFinal(buf, off, len, buf, off);
        }
    }

    /** Checks the tag of the SRTP packet {@code packet[off, off+len)} (constant time). */
    private void verifyRtp(byte[] packet, int off, int len, long index) throws SrtpException {
        int authLen = len - TAG;
        rtpHmac.update(packet, off, authLen);
        putInt(rocBytes, 0, (int) (index >>> 16));
        rtpHmac.update(rocBytes, 0, 4);
        rtpHmac.doFinal(fullTag, 0);
        int diff = 0;
        for (int i = 0; i < TAG; i++) {
            diff |= fullTag[i] ^ packet[off + authLen + i];
        }
        if (diff != 0) {
            throw new SrtpException(SrtpRejection.AUTH_FAIL, "SRTP authentication tag mismatch");
        }
    }

    @Override
    byte[] unprotectRtp(byte[] packet, int off, int len, int headerLength, int ssrc, long index)
            throws GeneralSecurityException {
        verifyRtp(packet, off, len, index);
        int authLen = len - TAG;
        byte[] out = new byte[authLen];
        System.arraycopy(packet, off, out, 0, authLen);
        cryptRtp(out, headerLength, authLen - headerLength, ssrc, index);
        return out;
    }

    @Override
    int unprotectRtpInPlace(byte[] buf, int off, int len, int headerLength, int ssrc, long index)
            throws GeneralSecurityException {
        verifyRtp(buf, off, len, index);
        int authLen = len - TAG;
        cryptRtp(buf, off + headerLength, authLen - headerLength, ssrc, index);
        return authLen;
    }

    @Override
    byte[] protectRtcp(byte[] packet, int off, int len, int ssrc, int srtcpIndex, boolean encrypt)
            throws GeneralSecurityException {
        byte[] out = new byte[len + SRTCP_INDEX_LENGTH + TAG];
        System.arraycopy(packet, off, out, 0, RTCP_HEADER_LENGTH);
        if (encrypt) {
            counterBlock(iv, rtcpSalt, ssrc, srtcpIndex & 0x7fffffffL);
            rtcpCtr.init(Cipher.ENCRYPT_MODE, rtcpKey, new IvParameterSpec(iv));
            rtcpCtr.doFinal(packet, off + RTCP_HEADER_LENGTH, len - RTCP_HEADER_LENGTH, out, RTCP_HEADER_LENGTH);
        } else {
            System.arraycopy(packet, off + RTCP_HEADER_LENGTH, out, RTCP_HEADER_LENGTH, len - RTCP_HEADER_LENGTH);
        }
        putInt(out, len, (encrypt ? 0x80000000 : 0) | (srtcpIndex & 0x7fffffff));
        rtcpMac.update(out, 0, len + SRTCP_INDEX_LENGTH);
        rtcpMac.doFinal(fullTag, 0);
        System.arraycopy(fullTag, 0, out, len + SRTCP_INDEX_LENGTH, TAG);
        return out;
    }

    @Override
    byte[] unprotectRtcp(byte[] packet, int off, int len, int ssrc, int srtcpIndex, boolean encrypted)
            throws GeneralSecurityException {
        int authLen = len - TAG;
        rtcpMac.update(packet, off, authLen);
        rtcpMac.doFinal(fullTag, 0);
        if (!tagMatches(packet, off + authLen)) {
            throw new SrtpException(SrtpRejection.AUTH_FAIL, "SRTCP authentication tag mismatch");
        }
        int plainLen = authLen - SRTCP_INDEX_LENGTH;
        byte[] out = new byte[plainLen];
        System.arraycopy(packet, off, out, 0, RTCP_HEADER_LENGTH);
        if (encrypted) {
            counterBlock(iv, rtcpSalt, ssrc, srtcpIndex & 0x7fffffffL);
            rtcpCtr.init(Cipher.DECRYPT_MODE, rtcpKey, new IvParameterSpec(iv));
            rtcpCtr.doFinal(packet, off + RTCP_HEADER_LENGTH, plainLen - RTCP_HEADER_LENGTH, out, RTCP_HEADER_LENGTH);
        } else {
            System.arraycopy(packet, off + RTCP_HEADER_LENGTH, out, RTCP_HEADER_LENGTH, plainLen - RTCP_HEADER_LENGTH);
        }
        return out;
    }

    @Override
    int unprotectRtcpInPlace(byte[] buf, int off, int len, int ssrc, int srtcpIndex, boolean encrypted)
            throws GeneralSecurityException {
        int authLen = len - TAG;
        rtcpHmac.update(buf, off, authLen);
        rtcpHmac.doFinal(fullTag, 0);
        int diff = 0;
        for (int i = 0; i < TAG; i++) { // constant time
            diff |= fullTag[i] ^ buf[off + authLen + i];
        }
        if (diff != 0) {
            throw new SrtpException(SrtpRejection.AUTH_FAIL, "SRTCP authentication tag mismatch");
        }
        int plainLen = authLen - SRTCP_INDEX_LENGTH;
        if (encrypted) {
            counterBlock(iv, rtcpSalt, ssrc, srtcpIndex & 0x7fffffffL);
            if (rtcpFastCtr != null) {
                rtcpFastCtr.start(iv, 0);
                rtcpFastCtr.crypt(buf, off + RTCP_HEADER_LENGTH, plainLen - RTCP_HEADER_LENGTH, buf,
                        off + RTCP_HEADER_LENGTH);
            } else {
                rtcpCtr.init(Cipher.DECRYPT_MODE, rtcpKey, new IvParameterSpec(iv));
                rtcpCtr.doFinal(buf, off + RTCP_HEADER_LENGTH, plainLen - RTCP_HEADER_LENGTH, buf,
                        off + RTCP_HEADER_LENGTH);
            }
        }
        return plainLen;
    }

    @Override
    int srtcpIndexOffset(int len) {
        return len - TAG - SRTCP_INDEX_LENGTH;
    }

    private boolean tagMatches(byte[] packet, int tagOffset) {
        System.arraycopy(fullTag, 0, computed, 0, TAG);
        System.arraycopy(packet, tagOffset, received, 0, TAG);
        return MessageDigest.isEqual(computed, received);
    }
}
