package dev.veil.webrtc.rtcp;

/** Bytes that are not a well-formed (compound) RTCP packet. The whole datagram must be dropped. */
public final class RtcpException extends Exception {
    private static final long serialVersionUID = 1L;

    /** @param message what is malformed */
    public RtcpException(String message) {
        super(message);
    }
}
