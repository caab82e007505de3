package dev.veil.webrtc.srtp;

import java.util.Optional;

/**
 * The SRTP protection profiles Veil implements, with their DTLS-SRTP identifiers
 * (<a href="https://www.rfc-editor.org/rfc/rfc5764#section-4.1.2">RFC 5764 §4.1.2</a>,
 * <a href="https://www.rfc-editor.org/rfc/rfc7714#section-14.2">RFC 7714 §14.2</a>).
 *
 * <p>The declaration order is Veil's order of preference as a DTLS server: GCM first (cheaper per packet and
 * the authentication tag covers the whole packet), then the mandatory-to-implement AES-CM/HMAC-SHA1-80.
 */
public enum SrtpProfile {
    /** {@code SRTP_AEAD_AES_128_GCM = {0x00, 0x07}}: AES-128-GCM, 96-bit salt, 128-bit tag (RFC 7714). */
    AEAD_AES_128_GCM(0x0007, 16, 12, 0, 16),
    /** {@code SRTP_AES128_CM_HMAC_SHA1_80 = {0x00, 0x01}}: AES-128 counter mode, HMAC-SHA1 truncated to 80 bits. */
    AES_CM_128_HMAC_SHA1_80(0x0001, 16, 14, 20, 10);

    private final int dtlsId;
    private final int keyLength;
    private final int saltLength;
    private final int authKeyLength;
    private final int tagLength;

    SrtpProfile(int dtlsId, int keyLength, int saltLength, int authKeyLength, int tagLength) {
        this.dtlsId = dtlsId;
        this.keyLength = keyLength;
        this.saltLength = saltLength;
        this.authKeyLength = authKeyLength;
        this.tagLength = tagLength;
    }

    /** The two-byte SRTPProtectionProfile value carried in the DTLS use_srtp extension. */
    public int dtlsId() {
        return dtlsId;
    }

    /** Master (and session) key length in bytes. */
    public int keyLength() {
        return keyLength;
    }

    /** Master (and session) salt length in bytes: 14 for AES-CM, 12 for GCM. */
    public int saltLength() {
        return saltLength;
    }

    /** Session authentication key length in bytes (0 for AEAD profiles). */
    public int authKeyLength() {
        return authKeyLength;
    }

    /** Authentication tag length in bytes appended to each SRTP/SRTCP packet. */
    public int tagLength() {
        return tagLength;
    }

    /** True for the AEAD (GCM) profiles of RFC 7714. */
    public boolean isAead() {
        return authKeyLength == 0;
    }

    /**
     * Bytes to export from DTLS with the "EXTRACTOR-dtls_srtp" label: {@code 2 * (key + salt)}, i.e. 56 for GCM
     * and 60 for AES-CM (RFC 5764 §4.2).
     */
    public int exportLength() {
        return 2 * (keyLength + saltLength);
    }

    /** The profile with this DTLS-SRTP identifier, if Veil implements it. */
    public static Optional<SrtpProfile> fromDtlsId(int id) {
        for (SrtpProfile p : values()) {
            if (p.dtlsId == id) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }
}
