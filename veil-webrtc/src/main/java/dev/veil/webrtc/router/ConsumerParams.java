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
 */
public record ConsumerParams(long ssrc, int payloadType, String cname, int midExtensionId, String mid) {
    public ConsumerParams {
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
