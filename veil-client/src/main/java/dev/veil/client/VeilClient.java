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

    private VeilClient(URI signalingUrl) {
        this.signalingUrl = signalingUrl;
    }

    /** A client of the server whose signaling endpoint is {@code signalingUrl} ({@code ws://HOST:PORT/signaling}). */
    public static VeilClient connection(URI signalingUrl) {
        Objects.requireNonNull(signalingUrl, "signalingUrl");
        String s = signalingUrl.getScheme();
        if (s == null || !(s.equalsIgnoreCase("ws") || s.equalsIgnoreCase("wss"))) {
            throw new IllegalArgumentException("signaling URL must be ws:// or wss://, got " + signalingUrl);
        }
        return new VeilClient(signalingUrl);
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
