package dev.veil.client;

import com.fasterxml.jackson.databind.JsonNode;
import dev.veil.signaling.Role;
import java.net.URI;
import java.util.Objects;

/**
 * The entry point of the Java SDK, in the shape of Sora's and of Veil's browser SDK:
 *
 * <pre>{@code
 * Connection c = VeilClient.connection(URI.create("ws://127.0.0.1:5000/signaling"))
 *     .sendrecv("room-1", null, Options.e2ee());
 * c.onAudioFrame((senderConnectionId, opusFrame) -> play(senderConnectionId, opusFrame))
 *  .onE2ee(ev -> show(ev))
 *  .onDisconnect(reason -> System.err.println(reason));
 * c.connect().get(15, TimeUnit.SECONDS);     // ICE and DTLS up
 * c.sendAudioFrame(opusFrame, rtpTimestamp); // SFrame-encrypted, one RTP packet
 * c.e2eeVerificationCode();                  // compare it with the others out of band
 * c.disconnect().get();
 * }</pre>
 *
 * A {@code VeilClient} only holds the signaling URL; each {@link Connection} it makes is independent (its own
 * WebSocket, UDP socket, event-loop thread and, with E2EE, its own identity).
 */
public final class VeilClient {
    private final URI signalingUrl;
    private final java.util.List<URI> candidates;

    private VeilClient(java.util.List<URI> candidates) {
        this.signalingUrl = candidates.get(0);
        this.candidates = java.util.List.copyOf(candidates);
    }

    /**
     * A client of a cluster (docs/PROTOCOL.md §1.9): the signaling URLs of its nodes (or of load balancers in front
     * of them). Connections start at the first; a {@link #reconnecting reconnecting} one tries them in turn.
     */
    public static VeilClient connection(java.util.List<URI> signalingUrls) {
        if (signalingUrls.isEmpty()) {
            throw new IllegalArgumentException("no signaling URL");
        }
        for (URI u : signalingUrls) {
            check(u);
        }
        return new VeilClient(signalingUrls);
    }

    private static void check(URI signalingUrl) {
        Objects.requireNonNull(signalingUrl, "signalingUrl");
        String s = signalingUrl.getScheme();
        if (s == null || !(s.equalsIgnoreCase("ws") || s.equalsIgnoreCase("wss"))) {
            throw new IllegalArgumentException("signaling URL must be ws:// or wss://, got " + signalingUrl);
        }
    }

    /**
     * A member that reconnects on its own when its connection drops (a node dies or drains), to any of this client's
     * signaling URLs, and rejoins (re-keyed as after any join); see {@link ReconnectingConnection}.
     */
    public ReconnectingConnection reconnecting(Role role, String channelId, JsonNode metadata, Options options) {
        return new ReconnectingConnection(candidates, role, channelId, metadata, options);
    }

    /** A client of the server whose signaling endpoint is {@code signalingUrl} ({@code ws://HOST:PORT/signaling}). */
    public static VeilClient connection(URI signalingUrl) {
        check(signalingUrl);
        return new VeilClient(java.util.List.of(signalingUrl));
    }

    public URI signalingUrl() {
        return signalingUrl;
    }

    /**
     * A connection that sends audio and receives every other member's media.
     *
     * @param metadata JSON for the server ({@code connect.metadata}), never shown to others; may be null
     */
    public Connection sendrecv(String channelId, JsonNode metadata, Options options) {
        return new Connection(signalingUrl, Role.SENDRECV, channelId, metadata, options);
    }

    /** A connection that only sends audio. */
    public Connection sendonly(String channelId, JsonNode metadata, Options options) {
        return new Connection(signalingUrl, Role.SENDONLY, channelId, metadata, options);
    }

    /** A connection that only receives. */
    public Connection recvonly(String channelId, JsonNode metadata, Options options) {
        return new Connection(signalingUrl, Role.RECVONLY, channelId, metadata, options);
    }
}
