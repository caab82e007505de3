package dev.veil.webrtc.sdp;

import java.util.List;
import java.util.Objects;

/**
 * One payload type of an m-line: {@code a=rtpmap}, {@code a=fmtp} and {@code a=rtcp-fb} lines.
 *
 * @param payloadType 0..127
 * @param name encoding name as in rtpmap (e.g. "opus", "VP8", "H264")
 * @param clockRate RTP clock rate in Hz
 * @param channels audio channels (0 = not written, as for video)
 * @param fmtp format parameters, or "" for none
 * @param rtcpFeedback rtcp-fb values for this payload type, e.g. "nack", "nack pli", "ccm fir"
 */
public record Codec(int payloadType, String name, int clockRate, int channels, String fmtp,
        List<String> rtcpFeedback) {

    public Codec {
        if (payloadType < 0 || payloadType > 127) {
            throw new IllegalArgumentException("payload type must be 0..127: " + payloadType);
        }
        Objects.requireNonNull(name, "name");
        if (clockRate <= 0 || channels < 0) {
            throw new IllegalArgumentException("bad clock rate or channels");
        }
        fmtp = fmtp == null ? "" : fmtp;
        rtcpFeedback = List.copyOf(rtcpFeedback);
    }

    /** Opus, PT 111, 48 kHz stereo, {@code minptime=10;useinbandfec=1}. */
    public static Codec opus() {
        return new Codec(111, "opus", 48_000, 2, "minptime=10;useinbandfec=1", List.of());
    }

    /**
     * VP8, PT 96, with nack, nack pli and ccm fir ({@link SdpOfferer} adds goog-remb and transport-cc on the m-lines
     * it receives on, not on those it sends: the server estimates no subscriber's bandwidth).
     */
    public static Codec vp8() {
        return new Codec(96, "VP8", 90_000, 0, "", List.of("nack", "nack pli", "ccm fir"));
    }

    /** H.264 constrained baseline 3.1, packetization-mode 1, PT 102; passed through untouched. */
    public static Codec h264() {
        return new Codec(102, "H264", 90_000, 0,
                "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
                List.of("nack", "nack pli", "ccm fir"));
    }

    /** VP9 profile 0, PT 98, with nack, nack pli and ccm fir (RFC 9628). */
    public static Codec vp9() {
        return new Codec(98, "VP9", 90_000, 0, "profile-id=0", List.of("nack", "nack pli", "ccm fir"));
    }

    /**
     * AV1 (AV1 RTP payload format), PT 104, profile 0, level-idx 5, tier 0, with nack, nack pli and ccm fir; passed
     * through (a key frame is read from the aggregation header only).
     */
    public static Codec av1() {
        return new Codec(104, "AV1", 90_000, 0, "level-idx=5;profile=0;tier=0", List.of("nack", "nack pli", "ccm fir"));
    }

    /** RTX (RFC 4588) for the codec with payload type {@code apt}: {@code rtx/90000}, {@code apt=<apt>}. */
    public static Codec rtx(int payloadType, int apt) {
        return new Codec(payloadType, "rtx", 90_000, 0, "apt=" + apt, List.of());
    }

    /** A copy with one more rtcp-fb value (e.g. "goog-remb"). */
    public Codec withFeedback(String feedback) {
        java.util.ArrayList<String> fb = new java.util.ArrayList<>(rtcpFeedback);
        fb.add(feedback);
        return new Codec(payloadType, name, clockRate, channels, fmtp, fb);
    }

    /** The rtpmap value, e.g. "opus/48000/2". */
    public String rtpmap() {
        return name + "/" + clockRate + (channels > 0 ? "/" + channels : "");
    }
}
