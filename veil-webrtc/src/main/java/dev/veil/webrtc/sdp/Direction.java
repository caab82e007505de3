package dev.veil.webrtc.sdp;

/** The direction attribute of an m-line (RFC 8866 §6.7), from the point of view of the SDP's author. */
public enum Direction {
    /** {@code a=sendrecv} */
    SENDRECV("sendrecv"),
    /** {@code a=sendonly} */
    SENDONLY("sendonly"),
    /** {@code a=recvonly} */
    RECVONLY("recvonly"),
    /** {@code a=inactive} */
    INACTIVE("inactive");

    private final String sdpName;

    Direction(String sdpName) {
        this.sdpName = sdpName;
    }

    /** The attribute name. */
    public String sdpName() {
        return sdpName;
    }

    /** The same direction seen from the other side (sendonly ↔ recvonly). */
    public Direction reversed() {
        switch (this) {
            case SENDONLY:
                return RECVONLY;
            case RECVONLY:
                return SENDONLY;
            default:
                return this;
        }
    }

    /** Whether the author of the SDP sends on this m-line. */
    public boolean sends() {
        return this == SENDRECV || this == SENDONLY;
    }

    /** Whether the author of the SDP receives on this m-line. */
    public boolean receives() {
        return this == SENDRECV || this == RECVONLY;
    }

    /**
     * Whether {@code answer} is a legal answer direction to this offered direction (RFC 3264 §6.1): the answerer
     * may only narrow the reversed direction.
     */
    public boolean acceptsAnswer(Direction answer) {
        if (answer == INACTIVE) {
            return true;
        }
        Direction max = reversed();
        return max == SENDRECV || max == answer;
    }

    /** The direction for an attribute name, or null. */
    public static Direction fromSdp(String name) {
        for (Direction d : values()) {
            if (d.sdpName.equals(name)) {
                return d;
            }
        }
        return null;
    }
}
