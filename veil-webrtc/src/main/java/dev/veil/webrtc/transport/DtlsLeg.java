package dev.veil.webrtc.transport;

import dev.veil.webrtc.dtls.DtlsCertificate;
import dev.veil.webrtc.dtls.DtlsClientEngine;
import dev.veil.webrtc.dtls.DtlsConfig;
import dev.veil.webrtc.dtls.DtlsEngine;
import dev.veil.webrtc.dtls.DtlsEvent;
import dev.veil.webrtc.dtls.DtlsServerEngine;
import dev.veil.webrtc.sdp.DtlsFingerprint;
import dev.veil.webrtc.sdp.SetupRole;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.util.Locale;
import java.util.Objects;
import java.util.Queue;
import java.util.concurrent.Executor;

/**
 * The DTLS side of a {@link WebRtcTransport}: which engine runs the handshake, when a client handshake may start,
 * which datagrams may go in, and where the engine's datagrams go. The transport starts as the DTLS server
 * ({@link DtlsServerEngine}); an answer that says {@code a=setup:passive} swaps in a {@link DtlsClientEngine} before
 * any DTLS has arrived, and that client sends its ClientHello only once the transport has an ICE-validated address
 * (an ICE-lite agent never checks first, so that is the earliest moment the peer is known to want our packets).
 * Kept apart so that the role rules live in one place; the transport keeps the decisions that need ICE (is the
 * source validated, which address is nominated) and what the handshake's events mean for the connection.
 *
 * <p>Like the transport, it reads no clock and owns no thread: it takes the caller's time and queues datagrams on
 * the transport's output queue. The engine's blocking handshake runs on the executor the server passed in (see
 * {@link DtlsEngine}); {@link #awaitIdle()} is the one call meant to block.
 */
final class DtlsLeg {
    private final DtlsCertificate certificate;
    private final DtlsConfig config;
    private final Executor executor;
    private final Runnable wakeup;
    private final SecureRandom random;
    /** The server engine until {@link #setRemoteSetup} makes this leg the DTLS client. */
    private DtlsEngine engine;
    /** The answer's a=setup once known (ACTIVE or PASSIVE), else null (treated as ACTIVE). */
    private SetupRole remoteSetup;
    private boolean clientStarted;
    /** Kept to hand to a client engine that replaces the server engine after the fingerprint was set. */
    private DtlsFingerprint remoteFingerprint;
    /** Where the peer's DTLS last came from, or, as client, where our handshake goes; null until known. */
    private InetSocketAddress remote;

    /** Starts as the DTLS server; the arguments are {@link WebRtcTransport}'s. */
    DtlsLeg(DtlsCertificate certificate, DtlsConfig config, Executor executor, Runnable wakeup,
            SecureRandom random) {
        this.certificate = certificate;
        this.config = config;
        this.executor = executor;
        this.wakeup = wakeup;
        this.random = random;
        this.engine = new DtlsServerEngine(certificate, config, executor, wakeup, random);
    }

    /**
     * Takes the answer's {@code a=setup}, with the rules and exceptions of {@link WebRtcTransport#setRemoteSetup}:
     * passive swaps the server engine for a client engine (not started yet, see {@link #clientDue()}).
     *
     * @param tooLateForClient the peer already sent DTLS as a client, or the transport ended: passive is refused
     * @return true if the role was set now, false if the same role was set before (nothing changed)
     */
    boolean setRemoteSetup(SetupRole setup, boolean tooLateForClient) {
        Objects.requireNonNull(setup, "setup");
        if (setup != SetupRole.ACTIVE && setup != SetupRole.PASSIVE) {
            throw new IllegalArgumentException("the answer's DTLS role must be active or passive, got "
                    + setup.name().toLowerCase(Locale.ROOT));
        }
        if (remoteSetup != null) {
            if (remoteSetup != setup) {
                throw new IllegalStateException("the answer changes the DTLS role from "
                        + remoteSetup.name().toLowerCase(Locale.ROOT) + " to "
                        + setup.name().toLowerCase(Locale.ROOT));
            }
            return false;
        }
        if (setup == SetupRole.PASSIVE) {
            if (tooLateForClient) {
                throw new IllegalStateException("the answer says passive, but the peer already sent DTLS as a client");
            }
            DtlsEngine server = engine;
            DtlsClientEngine client = new DtlsClientEngine(certificate, config, executor, wakeup, random);
            if (remoteFingerprint != null) {
                client.setRemoteFingerprint(remoteFingerprint);
            }
            server.close();
            engine = client;
        }
        remoteSetup = setup;
        return true;
    }

