package dev.veil.webrtc.sdp;

/** The {@code a=setup} DTLS role (RFC 4145 §4, RFC 8842). */
public enum SetupRole {
    /** The endpoint initiates the DTLS handshake (DTLS client). */
    ACTIVE("active"),
    /** The endpoint waits for the handshake (DTLS server). */
    PASSIVE("passive"),
    /** Offer only: either; the answerer picks. */
    ACTPASS("actpass"),
    /** Not used by WebRTC. */
    HOLDCONN("holdconn");

    private final String sdpName;

    SetupRole(String sdpName) {
        this.sdpName = sdpName;
    }

    /** The attribute value. */
    public String sdpName() {
        return sdpName;
    }

    /** The role for an attribute value, or null. */
    public static SetupRole fromSdp(String value) {
        for (SetupRole r : values()) {
            if (r.sdpName.equals(value)) {
                return r;
            }
        }
        return null;
    }
}
