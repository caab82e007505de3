package dev.veil.client;

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
import dev.veil.webrtc.srtp.SrtpException;
import dev.veil.webrtc.srtp.SrtpSession;
import dev.veil.webrtc.stun.StunAttribute;
import dev.veil.webrtc.stun.StunClass;
import dev.veil.webrtc.stun.StunException;
import dev.veil.webrtc.stun.StunMessage;
import java.io.IOException;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The media path of one {@link Connection}: one UDP flow to the server's candidate carrying ICE (connectivity
 * checks, then consent every 5 s), DTLS (the client role of {@link DtlsClientEngine}) and SRTP; builds and protects
 * the outgoing RTP (the Opus stream, and the VP8 screen-share stream) and unprotects the incoming. Loop-confined:
 * the connection's {@link EventLoop} feeds it datagrams and wake-ups; it reports through
 * {@link ConnectionLifecycle} and hands every authenticated RTP payload to a {@link Receiver}.
 */
final class MediaTransport {
    /** Where an authenticated, non-empty RTP payload goes (loop thread). */
    interface Receiver {
        void onRtpPayload(RtpHeader header, byte[] payload, long now);
    }

    static final long ICE_RETRY_MILLIS = 100;
    static final long CONSENT_INTERVAL_MILLIS = 5_000;
    static final long CONSENT_TIMEOUT_MILLIS = 30_000;
    private static final long PRIORITY = 1853824767L;

    private final SecureRandom random;
    private final ConnectionLifecycle life;
    private final Receiver receiver;

    private EventLoop loop;
    private ExecutorService dtlsWorker;
    private IceCredentials ice;
    private DtlsCertificate certificate;
    private DtlsClientEngine dtls;
    private SrtpSession srtp;
    private ClientSdp.Offer offer;
    private SocketAddress server;
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
    private SimulcastSender camera;
    private java.util.function.LongConsumer keyFrameRequests;
    /** The receive side's feedback, NACK and RTX ({@link #accept} makes it; configured by each offer's plan). */
    private ReceiverFeedback feedback;
    /** The per-track receive counts ({@link ReceiveStats}), fed by the feedback and the connection. */
    private final ReceiveCounters counters = new ReceiveCounters();
    /** Tests only: incoming RTP (SRTP removed) for which this says true is dropped, as if lost on the way. */
    private volatile java.util.function.Predicate<RtpHeader> incomingDrop;

    MediaTransport(SecureRandom random, ConnectionLifecycle life, Receiver receiver) {
        this.random = random;
        this.life = life;
        this.receiver = receiver;
    }

    /** The local ICE credentials, the DTLS certificate and engine (on the loop thread, before the offer). */
    void setUp(EventLoop loop) throws GeneralSecurityException {
        this.loop = loop;
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
    }

    /**
     * The server's offer: its candidate, DTLS fingerprint and ICE credentials, and the payload types to send with
     * (-1: not sent); picks this connection's SSRCs and first sequence numbers.
     *
     * @throws RuntimeException if the offer's DTLS fingerprint is unusable
     */
    void accept(ClientSdp.Offer parsed, int opusPayloadType, int vp8PayloadType) {
        this.opusPayloadType = opusPayloadType;
        this.vp8PayloadType = vp8PayloadType;
        offer = parsed;
        server = parsed.candidate();
        dtls.setRemoteFingerprint(parsed.fingerprint());
        ownSsrc = random.nextInt() & 0xffffffffL;
        feedback = new ReceiverFeedback(ownSsrc, counters);
        sequence = random.nextInt(0x10000);
        if (vp8PayloadType >= 0) {
            do {
                screenSsrc = random.nextInt() & 0xffffffffL;
            } while (screenSsrc == 0 || screenSsrc == ownSsrc);
            screenSequence = random.nextInt(0x10000);
        }
    }

    /** The camera video upload (simulcast or one plain stream), after {@link #accept}; its SSRCs avoid the others. */
    void acceptCamera(ClientSimulcastSdp.Plan plan) {
        camera = new SimulcastSender(plan, random, java.util.Set.of(ownSsrc, screenSsrc));
    }

    /** The camera upload, or null if the connection sends no camera video. */
    SimulcastSender camera() {
        return camera;
    }

    /** What the current offer's answer negotiated for the streams this client receives (after {@link #accept}). */
    void configureReceive(ReceiverFeedback.Plan plan) {
        feedback.configure(plan);
    }

    /** The receive side's counters, or null before the offer. */
    ReceiverFeedback.Stats receiveStats() {
        return feedback == null ? null : feedback.stats();
    }

    /** The per-track receive counts (written on the loop thread, read anywhere). */
    ReceiveCounters counters() {
        return counters;
    }

