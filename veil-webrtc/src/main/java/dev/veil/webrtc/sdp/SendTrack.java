package dev.veil.webrtc.sdp;

import java.util.Objects;

/**
 * A track the SFU sends on a sendonly m-line: {@code a=msid:<streamId> <trackId>} and
 * {@code a=ssrc:<ssrc> cname:<cname>}. Use the publishing connection id as {@code streamId} so the browser groups one
 * peer's audio and video into one MediaStream.
 *
 * @param streamId msid stream id (the publisher's connection id)
 * @param trackId msid track id (unique per track, e.g. the producer id)
 * @param ssrc the SSRC the SFU sends the track with (the consumer's SSRC)
 * @param cname the RTCP CNAME (same for all tracks of one publisher, for lip sync)
 * @param rtxSsrc the SSRC of the track's RTX stream (RFC 4588), or 0 for none: with one, a video m-line offers an
 *     {@code rtx} payload type per codec ({@code apt=}) and announces {@code a=ssrc-group:FID <ssrc> <rtxSsrc>}
 */
public record SendTrack(String streamId, String trackId, long ssrc, String cname, long rtxSsrc) {

    /** A track without RTX. */
    public SendTrack(String streamId, String trackId, long ssrc, String cname) {
        this(streamId, trackId, ssrc, cname, 0);
    }

    public SendTrack {
        if (rtxSsrc < 0 || rtxSsrc > 0xFFFF_FFFFL || rtxSsrc != 0 && rtxSsrc == ssrc) {
            throw new IllegalArgumentException("rtx ssrc is unsigned 32 bits and not the media ssrc");
        }
        requireToken(streamId, "streamId");
        requireToken(trackId, "trackId");
        requireToken(cname, "cname");
        if (ssrc < 0 || ssrc > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException("ssrc is unsigned 32 bits");
        }
    }

    static void requireToken(String s, String name) {
        Objects.requireNonNull(s, name);
        if (s.isEmpty() || s.length() > 64) {
            throw new IllegalArgumentException(name + " must be 1..64 chars");
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c <= ' ' || c >= 0x7F) {
                throw new IllegalArgumentException(name + " must be visible ASCII without spaces");
            }
        }
    }
}
