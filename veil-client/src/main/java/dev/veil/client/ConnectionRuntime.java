package dev.veil.client;

import com.fasterxml.jackson.databind.JsonNode;
import dev.veil.signaling.Disconnect;
import dev.veil.signaling.Role;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.URI;
import java.nio.channels.DatagramChannel;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;
import java.util.function.LongSupplier;
import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;
import org.eclipse.jetty.websocket.api.StatusCode;

/**
 * The life of one {@link Connection} on its {@link EventLoop}: NEW, CONNECTING (signaling, then ICE and DTLS, under
 * the connect timeout), CONNECTED, CLOSED; it owns the loop and the connection's parts — the signaling
 * ({@link ClientSignaling}), the media transport ({@link MediaTransport}) and the E2EE layer
 * ({@link ConnectionE2ee}) — feeds them datagrams and timers, and ends them all once, however the connection ends.
 * {@link Connection} is the public face over it.
 */
final class ConnectionRuntime implements ConnectionLifecycle {
    enum State { NEW, CONNECTING, CONNECTED, CLOSED }

    private static final AtomicInteger THREADS = new AtomicInteger();

    private final Connection connection;
    private final Options options;
    private final LongSupplier clock;
    private final ConnectionListeners listeners;
    private final CompletableFuture<Connection> connected = new CompletableFuture<>();
    private final CompletableFuture<Void> disconnected = new CompletableFuture<>();
    private final ConnectionE2ee e2ee;
    private final MediaTransport transport;
    private final VideoReceiver videoReceiver = new VideoReceiver();
    private final ClientSignaling signaling;

    // written on the loop thread (or by connect/disconnect before it runs), read anywhere
    private volatile State state = State.NEW;
    private volatile BiConsumer<String, byte[]> receivedFrameTap;

    // loop-confined
    private EventLoop loop;
    private String stage = "opening the signaling WebSocket";
    private long connectDeadline;

    ConnectionRuntime(Connection connection, URI url, Role role, String channelId, JsonNode metadata,
                      Options options, ConnectionListeners listeners) {
        this.connection = connection;
        this.options = options;
        this.clock = options.clock();
        this.listeners = listeners;
        SecureRandom random = new SecureRandom();
        this.e2ee = new ConnectionE2ee(options, random, listeners, m -> signaling().send(m));
        this.transport = new MediaTransport(random, this, this::onRtpPayload);
        transport.onKeyFrameRequest(this::onKeyFrameRequest);
        e2ee.onReleased(sender -> transport.counters().released(sender));
        this.signaling = new ClientSignaling(url, role, channelId, metadata, options, this::execute, this,
                listeners, e2ee, transport);
    }

    ConnectionE2ee e2ee() {
        return e2ee;
    }

    MediaTransport transport() {
        return transport;
    }

    ClientSignaling signaling() {
        return signaling;
    }

    State state() {
        return state;
    }

    /** Whether the connection is up: media and signaling flow ({@link Connection#isConnected()}). */
    boolean isConnected() {
        return state == State.CONNECTED;
    }

    /** Runs {@code task} on the loop thread, after everything queued so far. */
    void execute(Runnable task) {
        loop.execute(task);
    }

    void setReceivedFrameTap(BiConsumer<String, byte[]> tap) {
        this.receivedFrameTap = tap;
    }

