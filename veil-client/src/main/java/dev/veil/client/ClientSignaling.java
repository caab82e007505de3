package dev.veil.client;

import com.fasterxml.jackson.databind.JsonNode;
import dev.veil.signaling.Answer;
import dev.veil.signaling.Connect;
import dev.veil.signaling.Data;
import dev.veil.signaling.Disconnect;
import dev.veil.signaling.DownlinkStats;
import dev.veil.signaling.Draining;
import dev.veil.signaling.E2ee;
import dev.veil.signaling.ErrorMessage;
import dev.veil.signaling.IceServer;
import dev.veil.signaling.Mls;
import dev.veil.signaling.MlsEvent;
import dev.veil.signaling.Notify;
import dev.veil.signaling.Offer;
import dev.veil.signaling.Ping;
import dev.veil.signaling.Pong;
import dev.veil.signaling.ReAnswer;
import dev.veil.signaling.ReOffer;
import dev.veil.signaling.Redirect;
import dev.veil.signaling.Role;
import dev.veil.signaling.SignalingCodec;
import dev.veil.signaling.SignalingException;
import dev.veil.signaling.SignalingMessage;
import dev.veil.webrtc.sdp.SdpAnswer;
import dev.veil.webrtc.sdp.SdpException;
import java.net.URI;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.function.LongSupplier;

/**
 * The client side of the signaling protocol (docs/PROTOCOL.md §1) for one {@link Connection}: {@code connect} once
 * the WebSocket is open, following at most {@link Connection#MAX_REDIRECTS} {@code redirect}s before the offer; the
 * offer (checked against the options: E2EE both ways or neither, Opus and, for screen share, VP8 to send on) and
 * re-offers, each answered; the received tracks; and every other message, handed to the E2EE layer, the listeners
 * or the connection's end. Loop-confined, apart from the values its getters publish.
 */
final class ClientSignaling implements SignalingSocket.Events {
    private final Role role;
    private final String channelId;
    private final JsonNode metadata;
    private final Options options;
    private final LongSupplier clock;
    private final ConnectionLifecycle life;
    private final ConnectionListeners listeners;
    private final ConnectionE2ee e2ee;
    private final MediaTransport transport;
    private final SignalingCodec codec = new SignalingCodec();
    private final SignalingSocket socket;

    // written on the loop thread, read anywhere
    /** The signaling URL in use: the one given, or the node a {@code redirect} named. */
    private volatile URI url;
    /** Redirects followed so far (at most {@link Connection#MAX_REDIRECTS}). */
    private int redirects;
    /** The server's error before the offer (a refusal), kept for {@link ReconnectingConnection}. */
    private volatile String refusal;
    private volatile String connectionId;
    private volatile DownlinkStats downlinkStats;
    /** The offer's ice_servers (TURN with minted credentials), empty until the offer. */
    private volatile List<IceServer> iceServers = List.of();
    /** The length of the largest offer or re-offer received (the server keeps it proportional to the tracks). */
    private volatile int largestOffer;

    // loop-confined
    private JsonNode connectNotifyMetadata;
    private ClientSdp.Offer offer;
    private int answers;
    private final Map<Long, Track> tracks = new LinkedHashMap<>();
    private String serverError;

    ClientSignaling(URI url, Role role, String channelId, JsonNode metadata, Options options, Executor loop,
                    ConnectionLifecycle life, ConnectionListeners listeners, ConnectionE2ee e2ee,
                    MediaTransport transport) {
        this.url = url;
        this.role = role;
        this.channelId = channelId;
        this.metadata = metadata;
        this.options = options;
        this.clock = options.clock();
        this.life = life;
        this.listeners = listeners;
        this.e2ee = e2ee;
        this.transport = transport;
        this.socket = new SignalingSocket(loop, life, codec, this);
    }

    /** Opens the signaling WebSocket; {@code connect} (with {@code notifyMetadata}) goes out once it is open. */
    void open(JsonNode notifyMetadata) {
        connectNotifyMetadata = notifyMetadata;
        socket.open(url);
    }

    void send(SignalingMessage m) {
        socket.send(m);
    }

    SignalingSocket socket() {
        return socket;
    }

