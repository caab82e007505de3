package dev.veil.webrtc.srtp;

/** Why an SRTP or SRTCP packet was refused. Each is a reason to drop the packet and count it, never to crash. */
public enum SrtpRejection {
    /** Shorter than a header plus the authentication tag (plus the SRTCP index). */
    TOO_SHORT,
    /** Not RTP/RTCP version 2, or a header whose declared length runs past the packet. */
    MALFORMED,
    /** The authentication tag did not verify (wrong key, tampered packet, or a wrong ROC guess). */
    AUTH_FAIL,
    /** The packet index was already received (inside the replay window). */
    REPLAY,
    /** The packet index is older than the replay window. */
    TOO_OLD,
    /** The 48-bit SRTP or 31-bit SRTCP index would overflow: the session must be re-keyed. */
    INDEX_EXHAUSTED,
    /** Too many SSRCs in one session; a new one is refused rather than growing state without bound. */
    TOO_MANY_STREAMS,
    /** The JCE provider failed unexpectedly (should not happen with SunJCE). */
    CRYPTO_ERROR
}