    /** True once the answer said passive: this side sends the ClientHello. */
    boolean isClient() {
        return engine instanceof DtlsClientEngine;
    }

    /** Whether this is the DTLS client and its handshake has not started: due once an address passed ICE. */
    boolean clientDue() {
        return !clientStarted && isClient();
    }

    /**
     * Starts the client handshake (only when {@link #clientDue()}). Its flights go to where DTLS already points, if
     * anywhere (see {@link #addressValidated}), else to {@code fallback}.
     */
    void startClient(InetSocketAddress fallback, long nowMillis) {
        clientStarted = true;
        if (remote == null) {
            remote = fallback;
        }
        ((DtlsClientEngine) engine).start(nowMillis);
    }

    /** An address passed its first ICE check: as client, the first such address is where a handshake goes. */
    void addressValidated(InetSocketAddress address) {
        if (remote == null && isClient()) {
            remote = address;
        }
    }

    /**
     * Whether a DTLS datagram from an ICE-validated address may go in: not once the engine is closed, and as client
     * not before our ClientHello (a DTLS client hears from the server only after it).
     */
    boolean accepts() {
        return !engine.isClosed() && !clientDue();
    }

    /**
     * Feeds one datagram that {@link #accepts()}; its sender becomes where DTLS goes.
     *
     * @return true if the engine took it, false if it dropped it (malformed, or a record it refuses)
     */
    boolean handleDatagram(byte[] data, InetSocketAddress from, long nowMillis) {
        remote = from;
        long before = engine.droppedDatagrams();
        engine.handleDatagram(data, nowMillis);
        return engine.droppedDatagrams() == before;
    }

    /**
     * Queues the engine's datagrams on {@code outputs}: to the nominated address ({@code selected}, may be null),
     * else to where the peer's DTLS came from ({@link #remote()}); with neither they are dropped.
     */
    void drainTransmits(Queue<TransportOutput> outputs, InetSocketAddress selected) {
        for (byte[] d; (d = engine.pollTransmit()) != null;) {
            InetSocketAddress to = selected != null ? selected : remote;
            if (to != null) {
                outputs.add(new TransportOutput.Transmit(d, to));
            }
        }
    }

    /** The next thing the handshake reports, or null. */
    DtlsEvent pollEvent() {
        return engine.pollEvent();
    }

    /** Where DTLS goes when ICE has nominated nothing: an address ICE eviction must keep. Null until known. */
    InetSocketAddress remote() {
        return remote;
    }

    DtlsFingerprint localFingerprint() {
        return engine.localFingerprint();
    }

    /** The answer's fingerprint, for this engine and for a client engine that may replace it. */
    void setRemoteFingerprint(DtlsFingerprint fingerprint) {
        remoteFingerprint = fingerprint;
        engine.setRemoteFingerprint(fingerprint);
    }

    /** Checks the handshake deadline and processes records the worker left queued. */
    void poll(long nowMillis) {
        engine.poll(nowMillis);
    }

    long nextTimeoutMillis() {
        return engine.nextTimeoutMillis();
    }

    /** Closes the engine: close_notify if connected (then queued for {@link #drainTransmits}), no event. */
    void close() {
        engine.close();
    }

    /** See {@link WebRtcTransport#awaitDtlsIdle()}. */
    void awaitIdle() throws InterruptedException {
        engine.awaitIdle();
    }
}