    /** See {@link Connection#connect()}. */
    synchronized CompletableFuture<Connection> connect() {
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

    /** See {@link Connection#disconnect()}. */
    CompletableFuture<Void> disconnect() {
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
                signaling.send(new Disconnect(null));
                end("disconnected by the application", true);
            }
        });
        return disconnected;
    }

    // ------------------------------------------------------------------------------------------ the loop

    private void startOnLoop() {
        long now = clock.getAsLong();
        connectDeadline = now + options.connectTimeoutMillis();
        JsonNode notifyMetadata;
        try {
            transport.setUp(loop);
            notifyMetadata = e2ee.setUp(options.signalingNotifyMetadata());
        } catch (GeneralSecurityException | IOException | RuntimeException e) {
            end("cannot set up the connection: " + e.getMessage());
            return;
        }
        signaling.open(notifyMetadata);
    }

    /**
     * An authenticated RTP payload: an audio frame of a received track, or a packet of a video track's VP8 frame
     * (reassembled by {@link VideoReceiver}), decrypted with E2EE, to the listeners.
     */
    private void onRtpPayload(dev.veil.webrtc.rtp.RtpHeader header, byte[] payload, long now) {
        Track t = signaling.track(header.ssrc());
        if (t == null) {
            return;
        }
        if (t.kind().equals("video")) {
            onVideoPayload(t, header, payload, now);
            return;
        }
        BiConsumer<String, byte[]> tap = receivedFrameTap;
        if (tap != null) {
            tap.accept(t.connectionId(), payload.clone());
        }
        byte[] frame = e2ee.openOpus(t.connectionId(), payload, now);
        ReceiveCounters.Stream c = transport.counters().stream(header.ssrc());
        if (frame == null) {
            if (c != null) {
                c.decryptFailures++;
            }
            return; // dropped and reported
        }
        if (c != null) {
            c.framesDelivered++;
        }
        listeners.emit(l -> l.onAudioFrame(t.connectionId(), frame));
    }

    /** The server asks for a key frame of one of this client's video streams: tell the application which. */
    private void onKeyFrameRequest(long ssrc) {
        SimulcastSender camera = transport.camera();
        int layer = camera == null ? -1 : camera.layerOfSsrc(ssrc);
        if (layer >= 0) {
            listeners.emit(l -> l.onKeyFrameRequest("video", layer));
        } else if (ssrc != 0 && ssrc == transport.screenSsrc()) {
            listeners.emit(l -> l.onKeyFrameRequest("screen", -1));
        }
    }

    /**
     * A packet of a video track: the frames it completes, in order, decrypted, through the key-frame gate (after an
     * abandoned frame only a key frame goes on; a PLI asks for it) to the listeners.
     */
    private void onVideoPayload(Track t, dev.veil.webrtc.rtp.RtpHeader header, byte[] payload, long now) {
        VideoReceiver.Out out = videoReceiver.onPayload(header, payload);
        ReceiveCounters.Stream c = transport.counters().stream(header.ssrc());
        if (out.abandoned() > 0) {
            transport.frameLost(header.ssrc(), now);
            if (c != null) {
                c.framesDropped += out.abandoned();
            }
        }
        for (VideoReceiver.Sealed sealed : out.frames()) {
            byte[] frame = e2ee.openVp8(t.connectionId(), sealed.payload(), now);
            if (frame == null || frame.length == 0) {
                if (c != null) {
                    c.decryptFailures++;
                }
                continue; // dropped and reported
            }
            boolean key = (frame[0] & 1) == 0; // P bit clear (RFC 6386 §9.1)
            if (!transport.admitFrame(header.ssrc(), key, now)) {
                if (c != null) {
                    c.framesDropped++;
                }
                continue; // a delta frame after a lost one: the decoder could not use it
            }
            if (c != null) {
                c.framesDelivered++;
            }
            VideoFrame v = new VideoFrame(t.connectionId(), t.mid(), t.ssrc(), frame, key, sealed.rtpTimestamp(),
                    sealed.firstSequence(), sealed.lastSequence());
            listeners.emit(l -> l.onVideoFrame(v));
        }
    }

    private void onWake(long now) {
        if (state == State.CLOSED) {
            return;
        }
        transport.pollDtls(now);
        if (state == State.CLOSED) {
            return;
        }
        if (state == State.CONNECTING && now >= connectDeadline) {
            end("connect timed out after " + options.connectTimeoutMillis() + " ms while " + stage);
            return;
        }
        transport.pollIce(now);
        if (state == State.CLOSED) {
            return;
        }
        transport.sendFeedback(now);
        if (state == State.CLOSED) {
            return;
        }
        e2ee.onWake(now);
    }

    private long nextDeadline() {
        long d = state == State.CONNECTING ? connectDeadline : Long.MAX_VALUE;
        return Math.min(d, Math.min(transport.nextDeadline(), e2ee.nextDeadline()));
    }

    // ------------------------------------------------------------------------------------------ ConnectionLifecycle

    @Override
    public boolean isClosed() {
        return state == State.CLOSED;
    }

    @Override
    public boolean isConnecting() {
        return state == State.CONNECTING;
    }

    @Override
    public void stage(String what) {
        stage = what;
    }

    @Override
    public void secured() {
        state = State.CONNECTED;
        connected.complete(connection);
    }

    @Override
    public void end(String reason) {
        end(reason, false);
    }

    @Override
    public void protocolFailure(String reason) {
        signaling.send(new Disconnect("protocol violation"));
        end(reason, false);
    }

    // ------------------------------------------------------------------------------------------ ending

    /** Ends the connection (loop thread): everything closed, keys destroyed, listeners told once. */
    private void end(String reason, boolean byApplication) {
        if (state == State.CLOSED) {
            return;
        }
        boolean wasConnecting = state == State.CONNECTING;
        state = State.CLOSED;
        transport.close();
        e2ee.destroy();
        signaling.clearTracks();
        loop.stop();
        if (wasConnecting) {
            connected.completeExceptionally(new VeilClientException(reason));
        }
        listeners.emit(l -> l.onDisconnect(reason));
        Session s = signaling.socket().session();
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

    private final class Handler implements EventLoop.Handler {
        @Override
        public void onDatagram(byte[] datagram, SocketAddress from, long now) {
            transport.onDatagram(datagram, from, now);
        }

        @Override
        public void onWake(long now) {
            ConnectionRuntime.this.onWake(now);
        }

        @Override
        public long nextDeadline() {
            return ConnectionRuntime.this.nextDeadline();
        }

        @Override
        public void onFailure(Throwable t) {
            end("internal error: " + t, false);
        }
    }
}
