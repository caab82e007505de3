package dev.veil.client;

import com.fasterxml.jackson.databind.JsonNode;
import dev.veil.signaling.Notify;
import dev.veil.signaling.Role;
import dev.veil.signaling.SignalingCodec;
import dev.veil.webrtc.dtls.DtlsClientEngine;
import java.net.URI;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;

/**
 * One participant in a Veil channel: a signaling WebSocket, one UDP flow to the server (ICE, DTLS, SRTP) and, with
 * {@link Options#e2ee()}, the E2EE layer (SFrame on every audio frame, keyed by the MLS key mode by default or by
 * Veil's sender keys with {@link Options#e2eeSenderKeys()}). Made by {@link VeilClient}; used once:
 * {@link #connect()}, then {@link #sendAudioFrame}, then {@link #disconnect()}.
 *
 * <h2>Threading</h2>
 * Each connection has <b>one event-loop thread</b> ({@code veil-client-N}): the UDP socket, the signaling messages
 * (handed over from the WebSocket threads of the SDK's one shared, daemon-threaded Jetty client), the DTLS engine
 * (whose blocking handshake runs on a worker thread that exists only while the handshake does, as
 * {@link DtlsClientEngine} requires), the key manager, SFrame and every timer run there, in order. Timers and the
 * key manager read the clock of {@link Options#withClock}. The
 * public methods are thread-safe: they hand their work to the loop. <b>Listeners are called on the loop thread</b>,
 * one at a time and in order; they must not block (hand heavy work elsewhere), and may call this connection's
 * methods. The futures of {@link #connect()} and {@link #disconnect()} are completed on the loop thread too.
 *
 * <h2>Fail closed</h2>
 * In an end-to-end encrypted connection every frame sent is SFrame-encrypted; a received frame that does not
 * decrypt is dropped (never passed on) and reported as an {@link E2eeEvent.Error} (at most one per second per sender
 * and reason, with a count of the suppressed ones). The identity and every key are destroyed when the connection
 * ends, however it ends.
 *
 * <p>Audio, and screen share: the client sends one Opus stream and hands over received Opus frames; with
 * {@link Options#withScreenShare()} it also sends VP8 frames the application encoded on a screen-share video track
 * ({@link #sendScreenFrame}); with {@link Options#withSimulcast()} it sends camera video in three simulcast layers
 * the application encoded ({@link #sendVideoFrame}). Received video tracks are reported, and their VP8 frames
 * reassembled and decrypted ({@link Listener#onVideoFrame}), not decoded.
 *
 * <h2>Inside</h2>
 * This class is the SDK's face; the work is done by package-private parts: {@link ConnectionRuntime} (the loop, the
 * state, the connect timeout, the ending), {@link ClientSignaling} over {@link SignalingSocket} (the signaling
 * protocol and its WebSocket), {@link MediaTransport} (ICE, DTLS, SRTP, RTP), {@link ConnectionE2ee} (the sender-keys
 * or MLS session and its published view), {@link ConnectionSender} (the send methods: checks, then sealing and
 * sending on the loop) and {@link ConnectionListeners}.
 */
public final class Connection implements AutoCloseable {
    /** What a connection reports. Every method has an empty default; called on the connection's loop thread. */
    public interface Listener {
        /** The server forwards a track of another member to this connection. */
        default void onTrack(Track track) {}

        /** A track ended (its publisher left or stopped). */
        default void onRemoveTrack(Track track) {}

        /** An Opus frame of another member, decrypted (with E2EE) and authenticated. */
        default void onAudioFrame(String senderConnectionId, byte[] opusFrame) {}

        /**
         * A VP8 frame of another member's video track, reassembled, decrypted (with E2EE) and authenticated; a frame
         * with a missing packet or that does not decrypt is dropped. Of a simulcast track, the layer the server
         * forwards now ({@link Connection#setReceiveMaxHeight}).
         */
        default void onVideoFrame(VideoFrame frame) {}

        /**
         * The server asks for a key frame (its PLI or FIR: a subscriber started, lost a frame or switches layer): of
         * simulcast layer {@code layer} (0..2) of the camera track ({@code "video"}), or of the screen-share track
         * ({@code "screen"}, layer -1). The application's encoder should make the next frame of that layer a key
         * frame; the server asks again (at most every 250 ms) while it waits.
         */
        default void onKeyFrameRequest(String track, int layer) {}

        /** A {@code notify} from the server (members joining and leaving). */
        default void onNotify(Notify notify) {}

