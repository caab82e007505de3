package dev.veil.webrtc.rtp;

/** Bytes that are not a well-formed RTP packet or payload descriptor. The packet must be dropped. */
public final class RtpException extends Exception {
    private static final long serialVersionUID = 1L;

    /** @param message what is malformed */
    public RtpException(String message) {
        super(message);
    }
}
