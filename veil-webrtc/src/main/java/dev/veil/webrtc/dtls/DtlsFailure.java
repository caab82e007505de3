package dev.veil.webrtc.dtls;

/** Why a DTLS association failed. */
public enum DtlsFailure {
    /** The peer's certificate does not hash to the fingerprint of its SDP. */
    FINGERPRINT_MISMATCH,
    /** The peer sent no certificate (a WebRTC peer must). */
    PEER_CERTIFICATE_MISSING,
    /** The peer did not offer use_srtp, or offered no profile in common. */
    NO_COMMON_SRTP_PROFILE,
    /** The peer sent a fatal alert. */
    ALERT_RECEIVED,
    /** The handshake did not finish within {@link DtlsConfig#handshakeTimeoutMillis()}. */
    TIMEOUT,
    /** Any other handshake failure (bad messages, no common cipher suite or version, no extended master secret). */
    HANDSHAKE_FAILED
}
