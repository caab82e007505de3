package dev.veil.webrtc.sdp;

import java.util.List;
import java.util.Objects;

/**
 * One m-line of the SFU's offer.
 *
 * @param mid the {@code a=mid} value (the offerer numbers them "0", "1", ...)
 * @param kind audio or video
 * @param direction from the SFU's point of view: RECVONLY for a client's upload, SENDONLY for a forwarded track,
 *     INACTIVE for a removed one
 * @param codecs payload types in preference order
 * @param extmaps header extensions
 * @param track the forwarded track on a SENDONLY m-line (null otherwise)
 * @param recvRids the simulcast layers the SFU offers to receive on a RECVONLY video m-line, lowest resolution
 *     first ({@code a=rid:<rid> recv}, {@code a=simulcast:recv <rid>;<rid>;...}); empty for no simulcast
 */
public record MediaSection(String mid, MediaKind kind, Direction direction, List<Codec> codecs,
        List<Extmap> extmaps, SendTrack track, List<String> recvRids) {

    public MediaSection {
        Objects.requireNonNull(mid, "mid");
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(direction, "direction");
        codecs = List.copyOf(codecs);
        extmaps = List.copyOf(extmaps);
        recvRids = List.copyOf(recvRids);
        if (codecs.isEmpty()) {
            throw new IllegalArgumentException("an m-line needs at least one codec");
        }
        if (direction.sends() && track == null) {
            throw new IllegalArgumentException("a sending m-line needs a track");
        }
    }

    /** A copy with another direction (the track is kept so a re-offer can show it again). */
    public MediaSection withDirection(Direction d) {
        return new MediaSection(mid, kind, d, codecs, extmaps, track, recvRids);
    }
}
