package dev.veil.webrtc.sdp;

import java.util.Objects;

/**
 * An RTP header extension mapping ({@code a=extmap:<id> <uri>}, RFC 8285 §5).
 *
 * @param id 1..14 for one-byte headers, up to 255 with two-byte headers
 * @param uri the extension's URI
 */
public record Extmap(int id, String uri) {

    /** RFC 8843 MID header extension. */
    public static final String SDES_MID = "urn:ietf:params:rtp-hdrext:sdes:mid";
    /** Absolute send time (Google). */
    public static final String ABS_SEND_TIME = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time";
    /** Transport-wide sequence number (draft-holmer-rmcat-transport-wide-cc-extensions-01). */
    public static final String TRANSPORT_WIDE_CC =
            "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";
    /** RFC 8852 RtpStreamId (the RID of a simulcast layer, in its packets). */
    public static final String RTP_STREAM_ID = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id";
    /** RFC 8852 RepairedRtpStreamId (the RID of the layer an RTX packet repairs). */
    public static final String REPAIRED_RTP_STREAM_ID = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id";
    /** RFC 6464 client-to-mixer audio level. */
    public static final String AUDIO_LEVEL = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";

    public Extmap {
        if (id < 1 || id > 255) {
            throw new IllegalArgumentException("extmap id must be 1..255: " + id);
        }
        Objects.requireNonNull(uri, "uri");
    }
}
