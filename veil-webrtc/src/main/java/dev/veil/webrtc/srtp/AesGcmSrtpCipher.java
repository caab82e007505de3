package dev.veil.webrtc.srtp;

import java.security.GeneralSecurityException;
import java.security.InvalidAlgorithmParameterException;
import java.util.Arrays;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * AEAD_AES_128_GCM for SRTP and SRTCP (<a href="https://www.rfc-editor.org/rfc/rfc7714">RFC 7714</a>).
 *
 * <pre>
 * SRTP IV (§8.1):           SRTCP IV (§9.1):
 *   0  0  | SSRC | ROC | SEQ   0  0 | SSRC | 0  0 | 0 SRTCP index(31)
 *   XOR 96-bit session salt     XOR 96-bit session salt
 *
 * SRTP:  AAD = RTP header (with CSRCs and extension); packet = header || ciphertext || tag(16)
 * SRTCP: AAD = header(8) || E || index;               packet = header || ciphertext || tag(16) || E || index
 *        (E = 0: AAD = whole RTCP packet || E || index and the plaintext is empty, §9.2)
 * </pre>
 */
final class AesGcmSrtpCipher extends SrtpCipher {
    private static final int TAG = 16;
    private static final int IV_LENGTH = 12;

    private final SecretKeySpec rtpKey;
    private final SecretKeySpec rtcpKey;
    private final byte[] rtpSalt;
    private final byte[] rtcpSalt;
    private final Cipher rtpGcm;
    private final Cipher rtcpGcm;
    private final byte[] iv = new byte[IV_LENGTH];
    private final byte[] lastRtpEncryptIv = new byte[IV_LENGTH];
    private final byte[] lastRtcpEncryptIv = new byte[IV_LENGTH];
    private boolean rtpEncrypted;
    private boolean rtcpEncrypted;
    private final byte[] trailer = new byte[SRTCP_INDEX_LENGTH];
    /** RTP's AES-GCM on the JDK's intrinsics (no allocation per packet), or null: {@link #rtpGcm} then. */
    private final JdkAes.Gcm rtpFast;
    /** SRTCP's, for the in-place receive path (encrypted packets), or null: {@link #rtcpGcm} then. */
    private final JdkAes.Gcm rtcpFast;
    /** An encrypted SRTCP packet's AAD, header(8) || E || index(4), gathered (the two parts are not adjacent). */
    private final byte[] rtcpAad = new byte[RTCP_HEADER_LENGTH + SRTCP_INDEX_LENGTH];

    AesGcmSrtpCipher(SrtpProfile profile, byte[] masterKey, byte[] masterSalt) throws GeneralSecurityException {
        this(profile, masterKey, masterSalt, true);
    }

    /** @param fast use {@link JdkAes} when available (false: public JCE only, for tests of both paths) */
    AesGcmSrtpCipher(SrtpProfile profile, byte[] masterKey, byte[] masterSalt, boolean fast)
            throws GeneralSecurityException {
        int keyLen = profile.keyLength();
        int saltLen = profile.saltLength();
        SrtpKdf kdf = SrtpKdf.of(masterKey, masterSalt);
        rtpKey = new SecretKeySpec(kdf.derive(SrtpKdf.LABEL_RTP_ENCRYPTION, keyLen), "AES");
        rtcpKey = new SecretKeySpec(kdf.derive(SrtpKdf.LABEL_RTCP_ENCRYPTION, keyLen),
                "AES");
        rtpSalt = kdf.derive(SrtpKdf.LABEL_RTP_SALT, saltLen);
        rtcpSalt = kdf.derive(SrtpKdf.LABEL_RTCP_SALT, saltLen);
        rtpGcm = Cipher.getInstance("AES/GCM/NoPadding");
        rtcpGcm = Cipher.getInstance("AES/GCM/NoPadding");
        rtpFast = fastGcm(fast, rtpKey);
        rtcpFast = fastGcm(fast, rtcpKey);
    }

