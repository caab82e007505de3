package dev.veil.webrtc.dtls;

import dev.veil.webrtc.sdp.DtlsFingerprint;
import dev.veil.webrtc.srtp.SrtpKeyingMaterial;
import dev.veil.webrtc.srtp.SrtpProfile;
import java.io.IOException;
import java.security.GeneralSecurityException;
import java.util.Objects;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import org.bouncycastle.tls.AlertDescription;
import org.bouncycastle.tls.DTLSTransport;
import org.bouncycastle.tls.TlsFatalAlert;
import org.bouncycastle.tls.TlsFatalAlertReceived;
import org.bouncycastle.tls.TlsTimeoutException;

/**
 * The machinery shared by {@link DtlsServerEngine} and {@link DtlsClientEngine}: a sans-IO face over
 * BouncyCastle's blocking DTLS 1.2.
 *
 * <h2>The executor seam</h2>
 * BouncyCastle's {@code DTLSServerProtocol.accept} / {@code DTLSClientProtocol.connect} block until the handshake
 * ends and have no non-blocking variant. So each engine runs its handshake as one task on an {@link Executor}
 * <em>supplied by the caller</em> (veil-webrtc starts no threads): the server passes a small pool, tests pass
 * their own. The task reads from an in-memory queue that {@link #handleDatagram} fills and writes to a queue that
 * {@link #pollTransmit()} drains; when it has produced a flight, finished or failed, it calls the caller's
 * {@code wakeup} runnable (from the worker thread), which should schedule a {@code poll} on the caller's own loop.
 * The task holds its thread only while a handshake is in progress: a server engine submits it on the first
 * datagram, and when the handshake ends the task returns; from then on every record (alerts, close_notify, a
 * retransmitted final flight) is processed on the caller's thread inside {@link #handleDatagram}. The executor
 * must run tasks on another thread ({@code Runnable::run} would deadlock).
 *
 * <p>Timers: the handshake deadline ({@link DtlsConfig#handshakeTimeoutMillis()}) is on the caller's clock and is
 * enforced by {@link #poll(long)}; BouncyCastle's flight retransmission (1 s, doubling) runs on its own clock
 * inside the worker, which is the one place where wall time enters.
 *
 * <p>{@link #awaitIdle()} lets a caller (tests, or a caller that prefers lock-step) block until the worker has
 * consumed all input and waits for more, making each exchange deterministic.
 *
 * <h2>Threading</h2>
 * All public methods except {@link #awaitIdle()} are meant for one caller thread (the transport's loop); the
 * hand-off with the worker is internally synchronised.
 */
public abstract sealed class DtlsEngine permits DtlsServerEngine, DtlsClientEngine {
    enum State { NEW, HANDSHAKING, CONNECTED, CLOSED, FAILED }

    final DtlsCertificate certificate;
    final DtlsConfig config;
    private final Executor executor;
    final QueueDatagramTransport transport;
    private final ConcurrentLinkedQueue<DtlsEvent> events = new ConcurrentLinkedQueue<>();
    private final Object lock = new Object();
    private final byte[] appBuffer = new byte[DtlsConfig.MAX_DATAGRAM];

    private volatile DtlsFingerprint remoteFingerprint;
    private State state = State.NEW;
    private long deadlineMillis = Long.MAX_VALUE;
    private boolean closingLocally;
    private DTLSTransport dtls;
    private Result result;
    private boolean reported;
    private long droppedDatagrams;
    private long applicationDataIgnored;

    /** What the worker hands over when the handshake is done. */
    record Result(SrtpProfile profile, byte[] exported, byte[] peerCertificate) {
    }

    /** Failure details the BouncyCastle peer callbacks record on the worker thread. */
    volatile DtlsFailure pendingFailure;
    volatile String pendingFailureDetail;

    DtlsEngine(DtlsCertificate certificate, DtlsConfig config, Executor executor, Runnable wakeup) {
        this.certificate = Objects.requireNonNull(certificate, "certificate");
        this.config = Objects.requireNonNull(config, "config");
        this.executor = Objects.requireNonNull(executor, "executor");
        this.transport = new QueueDatagramTransport(config.mtu(), Objects.requireNonNull(wakeup, "wakeup"));
    }

    /** Runs {@code accept} or {@code connect} on the worker thread. */
    abstract DTLSTransport runHandshake(QueueDatagramTransport t) throws IOException;

    /** Our certificate's fingerprint, for our SDP. */
    public DtlsFingerprint localFingerprint() {
        return certificate.fingerprint();
    }

    /**
     * The peer's fingerprint from its SDP. May come before or after the handshake: the handshake is reported
     * complete only once it is known and matches (constant-time compare); a mismatch is a
     * {@link DtlsFailure#FINGERPRINT_MISMATCH} failure. If it is known during the handshake a mismatch aborts the
     * handshake with a bad_certificate alert.
     */
    public void setRemoteFingerprint(DtlsFingerprint fingerprint) {
        this.remoteFingerprint = Objects.requireNonNull(fingerprint, "fingerprint");
        checkCompletion();
    }