    @Override
    public void onOpen() {
        life.stage("waiting for the server's offer");
        Connect connect = new Connect(role, channelId, metadata, connectNotifyMetadata, options.isE2ee(),
                role.sends(), options.isSimulcast() && role.sends(), 0, options.isScreenShare() && role.sends()).withToken(options.token());
        if (options.isE2ee()) {
            connect = connect.withKeyMode(options.keyMode());
        }
        send(connect);
    }

    /**
     * {@code redirect} (docs/PROTOCOL.md §1.9): another node owns the channel. Before the offer only, at most {@link
     * Connection#MAX_REDIRECTS} times, never from wss to ws: this socket is dropped and the same connect goes to the
     * location.
     */
    private void onRedirect(Redirect r) {
        if (connectionId != null) {
            life.protocolFailure("the server sent a redirect after its offer");
            return;
        }
        URI to;
        try {
            to = URI.create(r.location());
        } catch (IllegalArgumentException e) {
            life.end("unusable redirect location");
            return;
        }
        if (redirects >= Connection.MAX_REDIRECTS) {
            life.end("more than " + Connection.MAX_REDIRECTS + " redirects (last to " + to + ")");
            return;
        }
        if ("wss".equalsIgnoreCase(url.getScheme()) && !"wss".equalsIgnoreCase(to.getScheme())) {
            life.end("refusing a redirect from wss to " + to.getScheme() + " (" + to + ")");
            return;
        }
        redirects++;
        socket.drop();
        url = to;
        socket.open(url);
    }

    @Override
    public void onText(String text) {
        if (life.isClosed()) {
            return;
        }
        SignalingMessage m;
        try {
            m = codec.decode(text);
        } catch (SignalingException e) {
            life.protocolFailure("the server sent an undecodable message: " + e.getMessage());
            return;
        }
        long now = clock.getAsLong();
        if (m instanceof Offer o) {
            onOffer(o, now);
        } else if (m instanceof ReOffer r) {
            onReOffer(r);
        } else if (m instanceof Notify n) {
            e2ee.onNotify(n, connectionId, now);
            listeners.emit(l -> l.onNotify(n));
        } else if (m instanceof E2ee e) {
            e2ee.onRelay(e, now);
        } else if (m instanceof Data d) {
            DataMessage message = e2ee.openData(d, connectionId, now);
            if (message != null) {
                listeners.emit(l -> l.onData(message));
            }
        } else if (m instanceof DownlinkStats d) {
            downlinkStats = d;
            listeners.emit(l -> l.onDownlinkStats(d));
        } else if (m instanceof Mls ml) {
            e2ee.onMls(ml, now);
        } else if (m instanceof MlsEvent ev) {
            e2ee.onMlsEvent(ev, now);
        } else if (m instanceof Ping) {
            send(new Pong());
        } else if (m instanceof Redirect r) {
            onRedirect(r);
        } else if (m instanceof ErrorMessage err) {
            serverError = err.reason();
            if (connectionId == null) {
                refusal = err.reason();
            }
            if (life.isConnecting()) {
                life.end("the server refused the connection: " + err.reason());
            }
        } else if (m instanceof Draining dr) {
            listeners.emit(l -> l.onDraining(dr.deadlineMs()));
        } else if (m instanceof Disconnect d) {
            String reason = serverError != null ? serverError
                    : d.reason() != null ? "the server disconnected: " + d.reason() : "the server disconnected";
            life.end(reason);
        }
    }

    @Override
    public void onClosed(int code, String reason) {
        if (life.isClosed()) {
            return;
        }
        String why = serverError != null ? "the server closed the connection: " + serverError
                : "the signaling WebSocket closed (" + code + (reason == null ? "" : " " + reason) + ")";
        life.end(why);
    }