        /** The connection ended: the application's disconnect, the server's, or a failure; says why. */
        default void onDisconnect(String reason) {}

        /**
         * The server is draining (docs/PROTOCOL.md §1.10): it disconnects this member after {@code deadlineMs}
         * milliseconds; reconnect (elsewhere) before then.
         */
        default void onDraining(long deadlineMs) {}

        /** Keys, fingerprints, the verification code, or an E2EE error. */
        default void onE2ee(E2eeEvent event) {}

        /** A data message of another member ({@link Connection#sendData}), decrypted with E2EE. */
        default void onData(DataMessage message) {}

        /**
         * The server's view of what it sends this connection (at most about once a second, when it changed): its
         * downlink estimate and, per received video track, the simulcast layer, switches and repair
         * ({@link #downlinkStats()}).
         */
        default void onDownlinkStats(dev.veil.signaling.DownlinkStats stats) {}
    }


    /** Most {@code redirect}s one connect follows (docs/PROTOCOL.md §1.9); one more fails the connect. */
    public static final int MAX_REDIRECTS = 3;
    /** The largest Opus frame sendAudioFrame accepts: one RTP packet must fit in a 1200-byte MTU. */
    public static final int MAX_AUDIO_FRAME = 1000;
    /** The largest VP8 frame sendScreenFrame accepts (about 1,000 packets). */
    public static final int MAX_SCREEN_FRAME = 1 << 20;
    /** Largest data message body: the server takes 16 KiB payloads, less the kind byte and the SFrame overhead. */
    public static final int MAX_DATA_BYTES = 16 * 1024 - 64;

    private final Role role;
    private final String channelId;
    private final Options options;
    private final ConnectionListeners listeners = new ConnectionListeners();
    /** The loop, the state and the ending; owns the parts below. */
    private final ConnectionRuntime runtime;
    /** The E2EE layer (sender keys or MLS; inert without E2EE). */
    private final ConnectionE2ee e2ee;
    /** ICE, DTLS, SRTP and RTP on the one UDP flow. */
    private final MediaTransport transport;
    /** The signaling protocol on the WebSocket. */
    private final ClientSignaling signaling;
    /** What the application sends: media frames, data messages, its receive request. */
    private final ConnectionSender sender;

    Connection(URI url, Role role, String channelId, JsonNode metadata, Options options) {
        this.role = Objects.requireNonNull(role, "role");
        this.channelId = Objects.requireNonNull(channelId, "channelId");
        if (!SignalingCodec.CHANNEL_ID.matcher(channelId).matches()) {
            throw new IllegalArgumentException("invalid channel id: 1-255 of A-Z a-z 0-9 . _ ~ : @ + -");
        }
        this.options = Objects.requireNonNull(options, "options");
        this.runtime = new ConnectionRuntime(this, url, role, channelId, metadata == null ? null : metadata.deepCopy(),
                options, listeners);
        this.e2ee = runtime.e2ee();
        this.transport = runtime.transport();
        this.signaling = runtime.signaling();
        this.sender = new ConnectionSender(role, options, runtime);
    }

    // ------------------------------------------------------------------------------------------ listeners

    /** Adds a listener (see {@link Listener}); returns this. */
    public Connection addListener(Listener listener) {
        listeners.add(listener);
        return this;
    }

    public Connection removeListener(Listener listener) {
        listeners.remove(listener);
        return this;
    }

    /** Calls {@code f(senderConnectionId, decryptedOpusFrame)} for every received audio frame. */
    public Connection onAudioFrame(BiConsumer<String, byte[]> f) {
        return addListener(ConnectionListeners.audioFrames(f));
    }

    public Connection onTrack(Consumer<Track> f) {
        return addListener(ConnectionListeners.tracks(f));
    }

    public Connection onNotify(Consumer<Notify> f) {
        return addListener(ConnectionListeners.notifies(f));
    }

    public Connection onDisconnect(Consumer<String> f) {
        return addListener(ConnectionListeners.disconnects(f));
    }

    public Connection onData(Consumer<DataMessage> f) {
        return addListener(ConnectionListeners.dataMessages(f));
    }

    public Connection onE2ee(Consumer<E2eeEvent> f) {
        return addListener(ConnectionListeners.e2eeEvents(f));
    }

    // ------------------------------------------------------------------------------------------ properties