    /** A video frame of {@code ssrc} was abandoned: a key frame is needed (see {@link ReceiverFeedback#frameLost}). */
    void frameLost(long ssrc, long now) {
        if (feedback != null) {
            feedback.frameLost(ssrc, now); // (the PLI goes out at the sendFeedback after this datagram)
        }
    }

    /** Whether a completed video frame goes on (see {@link ReceiverFeedback#admitFrame}). */
    boolean admitFrame(long ssrc, boolean keyFrame, long now) {
        return feedback == null || feedback.admitFrame(ssrc, keyFrame, now);
    }

    /** Tests only: see {@link #incomingDrop}; null stops dropping. */
    void setIncomingDropForTesting(java.util.function.Predicate<RtpHeader> drop) {
        incomingDrop = drop;
    }

    /** A re-offer: its ICE credentials count from now on. */
    void reoffered(ClientSdp.Offer parsed) {
        offer = parsed;
    }

    /** After the answer: the first connectivity check (nominating) goes out, retried until answered. */
    void startIce(long now) {
        life.stage("ICE: no answer to the connectivity check from " + server);
        sendIceCheck(true);
        nextIceCheck = now + ICE_RETRY_MILLIS;
    }

    IceCredentials iceCredentials() {
        return ice;
    }

    dev.veil.webrtc.sdp.DtlsFingerprint fingerprint() {
        return certificate.fingerprint();
    }

    long ownSsrc() {
        return ownSsrc;
    }

    long screenSsrc() {
        return screenSsrc;
    }

    boolean sendsScreen() {
        return vp8PayloadType >= 0;
    }

    // ------------------------------------------------------------------------------------------ in

    void onDatagram(byte[] d, SocketAddress from, long now) {
        if (server == null || !server.equals(from) || life.isClosed()) {
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
        } else if (kind == PacketKind.RTCP && srtp != null && keyFrameRequests != null) {
            onRtcp(d);
        }
        sendFeedback(now);
    }

    /**
     * SRTCP: the server's key-frame requests (PLI, FIR) naming one of this client's video SSRCs go to
     * {@link #onKeyFrameRequest}; reports and everything else are not used.
     */
    private void onRtcp(byte[] d) {
        List<dev.veil.webrtc.rtcp.RtcpPacket> packets;
        try {
            packets = dev.veil.webrtc.rtcp.RtcpCompound.parse(srtp.unprotectRtcp(d));
        } catch (SrtpException | dev.veil.webrtc.rtcp.RtcpException e) {
            return; // forged, replayed or broken: dropped
        }
        for (dev.veil.webrtc.rtcp.RtcpPacket p : packets) {
            if (p instanceof dev.veil.webrtc.rtcp.PictureLossIndication pli) {
                keyFrameRequests.accept(pli.mediaSsrc());
            } else if (p instanceof dev.veil.webrtc.rtcp.FullIntraRequest fir) {
                for (dev.veil.webrtc.rtcp.FullIntraRequest.Entry e : fir.entries()) {
                    keyFrameRequests.accept(e.ssrc());
                }
            }
        }
    }

    /** Where the SSRCs named by the server's key-frame requests go (loop thread). */
    void onKeyFrameRequest(java.util.function.LongConsumer requests) {
        this.keyFrameRequests = requests;
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
            life.stage("DTLS handshake with " + server);
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
        java.util.function.Predicate<RtpHeader> drop = incomingDrop;
        if (drop != null && drop.test(p.header())) {
            return;
        }
        // arrival time for the server's delay-based estimator: finer than the loop's millisecond clock (only
        // differences between arrivals count)
        plain = feedback.onRtp(plain, System.nanoTime() / 1000, now);
        if (plain == null) {
            return; // RTX padding, a duplicate, or RTX the answer did not negotiate
        }
        try {
            p = RtpPacket.parse(plain);
        } catch (RtpException e) {
            return;
        }
        if (p.payloadLength() == 0) {
            return;
        }
        receiver.onRtpPayload(p.header(),
                Arrays.copyOfRange(plain, p.payloadOffset(), p.payloadOffset() + p.payloadLength()), now);
    }

    // ------------------------------------------------------------------------------------------ timers

    /** Drives DTLS: its retransmissions and events (a completed handshake keys SRTP and completes the connect). */
    void pollDtls(long now) {
        if (dtls == null) {
            return;
        }
        dtls.poll(now);
        for (byte[] d; (d = dtls.pollTransmit()) != null; ) {
            sendUdp(d);
        }
        for (DtlsEvent e; (e = dtls.pollEvent()) != null; ) {
            onDtlsEvent(e);
            if (life.isClosed()) {
                return;
            }
        }
    }

