package dev.veil.webrtc.router;

import java.nio.charset.StandardCharsets;

/**
 * How a consumer sends to its subscriber (from the subscriber's sendonly m-line).
 *
 * @param ssrc the SSRC announced in the subscriber's offer ({@code a=ssrc}); see {@link Router#newSsrc()}
 * @param payloadType the payload type for the codec in the subscriber's m-line
 * @param cname the CNAME announced for the track (sent in SDES next to each sender report), or null
 * @param midExtensionId the extmap id of {@code urn:ietf:params:rtp-hdrext:sdes:mid} in the subscriber's answer, 0 if
 *     not negotiated. Publisher header extensions are always stripped; with an id, the consumer's mid is written.
 * @param mid the subscriber m-line mid (written when {@code midExtensionId > 0})
 * @param rtxSsrc the SSRC of the consumer's RTX stream (RFC 4588; {@code a=ssrc-group:FID ssrc rtxSsrc} in the
 *     subscriber's offer), or 0 when the subscriber did not negotiate RTX: retransmissions then reuse {@code ssrc}
 * @param rtxPayloadType the RTX payload type ({@code a=rtpmap:N rtx/...} with {@code apt=payloadType}); used only
 *     with an {@code rtxSsrc}
 */
public record ConsumerParams(long ssrc, int payloadType, String cname, int midExtensionId, String mid, long rtxSsrc,
        int rtxPayloadType) {

    /** Without RTX: retransmissions are sent on the media SSRC. */
    public ConsumerParams(long ssrc, int payloadType, String cname, int midExtensionId, String mid) {
        this(ssrc, payloadType, cname, midExtensionId, mid, 0, 0);
    }

    /** These parameters with an RTX stream ({@code rtxSsrc}, {@code rtxPayloadType}). */
    public ConsumerParams withRtx(long rtxSsrc, int rtxPayloadType) {
        return new ConsumerParams(ssrc, payloadType, cname, midExtensionId, mid, rtxSsrc, rtxPayloadType);
    }

    public ConsumerParams {
        if (rtxSsrc < 0 || rtxSsrc > 0xFFFF_FFFFL || rtxSsrc != 0 && (rtxSsrc == ssrc || rtxPayloadType < 0
                || rtxPayloadType > 127 || rtxPayloadType == payloadType)) {
            throw new IllegalArgumentException("bad RTX ssrc or payload type");
        }
        if (ssrc < 0 || ssrc > 0xFFFF_FFFFL || payloadType < 0 || payloadType > 127) {
            throw new IllegalArgumentException("bad ssrc or payload type");
        }
        if (midExtensionId < 0 || midExtensionId > 14) {
            throw new IllegalArgumentException("mid extension id must be 1..14 (one-byte form) or 0");
        }
        if (midExtensionId > 0) {
            int n = mid == null ? 0 : mid.getBytes(StandardCharsets.US_ASCII).length;
            if (n < 1 || n > 16) {
                throw new IllegalArgumentException("mid must be 1..16 ASCII bytes");
            }
        }
    }
}