    /**
     * The last {@code downlink-stats} the server sent (docs/PROTOCOL.md §1.2): its estimate of this connection's
     * downlink in bit/s and, per received video track, the simulcast layer it gets, layer switches, retransmissions
     * sent, NACKs received and key-frame requests sent for it; null before the first.
     */
    public dev.veil.signaling.DownlinkStats downlinkStats() {
        return signaling.downlinkStats();
    }

    /** What this connection received, per remote track and in total, counted by the SDK itself (any thread). */
    public ReceiveStats receiveStats() {
        return transport.counters().snapshot();
    }

    /**
     * The STUN/TURN servers the server's offer named for this connection, with their time-limited TURN REST
     * credentials (docs/PROTOCOL.md §1.2 {@code ice_servers}); empty before the offer or when the server has none.
     * This SDK reaches the server's UDP host candidate directly and does not use them itself; they are here for
     * applications that hand them on (e.g. to a browser, or to their own ICE stack).
     */
    public java.util.List<dev.veil.signaling.IceServer> iceServers() {
        return signaling.iceServers();
    }

    /** This connection's id, assigned by the server (null before the offer). */
    public String connectionId() {
        return signaling.connectionId();
    }

    public String channelId() {
        return channelId;
    }

    public Role role() {
        return role;
    }

    /** Whether ICE and DTLS are up and the connection has not ended. */
    public boolean isConnected() {
        return runtime.isConnected();
    }

    /**
     * The E2EE key mode this connection runs in ({@code "mls"}, the default, or {@code "sender-keys"}), null without
     * E2EE; sent in {@code connect}, never replaced by another mode (a channel in the other mode refuses it).
     */
    public String e2eeKeyMode() {
        return options.keyMode();
    }

    /** MLS key mode: the current MLS epoch, or -1 before this member is in the group (and in other modes). */
    public long e2eeEpoch() {
        return e2ee.epoch();
    }

    /** This connection's identity fingerprint ("xxxx xxxx ... xxxx", 16 groups); null without E2EE. */
    public String e2eeSelfFingerprint() {
        return e2ee.selfFingerprint();
    }

    /** Connection id → fingerprint of every other member whose key bundle verified (empty without E2EE). */
    public Map<String, String> e2eeRemoteFingerprints() {
        return e2ee.remoteFingerprints();
    }

    /**
     * The room verification code ("12345 67890 ...", 6 groups) of this connection's view, covering the channel id,
     * the E2EE mode and the frame format too (docs/PROTOCOL.md §3.2); null without E2EE.
     */
    public String e2eeVerificationCode() {
        return e2ee.verificationCode();
    }

    /** The persistent device fingerprint ({@link Options#withDeviceKeyFile}), the same in every call; else null. */
    public String e2eeDeviceFingerprint() {
        return e2ee.deviceFingerprint();
    }

    /** The other members with their claimed (server-relayed, unverified) names and verification state. */
    public List<E2eeEvent.PeerInfo> e2eePeers() {
        return e2ee.peers();
    }

    /** True while the room code is the one {@link #markVerified()} marked. */
    public boolean e2eeRoomVerified() {
        return e2ee.roomVerified();
    }

    /**
     * The room verification code was compared out of band and matches: any later change raises
     * {@link E2eeEvent.VerificationLost} (scope "room"). Fails if there is no code yet.
     */
    public CompletableFuture<Void> markVerified() {
        return onLoop(e2ee::markRoomVerified);
    }

    /**
     * One peer's device fingerprint (remembered in {@link Options#withVerifiedPeers} under the peer's current claimed
     * name, or in the file beside the device key file: {@link Options#withDeviceKeyFile}) or, for a peer without a
     * device identity, its connection fingerprint (this call only) was compared out of band. A member later claiming
     * that name with another device key, or none, raises {@link E2eeEvent.VerificationLost} (scope "peer"). Fails if
     * no current peer has the fingerprint, or if the persistent list cannot be written.
     */
    public CompletableFuture<Void> markVerified(String fingerprint) {
        Objects.requireNonNull(fingerprint, "fingerprint");
        return onLoop(() -> e2ee.markVerified(fingerprint));
    }

    private CompletableFuture<Void> onLoop(Runnable r) {
        CompletableFuture<Void> f = new CompletableFuture<>();
        runtime.execute(() -> {
            try {
                r.run();
                f.complete(null);
            } catch (RuntimeException e) {
                f.completeExceptionally(e);
            }
        });
        return f;
    }

    /** The signaling URL in use: the one given, or the node a redirect named. */
    public URI signalingUrl() {
        return signaling.url();
    }