    DtlsFingerprint remoteFingerprint() {
        return remoteFingerprint;
    }

    /** True once {@link DtlsEvent.HandshakeComplete} was reported and until close or failure. */
    public boolean isConnected() {
        synchronized (lock) {
            return state == State.CONNECTED && reported;
        }
    }

    /** True after a failure, a close_notify from the peer, or {@link #close()}. */
    public boolean isClosed() {
        synchronized (lock) {
            return state == State.CLOSED || state == State.FAILED;
        }
    }

    /** Datagrams refused (oversized, malformed records, or after close/failure). */
    public long droppedDatagrams() {
        synchronized (lock) {
            return droppedDatagrams;
        }
    }

    /** DTLS application data records received and ignored (Veil has no data channels). */
    public long applicationDataIgnored() {
        synchronized (lock) {
            return applicationDataIgnored;
        }
    }

    /** Starts the handshake worker. Callers hold {@link #lock}. */
    final void startLocked(long nowMillis) {
        state = State.HANDSHAKING;
        deadlineMillis = nowMillis + config.handshakeTimeoutMillis();
        transport.workerStarted();
        try {
            executor.execute(this::runWorker);
        } catch (RejectedExecutionException e) {
            transport.workerDone();
            failLocked(DtlsFailure.HANDSHAKE_FAILED, "executor refused the handshake task");
        }
    }

    final Object lock() {
        return lock;
    }

    final State stateLocked() {
        return state;
    }

    private void runWorker() {
        try {
            synchronized (lock) {
                if (state != State.HANDSHAKING) {
                    // failed or closed while the task waited in the executor's queue: nothing to run
                    return;
                }
            }
            DTLSTransport t = runHandshake(transport);
            synchronized (lock) {
                if (state == State.HANDSHAKING) {
                    transport.switchToNonBlocking();
                    dtls = t;
                    state = State.CONNECTED;
                }
            }
        } catch (Throwable e) {
            synchronized (lock) {
                if (state == State.HANDSHAKING && !closingLocally) {
                    DtlsFailure reason = pendingFailure;
                    String detail = pendingFailureDetail;
                    if (reason == null) {
                        reason = classify(e);
                        detail = describe(e);
                    }
                    failLocked(reason, detail);
                }
            }
        } finally {
            transport.workerDone();
        }
    }

    private static DtlsFailure classify(Throwable e) {
        if (e instanceof TlsFatalAlertReceived) {
            return DtlsFailure.ALERT_RECEIVED;
        }
        if (e instanceof TlsTimeoutException) {
            return DtlsFailure.TIMEOUT;
        }
        return DtlsFailure.HANDSHAKE_FAILED;
    }

    private static String describe(Throwable e) {
        if (e instanceof TlsFatalAlertReceived) {
            short d = ((TlsFatalAlertReceived) e).getAlertDescription();
            return "peer sent fatal alert " + AlertDescription.getText(d);
        }
        if (e instanceof TlsFatalAlert) {
            short d = ((TlsFatalAlert) e).getAlertDescription();
            return "handshake aborted with " + AlertDescription.getText(d)
                    + (e.getMessage() != null ? ": " + e.getMessage() : "");
        }
        return e.getClass().getSimpleName() + (e.getMessage() != null ? ": " + e.getMessage() : "");
    }

    /** Called on the worker thread from the BouncyCastle peer once keys are exported. */
    final void handshakeFinished(SrtpProfile profile, byte[] exported, byte[] peerCertificate) {
        synchronized (lock) {
            result = new Result(profile, exported, peerCertificate);
        }
    }

    /**
     * Feeds one datagram from the peer (RFC 7983 first byte 20-63). Never throws for bad input: a datagram whose
     * records are not well formed is refused and counted ({@link #droppedDatagrams()}), other garbage is ignored by
     * the record layer, and what ends the association is reported as an event.
     */
    public void handleDatagram(byte[] datagram, long nowMillis) {
        Objects.requireNonNull(datagram, "datagram");
        synchronized (lock) {
            if (state == State.CLOSED || state == State.FAILED || datagram.length > DtlsConfig.MAX_DATAGRAM
                    || !DtlsRecords.wellFormed(datagram)) {
                droppedDatagrams++;
                return;
            }
            onDatagramLocked(nowMillis);
            if (!transport.offer(datagram.clone())) {
                droppedDatagrams++;
                return;
            }
            if (state == State.CONNECTED) {
                processEstablishedLocked();
            }
        }
        checkCompletion();
    }

    /** Hook: a server starts its worker on the first datagram. Callers hold the lock. */
    void onDatagramLocked(long nowMillis) {
    }

