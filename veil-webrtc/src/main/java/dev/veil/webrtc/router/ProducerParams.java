package dev.veil.webrtc.router;

import dev.veil.webrtc.rtp.RtpCodec;
import dev.veil.webrtc.sdp.MediaKind;
import java.util.Objects;

/**
 * What the server knows about an incoming stream from the publisher's SDP answer.
 *
 * @param kind audio or video
 * @param codec the codec (decides key-frame gating)
 * @param payloadType the payload type the publisher sends
 * @param clockRate the RTP clock rate (48000 for Opus, 90000 for video)
 * @param ssrc the publisher's SSRC ({@code a=ssrc} of the answer)
 * @param mid the publisher's m-line mid (informational)
 */
public record ProducerParams(MediaKind kind, RtpCodec codec, int payloadType, int clockRate, long ssrc, String mid) {
    public ProducerParams {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(codec, "codec");
        if (payloadType < 0 || payloadType > 127 || clockRate <= 0 || ssrc < 0 || ssrc > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException("bad payload type, clock rate or ssrc");
        }
    }
}