    private void onOffer(Offer o, long now) {
        if (connectionId != null) {
            life.protocolFailure("the server sent a second offer");
            return;
        }
        if (options.isE2ee() && !o.e2ee()) {
            life.end("channel " + channelId
                    + " is not end-to-end encrypted, but E2EE was asked for: refusing (fail closed)");
            return;
        }
        if (!options.isE2ee() && o.e2ee()) {
            life.end("channel " + channelId + " is end-to-end encrypted: connect with Options.e2ee()");
            return;
        }
        ClientSdp.Offer parsed;
        largestOffer = Math.max(largestOffer, o.sdp().length());
        try {
            parsed = ClientSdp.parseOffer(o.sdp());
        } catch (SdpException e) {
            life.end("unusable offer from the server: " + e.getMessage());
            return;
        }
        int opusPayloadType = -1;
        int vp8PayloadType = -1;
        ClientSimulcastSdp.Plan camera = null;
        if (role.sends()) {
            if (options.isSimulcast()) {
                SdpAnswer.Media up = parsed.uploadCamera();
                camera = up == null ? null : ClientSimulcastSdp.plan(o.sdp(), up);
                if (camera == null) {
                    life.end("the server's offer has no VP8 camera video m-line to send on");
                    return;
                }
            }
            SdpAnswer.Media up = parsed.uploadAudio();
            opusPayloadType = up == null ? -1 : ClientSdp.opusPayloadType(up);
            if (opusPayloadType < 0) {
                life.end("the server's offer has no Opus audio m-line to send on");
                return;
            }
            if (options.isScreenShare()) {
                SdpAnswer.Media screen = parsed.uploadScreen();
                vp8PayloadType = screen == null ? -1 : ClientSdp.vp8PayloadType(screen);
                if (vp8PayloadType < 0) {
                    life.end("the server's offer has no VP8 screen-share m-line to send on");
                    return;
                }
            }
        }
        connectionId = o.connectionId();
        iceServers = o.iceServers();
        offer = parsed;
        try {
            transport.accept(parsed, opusPayloadType, vp8PayloadType);
            if (role.receives()) {
                transport.configureReceive(parsed.receivePlan(options.isCongestionFeedback()));
            }
            if (camera != null) {
                transport.acceptCamera(camera);
            }
        } catch (RuntimeException e) {
            life.end("unusable DTLS fingerprint in the offer: " + e.getMessage());
            return;
        }
        send(new Answer(answer(parsed)));
        e2ee.start(connectionId, channelId);
        updateTracks(parsed);
        transport.startIce(now);
    }

    private String answer(ClientSdp.Offer o) {
        answers++;
        return ClientSdp.answer(o, Integer.toString(answers + 1), transport.iceCredentials().ufrag(),
                transport.iceCredentials().password(), transport.fingerprint(), role.sends(), role.receives(),
                transport.ownSsrc(), transport.screenSsrc(), transport.camera(), "veil-java-" + connectionId,
                options.isCongestionFeedback());
    }

    private void onReOffer(ReOffer r) {
        if (offer == null) {
            life.protocolFailure("re-offer before offer");
            return;
        }
        ClientSdp.Offer parsed;
        largestOffer = Math.max(largestOffer, r.sdp().length());
        try {
            parsed = ClientSdp.parseOffer(r.sdp());
        } catch (SdpException e) {
            life.protocolFailure("unusable re-offer from the server: " + e.getMessage());
            return;
        }
        offer = parsed;
        transport.reoffered(parsed);
        if (role.receives()) {
            transport.configureReceive(parsed.receivePlan(options.isCongestionFeedback()));
        }
        send(new ReAnswer(answer(parsed)));
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
        transport.counters().setTracks(now.values());
        for (Track t : removed) {
            listeners.emit(l -> l.onRemoveTrack(t));
        }
        for (Track t : added) {
            listeners.emit(l -> l.onTrack(t));
        }
    }

    /** The received track of {@code ssrc}, or null. Loop thread. */
    Track track(long ssrc) {
        return tracks.get(ssrc);
    }

    /** The connection ended: no track any more. */
    void clearTracks() {
        tracks.clear();
    }

    // ------------------------------------------------------------------------------------------ published values

    URI url() {
        return url;
    }

    int redirects() {
        return redirects;
    }

    String refusal() {
        return refusal;
    }

    String connectionId() {
        return connectionId;
    }

    DownlinkStats downlinkStats() {
        return downlinkStats;
    }

    List<IceServer> iceServers() {
        return iceServers;
    }

    int largestOffer() {
        return largestOffer;
    }
}