    private static JdkAes.Gcm fastGcm(boolean fast, SecretKeySpec key) throws GeneralSecurityException {
        if (!fast || !JdkAes.AVAILABLE) {
            return null;
        }
        byte[] k = key.getEncoded();
        try {
            return new JdkAes.Gcm(k);
        } finally {
            Arrays.fill(k, (byte) 0);
        }
    }

    /** For the RFC 7714 vectors, which give session keys rather than master keys. */
    AesGcmSrtpCipher(byte[] sessionKey, byte[] sessionSalt) throws GeneralSecurityException {
        this(sessionKey, sessionSalt, true);
    }

    /** For the RFC 7714 vectors; {@code fast} as in the main constructor. */
    AesGcmSrtpCipher(byte[] sessionKey, byte[] sessionSalt, boolean fast) throws GeneralSecurityException {
        rtpKey = new SecretKeySpec(sessionKey.clone(), "AES");
        rtcpKey = new SecretKeySpec(sessionKey.clone(), "AES");
        rtpSalt = sessionSalt.clone();
        rtcpSalt = sessionSalt.clone();
        rtpGcm = Cipher.getInstance("AES/GCM/NoPadding");
        rtcpGcm = Cipher.getInstance("AES/GCM/NoPadding");
        rtpFast = fastGcm(fast, rtpKey);
        rtcpFast = fastGcm(fast, rtcpKey);
    }

    @Override
    int tagLength() {
        return TAG;
    }

    /** A copy of the SRTP IV for (SSRC, index); for the RFC 7714 vector tests. */
    byte[] rtpIvFor(int ssrc, long index) {
        rtpIv(ssrc, index);
        return iv.clone();
    }

    /** A copy of the SRTCP IV for (SSRC, SRTCP index); for the RFC 7714 vector tests. */
    byte[] rtcpIvFor(int ssrc, int srtcpIndex) {
        rtcpIv(ssrc, srtcpIndex);
        return iv.clone();
    }

    private void rtpIv(int ssrc, long index) {
        System.arraycopy(rtpSalt, 0, iv, 0, IV_LENGTH);
        int roc = (int) (index >>> 16);
        iv[2] ^= (byte) (ssrc >>> 24);
        iv[3] ^= (byte) (ssrc >>> 16);
        iv[4] ^= (byte) (ssrc >>> 8);
        iv[5] ^= (byte) ssrc;
        iv[6] ^= (byte) (roc >>> 24);
        iv[7] ^= (byte) (roc >>> 16);
        iv[8] ^= (byte) (roc >>> 8);
        iv[9] ^= (byte) roc;
        iv[10] ^= (byte) (index >>> 8);
        iv[11] ^= (byte) index;
    }

    private void rtcpIv(int ssrc, int srtcpIndex) {
        System.arraycopy(rtcpSalt, 0, iv, 0, IV_LENGTH);
        int idx = srtcpIndex & 0x7fffffff;
        iv[2] ^= (byte) (ssrc >>> 24);
        iv[3] ^= (byte) (ssrc >>> 16);
        iv[4] ^= (byte) (ssrc >>> 8);
        iv[5] ^= (byte) ssrc;
        iv[8] ^= (byte) (idx >>> 24);
        iv[9] ^= (byte) (idx >>> 16);
        iv[10] ^= (byte) (idx >>> 8);
        iv[11] ^= (byte) idx;
    }

