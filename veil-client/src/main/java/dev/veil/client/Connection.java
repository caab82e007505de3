package dev.veil.client;

import com.fasterxml.jackson.databind.JsonNode;
import dev.veil.e2ee.codec.FrameCryptoException;
import dev.veil.signaling.Answer;
import dev.veil.signaling.Connect;
import dev.veil.signaling.ConnectionInfo;
import dev.veil.signaling.Disconnect;
import dev.veil.signaling.E2ee;
import dev.veil.signaling.ErrorMessage;
import dev.veil.signaling.Notify;
import dev.veil.signaling.Offer;
import dev.veil.signaling.Ping;
import dev.veil.signaling.Pong;
import dev.veil.signaling.ReAnswer;
import dev.veil.signaling.ReOffer;
import dev.veil.signaling.Role;
import dev.veil.signaling.SignalingCodec;
import dev.veil.signaling.SignalingException;
import dev.veil.signaling.SignalingMessage;
import dev.veil.webrtc.dtls.DtlsCertificate;
import dev.veil.webrtc.dtls.DtlsClientEngine;
import dev.veil.webrtc.dtls.DtlsConfig;
import dev.veil.webrtc.dtls.DtlsEvent;
import dev.veil.webrtc.ice.IceCredentials;
import dev.veil.webrtc.mux.Demux;
import dev.veil.webrtc.mux.PacketKind;
import dev.veil.webrtc.rtp.RtpException;
import dev.veil.webrtc.rtp.RtpHeader;
import dev.veil.webrtc.rtp.RtpPacket;
import dev.veil.webrtc.sdp.SdpAnswer;
import dev.veil.webrtc.sdp.SdpException;
import dev.veil.webrtc.srtp.SrtpException;
import dev.veil.webrtc.srtp.SrtpSession;
import dev.veil.webrtc.stun.StunAttribute;
import dev.veil.webrtc.stun.StunClass;
import dev.veil.webrtc.stun.StunException;
import dev.veil.webrtc.stun.StunMessage;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.URI;
import java.nio.channels.DatagramChannel;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;
import org.eclipse.jetty.websocket.api.StatusCode;