    /** Checks the handshake deadline and processes records the worker left queued. */
    public void poll(long nowMillis) {
        synchronized (lock) {
            if (state == State.HANDSHAKING && nowMillis >= deadlineMillis) {
                closingLocally = true;
                transport.close();
                failLocked(DtlsFailure.TIMEOUT, "handshake not finished within " + config.handshakeTimeoutMillis()
                        + " ms");
            } else if (state == State.CONNECTED) {
                processEstablishedLocked();
            }
        }
        checkCompletion();
    }

    /** When {@link #poll(long)} next needs to run: the handshake deadline, or {@link Long#MAX_VALUE}. */
    public long nextTimeoutMillis() {
        synchronized (lock) {
            return state == State.HANDSHAKING ? deadlineMillis : Long.MAX_VALUE;
        }
    }

    /** The next datagram to send to the peer, or null. */
    public byte[] pollTransmit() {
        return transport.pollOutput();
    }

    /** The next event, or null. */
    public DtlsEvent pollEvent() {
        checkCompletion();
        return events.poll();
    }

    /**
     * Closes the association: sends close_notify if connected, stops a handshake in progress. Reports no event.
     */
    public void close() {
        synchronized (lock) {
            if (state == State.CLOSED || state == State.FAILED) {
                return;
            }
            closingLocally = true;
            if (state == State.CONNECTED && dtls != null) {
                try {
                    dtls.close();
                } catch (IOException e) {
                    // the transport only queues; nothing to report
                }
            }
            transport.close();
            state = State.CLOSED;
        }
    }

    /**
     * Blocks until the handshake worker has consumed all queued datagrams and waits for more, or has ended (or
     * was never started). For tests and lock-step callers; never call it from the worker or with the lock held.
     */
    public void awaitIdle() throws InterruptedException {
        transport.awaitIdle();
    }

    private void processEstablishedLocked() {
        while (state == State.CONNECTED && transport.hasInbound()) {
            try {
                int n = dtls.receive(appBuffer, 0, appBuffer.length, 0);
                if (n >= 0) {
                    applicationDataIgnored++;
                }
            } catch (QueueDatagramTransport.WouldBlock e) {
                // everything queued was consumed
            } catch (TlsFatalAlertReceived e) {
                failLocked(DtlsFailure.ALERT_RECEIVED, describe(e));
            } catch (IOException | RuntimeException e) {
                failLocked(DtlsFailure.HANDSHAKE_FAILED, "record layer failed: " + describe(e));
            }
            if (state == State.CONNECTED && transport.isClosed()) {
                state = State.CLOSED;
                events.add(new DtlsEvent.Closed("close_notify received"));
            }
        }
    }

    private void failLocked(DtlsFailure reason, String detail) {
        if (state == State.FAILED || state == State.CLOSED) {
            return;
        }
        state = State.FAILED;
        transport.close();
        events.add(new DtlsEvent.Failed(reason, detail));
    }

    /** On the caller's thread: report completion once the peer's fingerprint is known and checked. */
    private void checkCompletion() {
        synchronized (lock) {
            if (state != State.CONNECTED || result == null) {
                return;
            }
            DtlsFingerprint expected = remoteFingerprint;
            if (expected == null) {
                return;
            }
            Result r = result;
            result = null;
            if (!expected.matches(r.peerCertificate())) {
                closingLocally = true;
                try {
                    dtls.close(); // close_notify: BouncyCastle offers no way to send bad_certificate after the fact
                } catch (IOException e) {
                    // only queues
                }
                failLocked(DtlsFailure.FINGERPRINT_MISMATCH,
                        "peer certificate does not match " + expected.algorithm() + " fingerprint of the SDP");
                return;
            }
            try {
                SrtpKeyingMaterial keys = SrtpKeyingMaterial.fromDtlsExport(r.profile(), r.exported());
                java.util.Arrays.fill(r.exported(), (byte) 0);
                reported = true;
                events.add(new DtlsEvent.HandshakeComplete(r.profile(), keys,
                        fingerprintOf(expected, r.peerCertificate())));
            } catch (GeneralSecurityException e) {
                failLocked(DtlsFailure.HANDSHAKE_FAILED, "bad exported keying material: " + e.getMessage());
            }
        }
    }

    private static DtlsFingerprint fingerprintOf(DtlsFingerprint like, byte[] der) {
        try {
            return new DtlsFingerprint(like.algorithm(),
                    java.security.MessageDigest.getInstance(like.jcaAlgorithm()).digest(der));
        } catch (java.security.NoSuchAlgorithmException e) {
            return DtlsFingerprint.sha256(der);
        }
    }

    /** Worker-thread check of the peer certificate while the handshake is still running. */
    final void checkPeerCertificateDuringHandshake(byte[] der) throws IOException {
        DtlsFingerprint expected = remoteFingerprint;
        if (expected != null && !expected.matches(der)) {
            pendingFailure = DtlsFailure.FINGERPRINT_MISMATCH;
            pendingFailureDetail = "peer certificate does not match " + expected.algorithm()
                    + " fingerprint of the SDP";
            throw new TlsFatalAlert(AlertDescription.bad_certificate, "fingerprint mismatch");
        }
    }
}