    /** Redirects this connect followed. */
    public int redirectCount() {
        return signaling.redirects();
    }

    /** The server's refusal before its offer ({@code error} reason), or null; a refused connect is not retried. */
    String refusal() {
        return signaling.refusal();
    }

    /** The length in characters of the largest SDP offer or re-offer this connection received so far. */
    public int largestOfferLength() {
        return signaling.largestOffer();
    }

    // ------------------------------------------------------------------------------------------ API

    /**
     * Joins: signaling, then ICE and DTLS. The future completes with this connection once media can flow, or
     * fails with a {@link VeilClientException} whose message says why (the server's refusal, for example
     * {@code e2ee is disabled on this server ...}, an unusable offer, a timeout and at which stage, ...). Calling it
     * again returns the same future.
     */
    public CompletableFuture<Connection> connect() {
        return runtime.connect();
    }

    /**
     * Sends one Opus frame as one RTP packet (the negotiated Opus payload type, this connection's SSRC, the next
     * sequence number, {@code rtpTimestamp} in 48 kHz units), SFrame-encrypted with E2EE. Asynchronous: the packet
     * leaves from the loop thread.
     *
     * @throws IllegalStateException if the connection is not connected or does not send (recvonly)
     * @throws IllegalArgumentException if the frame is empty or longer than {@link #MAX_AUDIO_FRAME}
     */
    public void sendAudioFrame(byte[] opusFrame, long rtpTimestamp) {
        sender.sendAudioFrame(opusFrame, rtpTimestamp);
    }

    /**
     * Sends one VP8 frame on the screen-share track (needs {@link Options#withScreenShare()}): SFrame-encrypted with
     * E2EE under the VP8 rule (the frame tag, and on a key frame the start code and size, stay clear), split into RTP
     * packets of at most {@link Vp8Packetizer#MAX_CHUNK} payload bytes (RFC 7741 descriptor), the marker on the last,
     * {@code rtpTimestamp} in 90 kHz units. Sharing starts with the first frame (a key frame, so the server can start
     * forwarding) and pauses when frames stop; the track stays. Asynchronous: the packets leave from the loop thread.
     *
     * @throws IllegalStateException if not connected or without a screen-share uplink
     * @throws IllegalArgumentException if the frame is empty or longer than {@link #MAX_SCREEN_FRAME}
     */
    public void sendScreenFrame(byte[] vp8Frame, long rtpTimestamp, boolean keyFrame) {
        sender.sendScreenFrame(vp8Frame, rtpTimestamp, keyFrame);
    }

    /**
     * Sends one VP8 frame of simulcast layer {@code layer} of the camera track (needs {@link Options#withSimulcast()}):
     * 0 = {@code q} (lowest resolution), 1 = {@code h}, 2 = {@code f}. The application encodes every layer itself and
     * hands over each layer's frames with the layer's own key frames (the server switches a subscriber to a layer only
     * at a key frame of it, and reads the layer's picture height from its key frames); frames of one instant carry
     * the same {@code rtpTimestamp} (90 kHz). With E2EE each frame is SFrame-encrypted under the VP8 rule, as
     * {@link #sendScreenFrame}. Asynchronous: the packets leave from the loop thread. If the server offered no
     * simulcast, layers other than the top one are dropped here.
     *
     * @throws IllegalStateException if not connected or without a simulcast camera uplink
     * @throws IllegalArgumentException if the layer is not 0..2, or the frame is empty or longer than
     *     {@link #MAX_SCREEN_FRAME}
     */
    public void sendVideoFrame(int layer, byte[] vp8Frame, long rtpTimestamp, boolean keyFrame) {
        sender.sendVideoFrame(layer, vp8Frame, rtpTimestamp, keyFrame);
    }

    /**
     * Asks the server for received simulcast video of at most {@code maxHeight} pixels high ({@code receive},
     * docs/PROTOCOL.md §1.2): the highest layer that fits (the lowest if none does), for every received track;
     * 0 lifts the limit. The server switches at the next key frame of the chosen layer, and tells which layer each
     * track gets in {@link #downlinkStats()}.
     *
     * @throws IllegalArgumentException if {@code maxHeight} is not 0..8192
     * @throws IllegalStateException if not connected
     */
    public void setReceiveMaxHeight(int maxHeight) {
        sender.setReceiveMaxHeight(maxHeight);
    }

