package dev.veil.webrtc.sdp;

/** The media type of an m-line that carries RTP. */
public enum MediaKind {
    /** {@code m=audio} */
    AUDIO("audio"),
    /** {@code m=video} */
    VIDEO("video");

    private final String sdpName;

    MediaKind(String sdpName) {
        this.sdpName = sdpName;
    }

    /** The token in the m-line. */
    public String sdpName() {
        return sdpName;
    }

    /** The kind for an m-line token, or null for anything else (application, text, ...). */
    public static MediaKind fromSdp(String token) {
        for (MediaKind k : values()) {
            if (k.sdpName.equals(token)) {
                return k;
            }
        }
        return null;
    }
}
