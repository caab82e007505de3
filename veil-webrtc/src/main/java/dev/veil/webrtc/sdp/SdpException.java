package dev.veil.webrtc.sdp;

/** An SDP that cannot be parsed or does not fit the offer it answers. */
public final class SdpException extends Exception {
    private static final long serialVersionUID = 1L;

    /** @param message what is wrong (names the line or the mid) */
    public SdpException(String message) {
        super(message);
    }
}