    /**
     * SunJCE refuses to initialise GCM encryption twice in a row with the same key and IV, which legitimately
     * happens when the same RTP packet (same index, same plaintext) is protected again for a retransmission.
     * Re-keying through a different IV first clears that guard; the real IV is then used exactly as asked.
     */
    private static void initEncrypt(Cipher gcm, SecretKeySpec key, byte[] iv, byte[] lastIv, boolean used)
            throws GeneralSecurityException {
        if (used && Arrays.equals(iv, lastIv)) {
            byte[] other = iv.clone();
            other[0] ^= 1;
            gcm.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(TAG * 8, other));
        }
        try {
            gcm.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(TAG * 8, iv));
        } catch (InvalidAlgorithmParameterException e) {
            throw new SrtpException(SrtpRejection.CRYPTO_ERROR, "GCM init failed: " + e.getMessage());
        }
        System.arraycopy(iv, 0, lastIv, 0, iv.length);
    }

    @Override
    byte[] protectRtp(byte[] packet, int off, int len, int headerLength, int ssrc, long index)
            throws GeneralSecurityException {
        if (rtpFast != null) {
            byte[] out = new byte[len + TAG];
            System.arraycopy(packet, off, out, 0, len);
            protectRtpInPlace(out, 0, len, headerLength, ssrc, index);
            return out;
        }
        rtpIv(ssrc, index);
        initEncrypt(rtpGcm, rtpKey, iv, lastRtpEncryptIv, rtpEncrypted);
        rtpEncrypted = true;
        byte[] out = new byte[len + TAG];
        System.arraycopy(packet, off, out, 0, headerLength);
        rtpGcm.updateAAD(packet, off, headerLength);
        rtpGcm.doFinal(packet, off + headerLength, len - headerLength, out, headerLength);
        return out;
    }

    @Override
    byte[] unprotectRtp(byte[] packet, int off, int len, int headerLength, int ssrc, long index)
            throws GeneralSecurityException {
        if (rtpFast != null) {
            rtpIv(ssrc, index);
            byte[] out = new byte[len - TAG];
            System.arraycopy(packet, off, out, 0, headerLength);
            if (!rtpFast.open(iv, packet, off, headerLength, packet, off + headerLength, len - TAG - headerLength,
                    out, headerLength)) {
                throw new SrtpException(SrtpRejection.AUTH_FAIL, "SRTP GCM tag mismatch");
            }
            return out;
        }
        rtpIv(ssrc, index);
        rtpGcm.init(Cipher.DECRYPT_MODE, rtpKey, new GCMParameterSpec(TAG * 8, iv));
        rtpGcm.updateAAD(packet, off, headerLength);
        byte[] out = new byte[len - TAG];
        System.arraycopy(packet, off, out, 0, headerLength);
        try {
            rtpGcm.doFinal(packet, off + headerLength, len - headerLength, out, headerLength);
        } catch (AEADBadTagException e) {
            throw new SrtpException(SrtpRejection.AUTH_FAIL, "SRTP GCM tag mismatch");
        }
        return out;
    }

    @Override
    int protectRtpInPlace(byte[] buf, int off, int len, int headerLength, int ssrc, long index)
            throws GeneralSecurityException {
        if (rtpFast == null) {
            byte[] out = protectRtp(buf, off, len, headerLength, ssrc, index);
            System.arraycopy(out, 0, buf, off, out.length);
            return out.length;
        }
        rtpIv(ssrc, index);
        rtpFast.seal(iv, buf, off, headerLength, buf, off + headerLength, len - headerLength);
        return len + TAG;
    }

    @Override
    int unprotectRtpInPlace(byte[] buf, int off, int len, int headerLength, int ssrc, long index)
            throws GeneralSecurityException {
        if (rtpFast == null) {
            byte[] out = unprotectRtp(buf, off, len, headerLength, ssrc, index);
            System.arraycopy(out, 0, buf, off, out.length);
            return out.length;
        }
        rtpIv(ssrc, index);
        int ctLen = len - TAG - headerLength;
        if (!rtpFast.open(iv, buf, off, headerLength, buf, off + headerLength, ctLen, buf, off + headerLength)) {
            throw new SrtpException(SrtpRejection.AUTH_FAIL, "SRTP GCM tag mismatch");
        }
        return len - TAG;
    }

    @Override
    byte[] protectRtcp(byte[] packet, int off, int len, int ssrc, int srtcpIndex, boolean encrypt)
            throws GeneralSecurityException {
        rtcpIv(ssrc, srtcpIndex);
        initEncrypt(rtcpGcm, rtcpKey, iv, lastRtcpEncryptIv, rtcpEncrypted);
        rtcpEncrypted = true;
        putInt(trailer, 0, (encrypt ? 0x80000000 : 0) | (srtcpIndex & 0x7fffffff));
        byte[] out = new byte[len + TAG + SRTCP_INDEX_LENGTH];
        System.arraycopy(packet, off, out, 0, RTCP_HEADER_LENGTH);
        if (encrypt) {
            rtcpGcm.updateAAD(packet, off, RTCP_HEADER_LENGTH);
            rtcpGcm.updateAAD(trailer);
            rtcpGcm.doFinal(packet, off + RTCP_HEADER_LENGTH, len - RTCP_HEADER_LENGTH, out, RTCP_HEADER_LENGTH);
        } else {
            System.arraycopy(packet, off, out, 0, len);
            rtcpGcm.updateAAD(packet, off, len);
            rtcpGcm.updateAAD(trailer);
            rtcpGcm.doFinal(out, len, 0, out, len);
        }
        System.arraycopy(trailer, 0, out, len + TAG, SRTCP_INDEX_LENGTH);
        return out;
    }

    @Override
    byte[] unprotectRtcp(byte[] packet, int off, int len, int ssrc, int srtcpIndex, boolean encrypted)
            throws GeneralSecurityException {
        int indexOff = len - SRTCP_INDEX_LENGTH;
        int plainLen = indexOff - TAG;
        rtcpIv(ssrc, srtcpIndex);
        rtcpGcm.init(Cipher.DECRYPT_MODE, rtcpKey, new GCMParameterSpec(TAG * 8, iv));
        byte[] out = new byte[plainLen];
        try {
            if (encrypted) {
                rtcpGcm.updateAAD(packet, off, RTCP_HEADER_LENGTH);
                rtcpGcm.updateAAD(packet, off + indexOff, SRTCP_INDEX_LENGTH);
                System.arraycopy(packet, off, out, 0, RTCP_HEADER_LENGTH);
                rtcpGcm.doFinal(packet, off + RTCP_HEADER_LENGTH, indexOff - RTCP_HEADER_LENGTH, out,
                        RTCP_HEADER_LENGTH);
            } else {
                rtcpGcm.updateAAD(packet, off, plainLen);
                rtcpGcm.updateAAD(packet, off + indexOff, SRTCP_INDEX_LENGTH);
                rtcpGcm.doFinal(packet, off + plainLen, TAG);
                System.arraycopy(packet, off, out, 0, plainLen);
            }
        } catch (AEADBadTagException e) {
            throw new SrtpException(SrtpRejection.AUTH_FAIL, "SRTCP GCM tag mismatch");
        }
        return out;
    }

    @Override
    int unprotectRtcpInPlace(byte[] buf, int off, int len, int ssrc, int srtcpIndex, boolean encrypted)
            throws GeneralSecurityException {
        int indexOff = len - SRTCP_INDEX_LENGTH;
        int plainLen = indexOff - TAG;
        if (rtcpFast == null || !encrypted) {
            // (E = 0: the AAD is the whole packet and the trailer, around the tag; rare, JCE's copy is fine)
            byte[] out = unprotectRtcp(buf, off, len, ssrc, srtcpIndex, encrypted);
            System.arraycopy(out, 0, buf, off, out.length);
            return out.length;
        }
        System.arraycopy(buf, off, rtcpAad, 0, RTCP_HEADER_LENGTH);
        System.arraycopy(buf, off + indexOff, rtcpAad, RTCP_HEADER_LENGTH, SRTCP_INDEX_LENGTH);
        rtcpIv(ssrc, srtcpIndex);
        if (!rtcpFast.open(iv, rtcpAad, 0, rtcpAad.length, buf, off + RTCP_HEADER_LENGTH,
                plainLen - RTCP_HEADER_LENGTH, buf, off + RTCP_HEADER_LENGTH)) {
            throw new SrtpException(SrtpRejection.AUTH_FAIL, "SRTCP GCM tag mismatch");
        }
        return plainLen;
    }

    @Override
    int srtcpIndexOffset(int len) {
        return len - SRTCP_INDEX_LENGTH;
    }
}