    /**
     * Runs the receive side's timers (feedback rounds, NACK retries) and sends its RTCP, SRTCP-protected; called
     * after every datagram and at {@link #nextDeadline()}.
     */
    void sendFeedback(long now) {
        if (feedback == null || srtp == null || life.isClosed()) {
            return;
        }
        if (feedback.nextTimeoutMillis() <= now) {
            feedback.poll(now);
        }
        for (byte[] rtcp; (rtcp = feedback.pollRtcp()) != null; ) {
            try {
                sendUdp(srtp.protectRtcp(rtcp));
            } catch (SrtpException e) {
                life.end("SRTCP failed: " + e.getMessage());
                return;
            }
        }
    }

    /** The ICE timer: a retried connectivity check, or the consent check (30 s without an answer ends). */
    void pollIce(long now) {
        if (offer != null && now >= nextIceCheck) {
            if (iceUp && now - lastConsent > CONSENT_TIMEOUT_MILLIS) {
                life.end("ICE consent lost: the server did not answer for " + CONSENT_TIMEOUT_MILLIS / 1000 + " s");
                return;
            }
            sendIceCheck(!iceUp);
            nextIceCheck = now + (iceUp ? CONSENT_INTERVAL_MILLIS : ICE_RETRY_MILLIS);
        }
    }

    long nextDeadline() {
        long d = nextIceCheck;
        if (dtls != null) {
            d = Math.min(d, dtls.nextTimeoutMillis());
        }
        if (feedback != null && srtp != null) {
            d = Math.min(d, feedback.nextTimeoutMillis());
        }
        return d;
    }

    private void onDtlsEvent(DtlsEvent e) {
        if (e instanceof DtlsEvent.HandshakeComplete hc) {
            try {
                srtp = SrtpSession.forClient(hc.keys());
            } catch (GeneralSecurityException ex) {
                life.end("cannot set up SRTP: " + ex.getMessage());
                return;
            }
            life.stage("connected");
            life.secured();
        } else if (e instanceof DtlsEvent.Failed f) {
            life.end("DTLS failed (" + f.reason() + "): " + f.detail());
        } else if (e instanceof DtlsEvent.Closed c) {
            life.end("the server closed DTLS: " + c.reason());
        }
    }

    // ------------------------------------------------------------------------------------------ out

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

    /** One Opus payload (already sealed with E2EE) as one RTP packet. */
    void sendAudio(byte[] payload, long ts) {
        try {
            protectAndSendAudio(payload, ts);
        } catch (SrtpException e) {
            life.end("SRTP failed: " + e.getMessage());
        }
    }

    private void protectAndSendAudio(byte[] payload, long ts) throws SrtpException {
        sequence = (sequence + 1) & 0xffff;
        byte[] rtp = RtpPacket.build(RtpHeader.of(false, opusPayloadType, sequence, ts, ownSsrc), payload, 0,
                payload.length);
        sendUdp(srtp.protectRtp(rtp));
    }

    /** One VP8 frame (already sealed with E2EE) as RTP packets of the screen track, the marker on the last. */
    void sendScreen(byte[] payload, long ts) {
        List<byte[]> packets = Vp8Packetizer.packetize(payload, Vp8Packetizer.MAX_CHUNK);
        for (int i = 0; i < packets.size(); i++) {
            byte[] p = packets.get(i);
            screenSequence = (screenSequence + 1) & 0xffff;
            byte[] rtp = RtpPacket.build(RtpHeader.of(i == packets.size() - 1, vp8PayloadType, screenSequence, ts,
                    screenSsrc), p, 0, p.length);
            try {
                sendUdp(srtp.protectRtp(rtp));
            } catch (SrtpException e) {
                life.end("SRTP failed: " + e.getMessage());
                return;
            }
        }
    }

    /** One VP8 frame (already sealed with E2EE) of the camera stream {@code stream}, as RTP packets. */
    void sendCamera(int stream, byte[] payload, long ts) {
        for (byte[] rtp : camera.packets(stream, payload, ts)) {
            try {
                sendUdp(srtp.protectRtp(rtp));
            } catch (SrtpException e) {
                life.end("SRTP failed: " + e.getMessage());
                return;
            }
        }
    }

    /** Tests only: {@code payload} as an audio RTP payload as is (no E2EE). */
    void sendRawAudioForTesting(byte[] payload, long ts) {
        try {
            protectAndSendAudio(payload, ts);
        } catch (SrtpException e) {
            throw new IllegalStateException(e);
        }
    }

    private void sendUdp(byte[] d) {
        try {
            loop.send(d, server);
        } catch (IOException e) {
            // UDP is lossy anyway: retransmission (ICE, DTLS) or the next frame covers it
        }
    }

    /** Closes DTLS (its close alert goes out if the server is known), drops the SRTP keys, stops the DTLS worker. */
    void close() {
        if (dtls != null) {
            dtls.close();
            for (byte[] d; (d = dtls.pollTransmit()) != null; ) {
                if (server != null) {
                    sendUdp(d);
                }
            }
        }
        srtp = null;
        if (dtlsWorker != null) {
            dtlsWorker.shutdownNow();
        }
    }
}
