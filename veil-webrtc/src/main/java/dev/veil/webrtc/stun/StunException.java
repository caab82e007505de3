package dev.veil.webrtc.stun;

/** A datagram that is not a well-formed STUN message (RFC 8489). The message must be dropped. */
public final class StunException extends Exception {
    private static final long serialVersionUID = 1L;

    /** @param message why the datagram was rejected (never contains credentials) */
    public StunException(String message) {
        super(message);
    }
}
