package dev.veil.client;

import java.util.Objects;

/**
 * A remote member's track that the server forwards to this connection.
 *
 * @param connectionId the publisher's connection id (the {@code a=msid} stream id of the server's offer)
 * @param kind {@code "audio"} or {@code "video"}
 * @param mid the m-line's mid in this connection's session
 * @param ssrc the SSRC the server forwards it with (rewritten per subscriber)
 */
public record Track(String connectionId, String kind, String mid, long ssrc) {
    public Track {
        Objects.requireNonNull(connectionId, "connectionId");
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(mid, "mid");
    }
}