/**
 * One participant in a Veil channel: a signaling WebSocket, one UDP flow to the server (ICE, DTLS, SRTP) and, with
 * {@link Options#e2ee()}, the E2EE layer (a per-connection identity, the group key manager, SFrame on every audio
 * frame). Made by {@link VeilClient}; used once: {@link #connect()}, then {@link #sendAudioFrame}, then
 * {@link #disconnect()}.
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
 * ({@link #sendScreenFrame}). Received video is forwarded by the server (the tracks are reported) but not
 * depacketized.
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

    private enum State { NEW, CONNECTING, CONNECTED, CLOSED }

    private static final AtomicInteger THREADS = new AtomicInteger();
    private static final long ICE_RETRY_MILLIS = 100;
    private static final long CONSENT_INTERVAL_MILLIS = 5_000;
    private static final long CONSENT_TIMEOUT_MILLIS = 30_000;
    private static final long PRIORITY = 1853824767L;
    /** Most {@code redirect}s one connect follows (docs/PROTOCOL.md §1.9); one more fails the connect. */
    public static final int MAX_REDIRECTS = 3;
    /** The largest Opus frame sendAudioFrame accepts: one RTP packet must fit in a 1200-byte MTU. */
    public static final int MAX_AUDIO_FRAME = 1000;
    /** The largest VP8 frame sendScreenFrame accepts (about 1,000 packets). */
    public static final int MAX_SCREEN_FRAME = 1 << 20;

    /** The signaling URL in use: the one given, or the node a {@code redirect} named. */
    private volatile URI url;
    /** Redirects followed so far (at most {@link #MAX_REDIRECTS}). */
    private int redirects;
    /** The WebSocket whose events count; events of a socket left behind by a redirect are ignored. */
    private volatile SignalingListener activeListener;
    private JsonNode connectNotifyMetadata;
    /** The server's error before the offer (a refusal), kept for {@link ReconnectingConnection}. */
    private volatile String refusal;
    private final Role role;
    private final String channelId;
    private final JsonNode metadata;
    private final Options options;
    private final LongSupplier clock;
    private final SecureRandom random = new SecureRandom();
    private final SignalingCodec codec = new SignalingCodec();
    private final List<Listener> listeners = new CopyOnWriteArrayList<>();
    private volatile dev.veil.signaling.DownlinkStats downlinkStats;
    private final CompletableFuture<Connection> connected = new CompletableFuture<>();
    private final CompletableFuture<Void> disconnected = new CompletableFuture<>();

    // written on the loop thread, read anywhere
    private volatile State state = State.NEW;
    private volatile String connectionId;
    private volatile String selfFingerprint;
    private volatile Map<String, String> remoteFingerprints = Map.of();
    private volatile String verificationCode;
    private volatile String deviceFingerprint;
    private volatile List<E2eeEvent.PeerInfo> e2eePeers = List.of();
    private volatile boolean roomVerified;
    private volatile BiConsumer<String, byte[]> receivedFrameTap;
    /** The length of the largest offer or re-offer received (the server keeps it proportional to the tracks). */
    private volatile int largestOffer;

    // loop-confined
    private EventLoop loop;
    private ExecutorService dtlsWorker;
    private Session ws;
    private E2eeSession e2ee;
    private MlsSession mls;
    private volatile long mlsEpoch = -1;
    private IceCredentials ice;
    private DtlsCertificate certificate;
    private DtlsClientEngine dtls;
    private SrtpSession srtp;
    private ClientSdp.Offer offer;
    /** The offer's ice_servers (TURN with minted credentials), empty until the offer. */
    private volatile java.util.List<dev.veil.signaling.IceServer> iceServers = java.util.List.of();
    private SocketAddress server;
    private int answers;
    private String stage = "opening the signaling WebSocket";
    private long connectDeadline;
    private boolean iceUp;
    private byte[] iceTransaction;
    private long nextIceCheck = Long.MAX_VALUE;
    private long lastConsent;
    private long ownSsrc;
    private int opusPayloadType = -1;
    private int sequence;
    private long screenSsrc;
    private int vp8PayloadType = -1;
    private int screenSequence;
    private final Map<Long, Track> tracks = new LinkedHashMap<>();
    private String serverError;

    Connection(URI url, Role role, String channelId, JsonNode metadata, Options options) {
        this.url = url;
        this.role = Objects.requireNonNull(role, "role");
        this.channelId = Objects.requireNonNull(channelId, "channelId");
        if (!SignalingCodec.CHANNEL_ID.matcher(channelId).matches()) {
            throw new IllegalArgumentException("invalid channel id: 1-255 of A-Z a-z 0-9 . _ ~ : @ + -");
        }
        this.metadata = metadata == null ? null : metadata.deepCopy();
        this.options = Objects.requireNonNull(options, "options");
        this.clock = options.clock();
    }

    // ------------------------------------------------------------------------------------------ listeners

    /** Adds a listener (see {@link Listener}); returns this. */
    public Connection addListener(Listener listener) {
        listeners.add(Objects.requireNonNull(listener, "listener"));
        return this;
    }

    public Connection removeListener(Listener listener) {
        listeners.remove(listener);
        return this;
    }

    /** Calls {@code f(senderConnectionId, decryptedOpusFrame)} for every received audio frame. */
    public Connection onAudioFrame(BiConsumer<String, byte[]> f) {
        return addListener(new Listener() {
            @Override
            public void onAudioFrame(String sender, byte[] frame) {
                f.accept(sender, frame);
            }
        });
    }

    public Connection onTrack(Consumer<Track> f) {
        return addListener(new Listener() {
            @Override
            public void onTrack(Track t) {
                f.accept(t);
            }
        });
    }

    public Connection onNotify(Consumer<Notify> f) {
        return addListener(new Listener() {
            @Override
            public void onNotify(Notify n) {
                f.accept(n);
            }
        });
    }

    public Connection onDisconnect(Consumer<String> f) {
        return addListener(new Listener() {
            @Override
            public void onDisconnect(String reason) {
                f.accept(reason);
            }
        });
    }

    public Connection onData(Consumer<DataMessage> f) {
        return addListener(new Listener() {
            @Override
            public void onData(DataMessage m) {
                f.accept(m);
            }
        });
    }

    /**
     * Sends a data message (docs/PROTOCOL.md §1.7) to {@code to}, or to every other member with {@code to == null},
     * through the server's signaling relay; with E2EE it is encrypted end to end under this member's current send key
     * (the future fails while there is none yet). At most {@link #MAX_DATA_BYTES} bytes.
     */
    public CompletableFuture<Void> sendData(byte[] bytes, String to) {
        return sendDataOfKind(DataCrypto.KIND_BYTES, bytes.clone(), to);
    }

    /** Sends text as a data message; see {@link #sendData(byte[], String)}. */
    public CompletableFuture<Void> sendData(String text, String to) {
        return sendDataOfKind(DataCrypto.KIND_TEXT, text.getBytes(java.nio.charset.StandardCharsets.UTF_8), to);
    }

    /** Largest data message body: the server takes 16 KiB payloads, less the kind byte and the SFrame overhead. */
    public static final int MAX_DATA_BYTES = 16 * 1024 - 64;

    private CompletableFuture<Void> sendDataOfKind(byte kind, byte[] body, String to) {
        CompletableFuture<Void> f = new CompletableFuture<>();
        if (body.length > MAX_DATA_BYTES) {
            f.completeExceptionally(new IllegalArgumentException("data message of " + body.length + " bytes exceeds "
                    + MAX_DATA_BYTES));
            return f;
        }
        loop.execute(() -> {
            try {
                if (state != State.CONNECTED && state != State.CONNECTING || connectionId == null) {
                    throw new IllegalStateException("not connected");
                }
                byte[] payload = mls != null ? mls.sealData(to, kind, body)
                        : e2ee != null ? e2ee.sealData(to, kind, body) : DataCrypto.frame(kind, body);
                sendSignaling(dev.veil.signaling.Data.send(to, Base64.getEncoder().encodeToString(payload)));
                f.complete(null);
            } catch (RuntimeException | FrameCryptoException e) {
                f.completeExceptionally(e);
            }
        });
        return f;
    }

    private void onDataMessage(dev.veil.signaling.Data d, long now) {
        if (d.from() == null || (d.to() != null && !d.to().equals(connectionId))) {
            return; // not a delivery, or not for this connection
        }
        byte[] payload = d.payloadBytes();
        DataMessage m;
        if (mls != null) {
            DataCrypto.Opened o = mls.openData(d.from(), d.to(), payload, now);
            if (o == null) {
                return; // dropped (never accepted in clear)
            }
            m = new DataMessage(d.from(), d.to(), o.kind() == DataCrypto.KIND_TEXT, o.body());
        } else if (e2ee != null) {
            DataCrypto.Opened o = e2ee.openData(d.from(), d.to(), payload, now);
            if (o == null) {
                return;
            }
            m = new DataMessage(d.from(), d.to(), o.kind() == DataCrypto.KIND_TEXT, o.body());
        } else {
            if (payload.length < 1 || payload[0] > DataCrypto.KIND_TEXT || payload[0] < 0) {
                return;
            }
            m = new DataMessage(d.from(), d.to(), payload[0] == DataCrypto.KIND_TEXT,
                    Arrays.copyOfRange(payload, 1, payload.length));
        }
        emit(l -> l.onData(m));
    }

    public Connection onE2ee(Consumer<E2eeEvent> f) {
        return addListener(new Listener() {
            @Override
            public void onE2ee(E2eeEvent e) {
                f.accept(e);
            }
        });
    }

    // ------------------------------------------------------------------------------------------ properties

    /**
     * The last {@code downlink-stats} the server sent (docs/PROTOCOL.md §1.2): its estimate of this connection's
     * downlink in bit/s and, per received video track, the simulcast layer it gets, layer switches, retransmissions
     * sent, NACKs received and key-frame requests sent for it; null before the first.
     */
    public dev.veil.signaling.DownlinkStats downlinkStats() {
        return downlinkStats;
    }

    /**
     * The STUN/TURN servers the server's offer named for this connection, with their time-limited TURN REST
     * credentials (docs/PROTOCOL.md §1.2 {@code ice_servers}); empty before the offer or when the server has none.
     * This SDK reaches the server's UDP host candidate directly and does not use them itself; they are here for
     * applications that hand them on (e.g. to a browser, or to their own ICE stack).
     */
    public java.util.List<dev.veil.signaling.IceServer> iceServers() {
        return iceServers;
    }

    /** This connection's id, assigned by the server (null before the offer). */
    public String connectionId() {
        return connectionId;
    }

    public String channelId() {
        return channelId;
    }

    public Role role() {
        return role;
    }

    /** Whether ICE and DTLS are up and the connection has not ended. */
    public boolean isConnected() {
        return state == State.CONNECTED;
    }

    /** This connection's identity fingerprint ("xxxx xxxx ... xxxx", 16 groups); null without E2EE. */
    /** The E2EE key mode this connection runs in ({@code "sender-keys"} or {@code "mls"}), null without E2EE. */
    public String e2eeKeyMode() {
        return options.keyMode();
    }

    /** MLS key mode: the current MLS epoch, or -1 before this member is in the group (and in other modes). */
    public long e2eeEpoch() {
        return mlsEpoch;
    }

    public String e2eeSelfFingerprint() {
        return selfFingerprint;
    }

    /** Connection id → fingerprint of every other member whose key bundle verified (empty without E2EE). */
    public Map<String, String> e2eeRemoteFingerprints() {
        return remoteFingerprints;
    }

    /**
     * The room verification code ("12345 67890 ...", 6 groups) of this connection's view, covering the channel id,
     * the E2EE mode and the frame format too (docs/PROTOCOL.md §3.2); null without E2EE.
     */
    public String e2eeVerificationCode() {
        return verificationCode;
    }

    /** The persistent device fingerprint ({@link Options#withDeviceKeyFile}), the same in every call; else null. */
    public String e2eeDeviceFingerprint() {
        return deviceFingerprint;
    }

    /** The other members with their claimed (server-relayed, unverified) names and verification state. */
    public List<E2eeEvent.PeerInfo> e2eePeers() {
        return e2eePeers;
    }

    /** True while the room code is the one {@link #markVerified()} marked. */
    public boolean e2eeRoomVerified() {
        return roomVerified;
    }

    /**
     * The room verification code was compared out of band and matches: any later change raises
     * {@link E2eeEvent.VerificationLost} (scope "room"). Fails if there is no code yet.
     */
    public CompletableFuture<Void> markVerified() {
        return onLoop(() -> e2ee.markRoomVerified());
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
        loop.execute(() -> {
            try {
                if (e2ee == null) {
                    throw new IllegalStateException("not an E2EE connection (or not set up yet)");
                }
                r.run();
                refreshVerificationView();
                f.complete(null);
            } catch (RuntimeException e) {
                f.completeExceptionally(e);
            }
        });
        return f;
    }

    private void refreshVerificationView() {
        if (e2ee != null) {
            e2eePeers = List.copyOf(e2ee.peers());
            roomVerified = e2ee.roomVerified();
        }
    }

    // ------------------------------------------------------------------------------------------ API

    /**
     * Joins: signaling, then ICE and DTLS. The future completes with this connection once media can flow, or
     * fails with a {@link VeilClientException} whose message says why (the server's refusal, for example
     * {@code e2ee is disabled on this server ...}, an unusable offer, a timeout and at which stage, ...). Calling it
     * again returns the same future.
     */
    public synchronized CompletableFuture<Connection> connect() {
        if (state != State.NEW) {
            return connected;
        }
        state = State.CONNECTING;
        // set before the loop thread starts: its first turn may run before startOnLoop (a deadline of 0 would fail
        // the connect at once)
        connectDeadline = clock.getAsLong() + options.connectTimeoutMillis();
        try {
            DatagramChannel channel = DatagramChannel.open();
            channel.bind(new InetSocketAddress(0));
            loop = new EventLoop("veil-client-" + THREADS.incrementAndGet(), channel, clock);
        } catch (IOException e) {
            state = State.CLOSED;
            connected.completeExceptionally(new VeilClientException("cannot open a UDP socket: " + e, e));
            disconnected.complete(null);
            return connected;
        }
        loop.start(new Handler());
        loop.execute(this::startOnLoop);
        return connected;
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
        if (!role.sends()) {
            throw new IllegalStateException("a recvonly connection sends no media");
        }
        if (state != State.CONNECTED) {
            throw new IllegalStateException("not connected");
        }
        if (opusFrame.length == 0 || opusFrame.length > MAX_AUDIO_FRAME) {
            throw new IllegalArgumentException("an Opus frame is 1.." + MAX_AUDIO_FRAME + " bytes");
        }
        byte[] frame = opusFrame.clone();
        long ts = rtpTimestamp & 0xffffffffL;
        loop.execute(() -> sendAudioOnLoop(frame, ts));
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
        if (!options.isScreenShare() || !role.sends()) {
            throw new IllegalStateException("no screen-share uplink: connect a sending role with Options.withScreenShare()");
        }
        if (state != State.CONNECTED) {
            throw new IllegalStateException("not connected");
        }
        if (vp8Frame.length == 0 || vp8Frame.length > MAX_SCREEN_FRAME) {
            throw new IllegalArgumentException("a VP8 frame is 1.." + MAX_SCREEN_FRAME + " bytes");
        }
        byte[] frame = vp8Frame.clone();
        long ts = rtpTimestamp & 0xffffffffL;
        loop.execute(() -> sendScreenOnLoop(frame, ts, keyFrame));
    }

    private void sendScreenOnLoop(byte[] frame, long ts, boolean keyFrame) {
        if (state != State.CONNECTED || vp8PayloadType < 0) {
            return;
        }
        byte[] payload = frame;
        if (e2ee != null) {
            try {
                payload = e2ee.encryptVp8(frame, keyFrame);
            } catch (FrameCryptoException e) {
                emitE2ee(new E2eeEvent.Error("frames", "ENCRYPT_FAILED", connectionId, e.getMessage(), 0));
                return; // never sent in clear
            }
        }
        java.util.List<byte[]> packets = Vp8Packetizer.packetize(payload, Vp8Packetizer.MAX_CHUNK);
        for (int i = 0; i < packets.size(); i++) {
            byte[] p = packets.get(i);
            screenSequence = (screenSequence + 1) & 0xffff;
            byte[] rtp = RtpPacket.build(RtpHeader.of(i == packets.size() - 1, vp8PayloadType, screenSequence, ts,
                    screenSsrc), p, 0, p.length);
            try {
                sendUdp(srtp.protectRtp(rtp));
            } catch (SrtpException e) {
                end("SRTP failed: " + e.getMessage(), false);
                return;
            }
        }
    }

    /**
     * Leaves: sends {@code disconnect}, closes the WebSocket, DTLS and the socket, destroys the identity and every
     * key. The future completes once everything is closed (also if the connection had already ended).
     */
    public CompletableFuture<Void> disconnect() {
        synchronized (this) {
            if (state == State.NEW) {
                state = State.CLOSED;
                connected.completeExceptionally(new VeilClientException("disconnected before connect"));
                disconnected.complete(null);
                return disconnected;
            }
        }
        loop.execute(() -> {
            if (state != State.CLOSED) {
                sendSignaling(new Disconnect(null));
                end("disconnected by the application", true);
            }
        });
        return disconnected;
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
        return "Connection[" + role.wire() + " " + channelId + ", id=" + connectionId + ", " + state + "]";
    }

    // ------------------------------------------------------------------------------------------ test hooks

    /** Tests only: the keys this connection holds now (needs {@link Options#withKeysKeptForTesting()}). */
    CompletableFuture<Map<String, List<E2eeSession.KeptKey>>> exportKeysForTesting() {
        CompletableFuture<Map<String, List<E2eeSession.KeptKey>>> f = new CompletableFuture<>();
        if (!options.keepKeysForTesting()) {
            f.completeExceptionally(new IllegalStateException("connect with Options.withKeysKeptForTesting()"));
            return f;
        }
        loop.execute(() -> {
            Map<String, List<E2eeSession.KeptKey>> out = new LinkedHashMap<>(e2ee.keptReceiveKeys());
            if (e2ee.keptSendKey() != null) {
                out.put("self", List.of(e2ee.keptSendKey()));
            }
            f.complete(out);
        });
        return f;
    }

    /** Tests only: sees every received audio payload (sender, bytes as they came, before decryption). */
    /** The length in characters of the largest SDP offer or re-offer this connection received so far. */
    public int largestOfferLength() {
        return largestOffer;
    }

    void setReceivedFrameTapForTesting(BiConsumer<String, byte[]> tap) {
        this.receivedFrameTap = tap;
    }

    /** Tests only: sends {@code payload} as an audio RTP payload as is, without SFrame (to test fail-closed). */
    void sendRawAudioPayloadForTesting(byte[] payload, long rtpTimestamp) {
        if (state != State.CONNECTED) {
            throw new IllegalStateException("not connected");
        }
        byte[] p = payload.clone();
        loop.execute(() -> {
            sequence = (sequence + 1) & 0xffff;
            byte[] rtp = RtpPacket.build(RtpHeader.of(false, opusPayloadType, sequence, rtpTimestamp, ownSsrc), p, 0,
                    p.length);
            try {
                sendUdp(srtp.protectRtp(rtp));
            } catch (SrtpException e) {
                throw new IllegalStateException(e);
            }
        });
    }

    /** Tests only: whether the identity and keys were destroyed (true without E2EE once ended). */
    boolean e2eeDestroyedForTesting() {
        return e2ee == null || e2ee.isDestroyed();
    }

    /** Tests only: runs {@code r} on the loop thread, after everything queued so far. */
    CompletableFuture<Void> onLoopForTesting(Runnable r) {
        CompletableFuture<Void> f = new CompletableFuture<>();
        loop.execute(() -> {
            r.run();
            f.complete(null);
        });
        return f;
    }

    // ------------------------------------------------------------------------------------------ the loop

    private void startOnLoop() {
        long now = clock.getAsLong();
        connectDeadline = now + options.connectTimeoutMillis();
        JsonNode notifyMetadata = options.signalingNotifyMetadata();
        try {
            ice = IceCredentials.random(random);
            certificate = DtlsCertificate.generate(random, System.currentTimeMillis());
            String name = Thread.currentThread().getName() + "-dtls";
            // one thread while a handshake runs (DtlsClientEngine's executor seam), gone a second after it ends
            dtlsWorker = new ThreadPoolExecutor(0, 1, 1, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
                Thread t = new Thread(r, name);
                t.setDaemon(true);
                return t;
            });
            dtls = new DtlsClientEngine(certificate, DtlsConfig.defaults(), dtlsWorker, loop::wakeup, random);
            if (options.isMls()) {
                mls = new MlsSession(random, this::emitE2ee, this::sendSignaling, options.deviceKeyFile() == null
                        ? null : dev.veil.e2ee.identity.DeviceIdentity.loadOrCreate(options.deviceKeyFile(), random),
                        options.mlsExternalSender());
                deviceFingerprint = mls.deviceFingerprint();
            } else if (options.isE2ee()) {
                dev.veil.e2ee.identity.DeviceIdentity device = options.deviceKeyFile() == null ? null
                        : dev.veil.e2ee.identity.DeviceIdentity.loadOrCreate(options.deviceKeyFile(), random);
                e2ee = new E2eeSession(random, options.keepKeysForTesting(), this::emitE2ee,
                        (to, payload) -> sendSignaling(E2ee.to(to, payload)),
                        (sender, frame) -> emit(l -> l.onAudioFrame(sender, frame)), device,
                        options.verifiedPeers() != null ? options.verifiedPeers()
                                : options.deviceKeyFile() != null
                                        ? VerifiedPeers.load(VerifiedPeers.fileFor(options.deviceKeyFile()))
                                        : new VerifiedPeers(),
                        options.deviceCertificateGraceMillis(), options.passphrase());
                selfFingerprint = e2ee.selfFingerprint();
                deviceFingerprint = e2ee.deviceFingerprint();
                notifyMetadata = e2ee.notifyMetadata(notifyMetadata);
            }
        } catch (GeneralSecurityException | IOException | RuntimeException e) {
            fail("cannot set up the connection: " + e.getMessage());
            return;
        }
        connectNotifyMetadata = notifyMetadata;
        openSignaling();
    }

    /** Opens the signaling WebSocket to {@link #url}; {@code connect} goes out once it is open. Loop thread. */
    private void openSignaling() {
        SignalingListener listener = new SignalingListener();
        activeListener = listener;
        URI target = url;
        stage = "opening the signaling WebSocket " + target;
        try {
            SharedWebSocketClient.get().connect(listener, target).whenComplete((s, err) -> {
                if (err != null) {
                    loop.execute(() -> {
                        if (listener == activeListener) {
                            fail("cannot open the signaling WebSocket " + target + ": " + err.getMessage());
                        }
                    });
                } else {
                    loop.execute(() -> onSignalingOpen(listener, s));
                }
            });
        } catch (Exception e) {
            fail("cannot open the signaling WebSocket " + target + ": " + e.getMessage());
        }
    }

    private void onSignalingOpen(SignalingListener listener, Session s) {
        if (state == State.CLOSED || listener != activeListener) {
            s.close();
            return;
        }
        ws = s;
        stage = "waiting for the server's offer";
        Connect connect = new Connect(role, channelId, metadata, connectNotifyMetadata, options.isE2ee(),
                role.sends(), false, 0, options.isScreenShare() && role.sends()).withToken(options.token());
        if (options.isE2ee()) {
            connect = connect.withKeyMode(options.keyMode());
        }
        sendSignaling(connect);
    }

    /**
     * {@code redirect} (docs/PROTOCOL.md §1.9): another node owns the channel. Before the offer only, at most {@link
     * #MAX_REDIRECTS} times, never from wss to ws: this socket is dropped and the same connect goes to the location.
     */
    private void onRedirect(dev.veil.signaling.Redirect r) {
        if (connectionId != null) {
            protocolFailure("the server sent a redirect after its offer");
            return;
        }
        URI to;
        try {
            to = URI.create(r.location());
        } catch (IllegalArgumentException e) {
            fail("unusable redirect location");
            return;
        }
        if (redirects >= MAX_REDIRECTS) {
            fail("more than " + MAX_REDIRECTS + " redirects (last to " + to + ")");
            return;
        }
        if ("wss".equalsIgnoreCase(url.getScheme()) && !"wss".equalsIgnoreCase(to.getScheme())) {
            fail("refusing a redirect from wss to " + to.getScheme() + " (" + to + ")");
            return;
        }
        redirects++;
        Session old = ws;
        ws = null;
        synchronized (wsOut) {
            wsOut.clear();
            wsWriting = false;
        }
        activeListener = null;
        if (old != null) {
            old.close(StatusCode.NORMAL, "redirected", Callback.NOOP);
        }
        url = to;
        openSignaling();
    }

    /** The signaling URL in use: the one given, or the node a redirect named. */
    public URI signalingUrl() {
        return url;
    }

    /** Redirects this connect followed. */
    public int redirectCount() {
        return redirects;
    }

    /** The server's refusal before its offer ({@code error} reason), or null; a refused connect is not retried. */
    String refusal() {
        return refusal;
    }

    // Jetty takes one outstanding sendText at a time (another fails with WritePendingException): queue the rest.
    private final java.util.ArrayDeque<String> wsOut = new java.util.ArrayDeque<>();
    private boolean wsWriting;

    private void sendSignaling(SignalingMessage m) {
        Session s = ws;
        if (s == null || !s.isOpen()) {
            return;
        }
        String text = codec.encode(m);
        synchronized (wsOut) {
            if (wsWriting) {
                wsOut.addLast(text);
                return;
            }
            wsWriting = true;
        }
        writeText(s, text);
    }

    private void writeText(Session s, String text) {
        Runnable next = () -> {
            String t;
            synchronized (wsOut) {
                t = wsOut.pollFirst();
                if (t == null) {
                    wsWriting = false;
                    return;
                }
            }
            writeText(s, t);
        };
        try {
            s.sendText(text, Callback.from(next, e -> {
                synchronized (wsOut) {
                    wsOut.clear();
                    wsWriting = false;
                }
            }));
        } catch (RuntimeException e) {
            synchronized (wsOut) {
                wsOut.clear();
                wsWriting = false;
            }
        }
    }

    private void onSignalingText(String text) {
        if (state == State.CLOSED) {
            return;
        }
        SignalingMessage m;
        try {
            m = codec.decode(text);
        } catch (SignalingException e) {
            protocolFailure("the server sent an undecodable message: " + e.getMessage());
            return;
        }
        long now = clock.getAsLong();
        if (m instanceof Offer o) {
            onOffer(o, now);
        } else if (m instanceof ReOffer r) {
            onReOffer(r);
        } else if (m instanceof Notify n) {
            onNotifyMessage(n, now);
        } else if (m instanceof E2ee e) {
            if (e.from() == null) {
                return;
            }
            if (e2ee != null) {
                e2ee.relayMessage(now, e.from(), e.payload());
            }
        } else if (m instanceof dev.veil.signaling.Data d) {
            onDataMessage(d, now);
        } else if (m instanceof dev.veil.signaling.DownlinkStats d) {
            downlinkStats = d;
            emit(l -> l.onDownlinkStats(d));
        } else if (m instanceof dev.veil.signaling.Mls ml) {
            if (mls != null) {
                mls.onMessage(ml, now);
                mlsEpoch = mls.epoch();
            }
        } else if (m instanceof dev.veil.signaling.MlsEvent ev) {
            if (mls != null) {
                mls.onEvent(ev, now);
                mlsEpoch = mls.epoch();
            }
        } else if (m instanceof Ping) {
            sendSignaling(new Pong());
        } else if (m instanceof dev.veil.signaling.Redirect r) {
            onRedirect(r);
        } else if (m instanceof ErrorMessage err) {
            serverError = err.reason();
            if (connectionId == null) {
                refusal = err.reason();
            }
            if (state == State.CONNECTING) {
                fail("the server refused the connection: " + err.reason());
            }
        } else if (m instanceof dev.veil.signaling.Draining dr) {
            emit(l -> l.onDraining(dr.deadlineMs()));
        } else if (m instanceof Disconnect d) {
            String reason = serverError != null ? serverError
                    : d.reason() != null ? "the server disconnected: " + d.reason() : "the server disconnected";
            end(reason, false);
        }
    }

    private void onSignalingClosed(int code, String reason) {
        if (state == State.CLOSED) {
            return;
        }
        String why = serverError != null ? "the server closed the connection: " + serverError
                : "the signaling WebSocket closed (" + code + (reason == null ? "" : " " + reason) + ")";
        end(why, false);
    }

    private void onOffer(Offer o, long now) {
        if (connectionId != null) {
            protocolFailure("the server sent a second offer");
            return;
        }
        if (options.isE2ee() && !o.e2ee()) {
            fail("channel " + channelId + " is not end-to-end encrypted, but E2EE was asked for: refusing (fail closed)");
            return;
        }
        if (!options.isE2ee() && o.e2ee()) {
            fail("channel " + channelId + " is end-to-end encrypted: connect with Options.e2ee()");
            return;
        }
        ClientSdp.Offer parsed;
        largestOffer = Math.max(largestOffer, o.sdp().length());
        try {
            parsed = ClientSdp.parseOffer(o.sdp());
        } catch (SdpException e) {
            fail("unusable offer from the server: " + e.getMessage());
            return;
        }
        if (role.sends()) {
            SdpAnswer.Media up = parsed.uploadAudio();
            opusPayloadType = up == null ? -1 : ClientSdp.opusPayloadType(up);
            if (opusPayloadType < 0) {
                fail("the server's offer has no Opus audio m-line to send on");
                return;
            }
            if (options.isScreenShare()) {
                SdpAnswer.Media screen = parsed.uploadScreen();
                vp8PayloadType = screen == null ? -1 : ClientSdp.vp8PayloadType(screen);
                if (vp8PayloadType < 0) {
                    fail("the server's offer has no VP8 screen-share m-line to send on");
                    return;
                }
            }
        }
        connectionId = o.connectionId();
        iceServers = o.iceServers();
        offer = parsed;
        server = parsed.candidate();
        try {
            dtls.setRemoteFingerprint(parsed.fingerprint());
        } catch (RuntimeException e) {
            fail("unusable DTLS fingerprint in the offer: " + e.getMessage());
            return;
        }
        ownSsrc = random.nextInt() & 0xffffffffL;
        sequence = random.nextInt(0x10000);
        if (vp8PayloadType >= 0) {
            do {
                screenSsrc = random.nextInt() & 0xffffffffL;
            } while (screenSsrc == 0 || screenSsrc == ownSsrc);
            screenSequence = random.nextInt(0x10000);
        }
        sendSignaling(new Answer(answer(parsed)));
        if (e2ee != null) {
            e2ee.start(connectionId, channelId);
        }
        if (mls != null) {
            mls.start(connectionId);
        }
        updateTracks(parsed);
        stage = "ICE: no answer to the connectivity check from " + server;
        sendIceCheck(true);
        nextIceCheck = now + ICE_RETRY_MILLIS;
    }

    private String answer(ClientSdp.Offer o) {
        answers++;
        return ClientSdp.answer(o, Integer.toString(answers + 1), ice.ufrag(), ice.password(),
                certificate.fingerprint(), role.sends(), role.receives(), ownSsrc, screenSsrc, "veil-java-" + connectionId);
    }

    private void onReOffer(ReOffer r) {
        if (offer == null) {
            protocolFailure("re-offer before offer");
            return;
        }
        ClientSdp.Offer parsed;
        largestOffer = Math.max(largestOffer, r.sdp().length());
        try {
            parsed = ClientSdp.parseOffer(r.sdp());
        } catch (SdpException e) {
            protocolFailure("unusable re-offer from the server: " + e.getMessage());
            return;
        }
        offer = parsed;
        sendSignaling(new ReAnswer(answer(parsed)));
        updateTracks(parsed);
    }

    private void updateTracks(ClientSdp.Offer o) {
        Map<Long, Track> now = new LinkedHashMap<>();
        for (Track t : o.tracks()) {
            now.put(t.ssrc(), t);
        }
        List<Track> removed = new ArrayList<>();
        for (Track t : tracks.values()) {
            if (!t.equals(now.get(t.ssrc()))) {
                removed.add(t);
            }
        }
        List<Track> added = new ArrayList<>();
        for (Track t : now.values()) {
            if (!t.equals(tracks.get(t.ssrc()))) {
                added.add(t);
            }
        }
        tracks.clear();
        tracks.putAll(now);
        for (Track t : removed) {
            emit(l -> l.onRemoveTrack(t));
        }
        for (Track t : added) {
            emit(l -> l.onTrack(t));
        }
    }

    private void onNotifyMessage(Notify n, long now) {
        String self = connectionId;
        if (e2ee != null && self != null) {
            if (n.eventType() == Notify.EventType.CONNECTION_CREATED) {
                if (n.connectionId().equals(self)) {
                    if (n.data() != null) {
                        List<Map.Entry<String, JsonNode>> list = new ArrayList<>();
                        for (ConnectionInfo ci : n.data()) {
                            if (!ci.connectionId().equals(self)) {
                                list.add(new AbstractMap.SimpleImmutableEntry<>(ci.connectionId(),
                                        ci.signalingNotifyMetadata()));
                            }
                        }
                        e2ee.membersJoined(now, list);
                    }
                } else {
                    e2ee.membersJoined(now, List.of(new AbstractMap.SimpleImmutableEntry<>(n.connectionId(),
                            n.signalingNotifyMetadata())));
                }
            } else if (n.eventType() == Notify.EventType.CONNECTION_DESTROYED && !n.connectionId().equals(self)) {
                e2ee.memberLeft(now, n.connectionId());
            }
        }
        if (mls != null && self != null) {
            if (n.eventType() == Notify.EventType.CONNECTION_DESTROYED && !n.connectionId().equals(self)) {
                mls.memberLeft(n.connectionId(), now);
            } else if (n.eventType() == Notify.EventType.CONNECTION_CREATED) {
                if (!n.connectionId().equals(self)) {
                    mls.memberJoined(n.connectionId(), now);
                } else if (n.data() != null) {
                    for (ConnectionInfo ci : n.data()) {
                        mls.memberJoined(ci.connectionId(), now);
                    }
                }
            }
            mlsEpoch = mls.epoch();
        }
        emit(l -> l.onNotify(n));
    }

    private void emitE2ee(E2eeEvent ev) {
        if (ev instanceof E2eeEvent.MlsEpoch me) {
            mlsEpoch = me.epoch();
            verificationCode = me.verificationCode();
        }
        if (ev instanceof E2eeEvent.Fingerprints f) {
            remoteFingerprints = f.remote();
        } else if (ev instanceof E2eeEvent.VerificationCodeChanged c) {
            verificationCode = c.code();
        }
        refreshVerificationView();
        emit(l -> l.onE2ee(ev));
    }

    // ------------------------------------------------------------------------------------------ media

    private void sendIceCheck(boolean useCandidate) {
        iceTransaction = new byte[12];
        random.nextBytes(iceTransaction);
        StunMessage.Builder b = StunMessage.builder(StunClass.REQUEST, StunMessage.METHOD_BINDING, iceTransaction)
                .add(new StunAttribute.Username(offer.iceUfrag() + ":" + ice.ufrag()))
                .add(new StunAttribute.IceControlling(random.nextLong()))
                .add(new StunAttribute.Priority(PRIORITY));
        if (useCandidate) {
            b.add(new StunAttribute.UseCandidate());
        }
        sendUdp(b.encode(offer.icePwd().getBytes(StandardCharsets.UTF_8), true));
    }

    private void sendUdp(byte[] d) {
        try {
            loop.send(d, server);
        } catch (IOException e) {
            // UDP is lossy anyway: retransmission (ICE, DTLS) or the next frame covers it
        }
    }

    private void onDatagram(byte[] d, SocketAddress from, long now) {
        if (server == null || !server.equals(from) || state == State.CLOSED) {
            return; // only the server's candidate may talk to us
        }
        PacketKind kind = Demux.classify(d);
        if (kind == PacketKind.STUN) {
            onStun(d, now);
        } else if (kind == PacketKind.DTLS) {
            if (iceUp) {
                dtls.handleDatagram(d, now);
            }
        } else if (kind == PacketKind.RTP && srtp != null) {
            onRtp(d, now);
        }
        // SRTCP (receiver/sender reports, feedback about video) is not used by an audio-only client
    }

    private void onStun(byte[] d, long now) {
        StunMessage m;
        try {
            m = StunMessage.decode(d);
        } catch (StunException e) {
            return;
        }
        if (m.messageClass() != StunClass.SUCCESS_RESPONSE || iceTransaction == null
                || !Arrays.equals(m.transactionId(), iceTransaction)
                || !m.verifyIntegrity(offer.icePwd().getBytes(StandardCharsets.UTF_8))) {
            return;
        }
        iceTransaction = null;
        lastConsent = now;
        if (!iceUp) {
            iceUp = true;
            stage = "DTLS handshake with " + server;
            dtls.start(now);
        }
        nextIceCheck = now + CONSENT_INTERVAL_MILLIS;
    }

    private void onRtp(byte[] d, long now) {
        byte[] plain;
        RtpPacket p;
        try {
            plain = srtp.unprotectRtp(d);
            p = RtpPacket.parse(plain);
        } catch (SrtpException | RtpException e) {
            return; // forged, replayed or broken: dropped (SRTP authenticates every packet)
        }
        Track t = tracks.get(p.header().ssrc());
        if (t == null || !t.kind().equals("audio") || p.payloadLength() == 0) {
            return;
        }
        byte[] payload = Arrays.copyOfRange(plain, p.payloadOffset(), p.payloadOffset() + p.payloadLength());
        BiConsumer<String, byte[]> tap = receivedFrameTap;
        if (tap != null) {
            tap.accept(t.connectionId(), payload.clone());
        }
        byte[] frame = payload;
        if (e2ee != null) {
            frame = e2ee.decryptOpus(t.connectionId(), payload, now);
            if (frame == null) {
                return; // dropped and reported
            }
        } else if (mls != null) {
            frame = mls.decryptOpus(t.connectionId(), payload, now);
            if (frame == null) {
                return; // dropped and reported
            }
        }
        byte[] out = frame;
        emit(l -> l.onAudioFrame(t.connectionId(), out));
    }

    private void sendAudioOnLoop(byte[] frame, long ts) {
        if (state != State.CONNECTED) {
            return;
        }
        byte[] payload = frame;
        if (e2ee != null || mls != null) {
            try {
                payload = e2ee != null ? e2ee.encryptOpus(frame) : mls.encryptOpus(frame);
            } catch (FrameCryptoException e) {
                emitE2ee(new E2eeEvent.Error("frames", "ENCRYPT_FAILED", connectionId, e.getMessage(), 0));
                return; // never sent in clear
            }
        }
        sequence = (sequence + 1) & 0xffff;
        byte[] rtp = RtpPacket.build(RtpHeader.of(false, opusPayloadType, sequence, ts, ownSsrc), payload, 0,
                payload.length);
        try {
            sendUdp(srtp.protectRtp(rtp));
        } catch (SrtpException e) {
            end("SRTP failed: " + e.getMessage(), false);
        }
    }

    private void onWake(long now) {
        if (state == State.CLOSED) {
            return;
        }
        if (dtls != null) {
            dtls.poll(now);
            for (byte[] d; (d = dtls.pollTransmit()) != null; ) {
                sendUdp(d);
            }
            for (DtlsEvent e; (e = dtls.pollEvent()) != null; ) {
                onDtlsEvent(e);
                if (state == State.CLOSED) {
                    return;
                }
            }
        }
        if (state == State.CONNECTING && now >= connectDeadline) {
            fail("connect timed out after " + options.connectTimeoutMillis() + " ms while " + stage);
            return;
        }
        if (offer != null && now >= nextIceCheck) {
            if (iceUp && now - lastConsent > CONSENT_TIMEOUT_MILLIS) {
                end("ICE consent lost: the server did not answer for " + CONSENT_TIMEOUT_MILLIS / 1000 + " s", false);
                return;
            }
            sendIceCheck(!iceUp);
            nextIceCheck = now + (iceUp ? CONSENT_INTERVAL_MILLIS : ICE_RETRY_MILLIS);
        }
        if (e2ee != null) {
            var t = e2ee.nextTimeout();
            if (t.isPresent() && now >= t.getAsLong()) {
                e2ee.timeout(now);
            }
        }
        if (mls != null) {
            var t = mls.nextTimeout();
            if (t.isPresent() && now >= t.getAsLong()) {
                mls.timeout(now);
            }
        }
    }

    private long nextDeadline() {
        long d = Long.MAX_VALUE;
        if (state == State.CONNECTING) {
            d = connectDeadline;
        }
        d = Math.min(d, nextIceCheck);
        if (dtls != null) {
            d = Math.min(d, dtls.nextTimeoutMillis());
        }
        if (e2ee != null) {
            var t = e2ee.nextTimeout();
            if (t.isPresent()) {
                d = Math.min(d, t.getAsLong());
            }
        }
        if (mls != null) {
            var t = mls.nextTimeout();
            if (t.isPresent()) {
                d = Math.min(d, t.getAsLong());
            }
        }
        return d;
    }

    private void onDtlsEvent(DtlsEvent e) {
        if (e instanceof DtlsEvent.HandshakeComplete hc) {
            try {
                srtp = SrtpSession.forClient(hc.keys());
            } catch (GeneralSecurityException ex) {
                fail("cannot set up SRTP: " + ex.getMessage());
                return;
            }
            stage = "connected";
            state = State.CONNECTED;
            connected.complete(this);
        } else if (e instanceof DtlsEvent.Failed f) {
            end("DTLS failed (" + f.reason() + "): " + f.detail(), false);
        } else if (e instanceof DtlsEvent.Closed c) {
            end("the server closed DTLS: " + c.reason(), false);
        }
    }

    // ------------------------------------------------------------------------------------------ ending

    private void protocolFailure(String reason) {
        sendSignaling(new Disconnect("protocol violation"));
        end(reason, false);
    }

    private void fail(String reason) {
        end(reason, false);
    }

    /** Ends the connection (loop thread): everything closed, keys destroyed, listeners told once. */
    private void end(String reason, boolean byApplication) {
        if (state == State.CLOSED) {
            return;
        }
        boolean wasConnecting = state == State.CONNECTING;
        state = State.CLOSED;
        if (dtls != null) {
            dtls.close();
            for (byte[] d; (d = dtls.pollTransmit()) != null; ) {
                if (server != null) {
                    sendUdp(d);
                }
            }
        }
        if (mls != null) {
            mls.destroy();
        }
        if (e2ee != null) {
            e2ee.destroy();
        }
        srtp = null;
        tracks.clear();
        if (dtlsWorker != null) {
            dtlsWorker.shutdownNow();
        }
        loop.stop();
        if (wasConnecting) {
            connected.completeExceptionally(new VeilClientException(reason));
        }
        emit(l -> l.onDisconnect(reason));
        Session s = ws;
        EventLoop l = loop;
        // the loop must not block on Jetty's close handshake
        Thread closer = new Thread(() -> {
            try {
                if (s != null && s.isOpen()) {
                    CompletableFuture<Void> closedWs = new CompletableFuture<>();
                    s.close(StatusCode.NORMAL, byApplication ? "disconnect" : "closing",
                            Callback.from(() -> closedWs.complete(null), closedWs::completeExceptionally));
                    closedWs.get(2, TimeUnit.SECONDS);
                }
            } catch (Exception ignored) {
                // stopping the client below closes it anyway
            }
            try {
                l.join(5_000);
            } catch (InterruptedException ignored) {
                // best effort
            }
            disconnected.complete(null);
        }, "veil-client-close");
        closer.setDaemon(true);
        closer.start();
    }

    private void emit(Consumer<Listener> call) {
        for (Listener l : listeners) {
            try {
                call.accept(l);
            } catch (RuntimeException e) {
                // a listener's failure is the application's, not the connection's
            }
        }
    }

    private final class Handler implements EventLoop.Handler {
        @Override
        public void onDatagram(byte[] datagram, SocketAddress from, long now) {
            Connection.this.onDatagram(datagram, from, now);
        }

        @Override
        public void onWake(long now) {
            Connection.this.onWake(now);
        }

        @Override
        public long nextDeadline() {
            return Connection.this.nextDeadline();
        }

        @Override
        public void onFailure(Throwable t) {
            end("internal error: " + t, false);
        }
    }

    /**
     * Internal: Jetty's WebSocket callbacks (on Jetty's threads), each handed to the loop. Public only because Jetty
     * calls listener methods through a public lookup; it cannot be constructed outside this class.
     */
    public final class SignalingListener implements Session.Listener.AutoDemanding {
        private SignalingListener() {}

        @Override
        public void onWebSocketText(String text) {
            loop.execute(() -> {
                if (this == activeListener) {
                    onSignalingText(text);
                }
            });
        }

        @Override
        public void onWebSocketClose(int code, String reason, Callback callback) {
            callback.succeed();
            loop.execute(() -> {
                if (this == activeListener) {
                    onSignalingClosed(code, reason);
                }
            });
        }

        @Override
        public void onWebSocketError(Throwable cause) {
            // the close callback follows and ends the connection
        }
    }
}
