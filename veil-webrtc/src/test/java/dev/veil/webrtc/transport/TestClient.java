package dev.veil.webrtc.transport;

import dev.veil.webrtc.dtls.DtlsCertificate;
import dev.veil.webrtc.dtls.DtlsClientEngine;
import dev.veil.webrtc.dtls.DtlsConfig;
import dev.veil.webrtc.dtls.DtlsEvent;
import dev.veil.webrtc.ice.IceCredentials;
import dev.veil.webrtc.mux.Demux;
import dev.veil.webrtc.mux.PacketKind;
import dev.veil.webrtc.srtp.SrtpSession;
import dev.veil.webrtc.stun.StunAttribute;
import dev.veil.webrtc.stun.StunClass;
import dev.veil.webrtc.stun.StunMessage;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Executor;

/**
 * The browser side of an in-memory peer connection, built from the STUN codec, a {@link DtlsClientEngine} and
 * a client {@link SrtpSession}. {@link #pump} moves datagrams both ways until nothing is left to say, waiting for
 * the DTLS workers to go idle instead of sleeping.
 */
final class TestClient {
    final InetSocketAddress address;
    final IceCredentials ice;
    final DtlsCertificate certificate;
    final DtlsClientEngine dtls;
    final List<byte[]> stunResponses = new ArrayList<>();
    final List<byte[]> media = new ArrayList<>();
    final List<InetSocketAddress> mediaDestinations = new ArrayList<>();
    final List<DtlsEvent> dtlsEvents = new ArrayList<>();
    final List<TransportOutput.Event> serverEvents = new ArrayList<>();
    final List<InetSocketAddress> dtlsDestinations = new ArrayList<>();
    SrtpSession srtp;
    private final Random random;

    TestClient(InetSocketAddress address, DtlsConfig config, Executor executor, long seed, long nowMillis)
            throws Exception {
        this.address = address;
        this.random = new Random(seed);
        this.ice = IceCredentials.random(new Random(seed + 1));
        this.certificate = DtlsCertificate.generate(new SecureRandom(), nowMillis);
        this.dtls = new DtlsClientEngine(certificate, config, executor, () -> { }, new SecureRandom());
    }

    /** A Binding request like Chrome's: USERNAME, ICE-CONTROLLING, PRIORITY, [USE-CANDIDATE], MI, FINGERPRINT. */
    byte[] bindingRequest(IceCredentials server, boolean useCandidate) {
        return bindingRequest(server, ice, useCandidate);
    }

    byte[] bindingRequest(IceCredentials server, IceCredentials client, boolean useCandidate) {
        byte[] tx = new byte[12];
        random.nextBytes(tx);
        StunMessage.Builder b = StunMessage.builder(StunClass.REQUEST, StunMessage.METHOD_BINDING, tx)
                .add(new StunAttribute.Username(server.ufrag() + ":" + client.ufrag()))
                .add(new StunAttribute.IceControlling(random.nextLong()))
                .add(new StunAttribute.Priority(1853824767L));
        if (useCandidate) {
            b.add(new StunAttribute.UseCandidate());
        }
        return b.encode(server.password().getBytes(StandardCharsets.UTF_8), true);
    }

    /** Exchanges datagrams between this client (at {@link #address}) and the transport until both are quiet. */
    void pump(WebRtcTransport t, long nowMillis) throws InterruptedException {
        for (int round = 0; round < 100; round++) {
            dtls.awaitIdle();
            t.awaitDtlsIdle();
            t.poll(nowMillis);
            boolean moved = false;
            for (byte[] d; (d = dtls.pollTransmit()) != null;) {
                t.handleDatagram(d, address, nowMillis);
                moved = true;
            }
            moved |= collect(t, nowMillis);
            for (DtlsEvent e; (e = dtls.pollEvent()) != null;) {
                dtlsEvents.add(e);
                if (e instanceof DtlsEvent.HandshakeComplete) {
                    try {
                        srtp = SrtpSession.forClient(((DtlsEvent.HandshakeComplete) e).keys());
                    } catch (java.security.GeneralSecurityException ex) {
                        throw new AssertionError(ex);
                    }
                }
            }
            if (!moved) {
                return;
            }
        }
        throw new AssertionError("exchange did not settle in 100 rounds");
    }

    /** Drains the transport's outputs: datagrams for us are delivered, events recorded. */
    boolean collect(WebRtcTransport t, long nowMillis) {
        boolean moved = false;
        for (TransportOutput o = t.pollOutput(); !(o instanceof TransportOutput.Timeout); o = t.pollOutput()) {
            if (o instanceof TransportOutput.Event) {
                serverEvents.add((TransportOutput.Event) o);
                continue;
            }
            TransportOutput.Transmit x = (TransportOutput.Transmit) o;
            moved = true;
            PacketKind kind = Demux.classify(x.data());
            if (kind == PacketKind.DTLS) {
                dtlsDestinations.add(x.destination());
                dtls.handleDatagram(x.data(), nowMillis);
            } else if (kind == PacketKind.STUN) {
                stunResponses.add(x.data());
            } else {
                media.add(x.data());
                mediaDestinations.add(x.destination());
            }
        }
        return moved;
    }

    /** Sends a binding request from {@code from} (default: our address) and collects the transport's answer. */
    void check(WebRtcTransport t, boolean useCandidate, long nowMillis) {
        t.handleDatagram(bindingRequest(t.localIceCredentials(), useCandidate), address, nowMillis);
        collect(t, nowMillis);
    }

    @SuppressWarnings("unchecked")
    <E extends TransportOutput.Event> List<E> events(Class<E> type) {
        List<E> out = new ArrayList<>();
        for (TransportOutput.Event e : serverEvents) {
            if (type.isInstance(e)) {
                out.add((E) e);
            }
        }
        return out;
    }
}