    /**
     * Sends a data message (docs/PROTOCOL.md §1.7) to {@code to}, or to every other member with {@code to == null},
     * through the server's signaling relay; with E2EE it is encrypted end to end under this member's current send key
     * (the future fails while there is none yet). At most {@link #MAX_DATA_BYTES} bytes.
     */
    public CompletableFuture<Void> sendData(byte[] bytes, String to) {
        return sender.sendData(bytes, to);
    }

    /** Sends text as a data message; see {@link #sendData(byte[], String)}. */
    public CompletableFuture<Void> sendData(String text, String to) {
        return sender.sendData(text, to);
    }

    /**
     * Leaves: sends {@code disconnect}, closes the WebSocket, DTLS and the socket, destroys the identity and every
     * key. The future completes once everything is closed (also if the connection had already ended).
     */
    public CompletableFuture<Void> disconnect() {
        return runtime.disconnect();
    }

    /** {@link #disconnect()} and wait (at most 10 s). */
    @Override
    public void close() {
        try {
            disconnect().get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            // closing anyway
        }
    }

    @Override
    public String toString() {
        return "Connection[" + role.wire() + " " + channelId + ", id=" + signaling.connectionId() + ", "
                + runtime.state() + "]";
    }

    // ------------------------------------------------------------------------------------------ test hooks

    /** Tests only: the keys this connection holds now (needs {@link Options#withKeysKeptForTesting()}). */
    CompletableFuture<Map<String, List<E2eeSession.KeptKey>>> exportKeysForTesting() {
        CompletableFuture<Map<String, List<E2eeSession.KeptKey>>> f = new CompletableFuture<>();
        if (!options.keepKeysForTesting()) {
            f.completeExceptionally(new IllegalStateException("connect with Options.withKeysKeptForTesting()"));
            return f;
        }
        runtime.execute(() -> f.complete(e2ee.keptKeys()));
        return f;
    }

    /** Tests only: sees every received audio payload (sender, bytes as they came, before decryption). */
    void setReceivedFrameTapForTesting(BiConsumer<String, byte[]> tap) {
        runtime.setReceivedFrameTap(tap);
    }

    /** Tests only: sends {@code payload} as an audio RTP payload as is, without SFrame (to test fail-closed). */
    void sendRawAudioPayloadForTesting(byte[] payload, long rtpTimestamp) {
        sender.sendRawAudioPayloadForTesting(payload, rtpTimestamp);
    }

    /** Tests only: whether the identity and keys were destroyed (true without E2EE once ended). */
    boolean e2eeDestroyedForTesting() {
        return e2ee.destroyed();
    }

    /**
     * Tests only: received RTP (SRTP removed, before NACK/RTX handling) for which {@code drop} says true is dropped,
     * as if lost on the way; null stops dropping. Called on the loop thread.
     */
    void setIncomingDropForTesting(java.util.function.Predicate<dev.veil.webrtc.rtp.RtpHeader> drop) {
        transport.setIncomingDropForTesting(drop);
    }

    /**
     * Tests only: the receive side's counters (feedback, NACK, RTX), read on the loop thread; null before the offer.
     */
    ReceiverFeedback.Stats receiveStatsForTesting() throws Exception {
        CompletableFuture<ReceiverFeedback.Stats> f = new CompletableFuture<>();
        runtime.execute(() -> f.complete(transport.receiveStats()));
        return f.get(10, java.util.concurrent.TimeUnit.SECONDS);
    }

    /** Tests only: runs {@code r} on the loop thread, after everything queued so far. */
    CompletableFuture<Void> onLoopForTesting(Runnable r) {
        CompletableFuture<Void> f = new CompletableFuture<>();
        runtime.execute(() -> {
            r.run();
            f.complete(null);
        });
        return f;
    }

    /**
     * Internal: Jetty's WebSocket callbacks (on Jetty's threads), each handed to the loop by the connection's
     * signaling socket. Public only because Jetty calls listener methods through a public lookup; it cannot be
     * constructed outside this package.
     */
    public static final class SignalingListener implements Session.Listener.AutoDemanding {
        private final SignalingSocket socket;

        SignalingListener(SignalingSocket socket) {
            this.socket = socket;
        }

        @Override
        public void onWebSocketText(String text) {
            socket.received(this, text);
        }

        @Override
        public void onWebSocketClose(int code, String reason, Callback callback) {
            callback.succeed();
            socket.closed(this, code, reason);
        }

        @Override
        public void onWebSocketError(Throwable cause) {
            // the close callback follows and ends the connection
        }
    }
}
