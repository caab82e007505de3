package dev.veil.webrtc.srtp;

import java.security.GeneralSecurityException;

/**
 * The packet transform of one direction of one SRTP session: session keys derived from one master key and salt,
 * with pre-allocated JCE objects re-initialised per packet. Not thread-safe.
 *
 * <p>Callers have already parsed the header and computed the packet index; this class only encrypts,
 * authenticates and checks tags. The {@code byte[]}-returning methods return a fresh array; the {@code ...InPlace}
 * ones (RTP, the forwarding path) work inside the caller's buffer and allocate nothing when {@link JdkAes} is
 * available.
 */
abstract class SrtpCipher {
    /** Length of the SRTCP trailer word {@code E || SRTCP index}. */
    static final int SRTCP_INDEX_LENGTH = 4;
    static final int RTCP_HEADER_LENGTH = 8;

    static SrtpCipher create(SrtpProfile profile, byte[] masterKey, byte[] masterSalt) throws GeneralSecurityException {
        switch (profile) {
            case AEAD_AES_128_GCM:
                return new AesGcmSrtpCipher(profile, masterKey, masterSalt);
            case AES_CM_128_HMAC_SHA1_80:
                return new AesCmHmacSrtpCipher(profile, masterKey, masterSalt);
            default:
                throw new GeneralSecurityException("unsupported profile " + profile);
        }
    }

    abstract int tagLength();

    /**
     * @param headerLength RTP header length including CSRCs and header extension
     * @param index the 48-bit packet index {@code ROC << 16 | SEQ}
     */
    abstract byte[] protectRtp(byte[] packet, int off, int len, int headerLength, int ssrc, long index)
            throws GeneralSecurityException;

    /**
     * Protects {@code buf[off, off+len)} in place: the payload is encrypted where it is and the tag written after it
     * ({@code buf} must have {@link #tagLength()} bytes of room there). Returns the protected length.
     */
    abstract int protectRtpInPlace(byte[] buf, int off, int len, int headerLength, int ssrc, long index)
            throws GeneralSecurityException;

    /**
     * Checks and decrypts {@code buf[off, off+len)} in place; returns the plain length (without the tag). If the tag
     * does not verify nothing is written.
     *
     * @throws SrtpException with {@link SrtpRejection#AUTH_FAIL} if the tag does not verify
     */
    abstract int unprotectRtpInPlace(byte[] buf, int off, int len, int headerLength, int ssrc, long index)
            throws GeneralSecurityException;

    /** @throws SrtpException with {@link SrtpRejection#AUTH_FAIL} if the tag does not verify */
    abstract byte[] unprotectRtp(byte[] packet, int off, int len, int headerLength, int ssrc, long index)
            throws GeneralSecurityException;

    /** Appends {@code E || index} and the tag; encrypts everything after the first 8 bytes when {@code encrypt}. */
    abstract byte[] protectRtcp(byte[] packet, int off, int len, int ssrc, int srtcpIndex, boolean encrypt)
            throws GeneralSecurityException;

    /**
     * @param len the whole SRTCP packet length, trailer and tag included
     * @throws SrtpException with {@link SrtpRejection#AUTH_FAIL} if the tag does not verify
     */
    abstract byte[] unprotectRtcp(byte[] packet, int off, int len, int ssrc, int srtcpIndex, boolean encrypted)
            throws GeneralSecurityException;

    /**
     * Checks and decrypts the SRTCP packet {@code buf[off, off+len)} (trailer and tag included) in place: the plain
     * (compound) RTCP packet is left at {@code buf[off..]} and its length returned. If the tag does not verify nothing
     * is written. Allocation-free for encrypted packets when {@link JdkAes} is available.
     *
     * @throws SrtpException with {@link SrtpRejection#AUTH_FAIL} if the tag does not verify
     */
    abstract int unprotectRtcpInPlace(byte[] buf, int off, int len, int ssrc, int srtcpIndex, boolean encrypted)
            throws GeneralSecurityException;

    /** Where the {@code E || SRTCP index} word of an SRTCP packet of {@code len} bytes starts. */
    abstract int srtcpIndexOffset(int len);

    static void putInt(byte[] b, int off, int v) {
        b[off] = (byte) (v >>> 24);
        b[off + 1] = (byte) (v >>> 16);
        b[off + 2] = (byte) (v >>> 8);
        b[off + 3] = (byte) v;
    }
}
