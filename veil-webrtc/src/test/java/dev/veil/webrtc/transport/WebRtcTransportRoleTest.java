package dev.veil.webrtc.transport;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.veil.webrtc.dtls.DtlsCertificate;
import dev.veil.webrtc.dtls.DtlsConfig;
import dev.veil.webrtc.dtls.DtlsEvent;
import dev.veil.webrtc.dtls.DtlsServerEngine;
import dev.veil.webrtc.mux.Demux;
import dev.veil.webrtc.mux.PacketKind;
import dev.veil.webrtc.sdp.SetupRole;
import dev.veil.webrtc.srtp.SrtpProfile;
import dev.veil.webrtc.srtp.SrtpSession;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The transport's DTLS role from the answer's a=setup: passive makes it the DTLS client (the peer, e.g. Pion, is
 * the DTLS server), active keeps it the server, anything else is refused. In memory, manual clock.
 */
class WebRtcTransportRoleTest {
    static final long T0 = WebRtcTransportTest.T0;
    static final InetSocketAddress CLIENT = WebRtcTransportTest.CLIENT;

    static ExecutorService pool;
    static DtlsCertificate serverCert;

    @BeforeAll
    static void setUp() throws Exception {
        pool = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "dtls-worker");
            t.setDaemon(true);
            return t;
        });
        serverCert = DtlsCertificate.generate(new SecureRandom(), T0);
    }

    @AfterAll
    static void tearDown() {
        pool.shutdownNow();
    }

    WebRtcTransport transport() {
        return new WebRtcTransport(serverCert, DtlsConfig.defaults(), pool, () -> { }, new SecureRandom());
    }

    /** The remote peer answering passive: ICE from {@link TestClient}, DTLS as a server engine. */
    static final class PassivePeer {
        final TestClient ice;
        final DtlsCertificate cert;
        final DtlsServerEngine dtls;
        final List<InetSocketAddress> dtlsDestinations = new ArrayList<>();
        final List<byte[]> media = new ArrayList<>();
        SrtpSession srtp;
        SrtpProfile profile;

        PassivePeer(long seed) throws Exception {
            ice = new TestClient(CLIENT, DtlsConfig.defaults(), pool, seed, T0);
            cert = DtlsCertificate.generate(new SecureRandom(), T0);
            dtls = new DtlsServerEngine(cert, DtlsConfig.defaults(), // the DTLS server picks the profile
                    pool, () -> { }, new SecureRandom());
        }

        /**
         * Sends a Binding request from {@code CLIENT} and delivers everything the transport answers. A check can
         * start the transport's DTLS client, whose worker may produce the ClientHello before the transport returns:
         * it is then already among these outputs and must reach our DTLS server (not {@link TestClient}'s own,
         * never started, DTLS client, as {@code ice.check} would deliver it).
         */
        void check(WebRtcTransport t, boolean useCandidate, long now) {
            t.handleDatagram(ice.bindingRequest(t.localIceCredentials(), useCandidate), CLIENT, now);
            deliverOutputs(t, now);
        }

        /** Delivers the transport's queued outputs: DTLS to our engine, events recorded; returns the datagrams. */
        int deliverOutputs(WebRtcTransport t, long now) {
            int toUs = 0;
            for (TransportOutput o = t.pollOutput(); !(o instanceof TransportOutput.Timeout); o = t.pollOutput()) {
                if (o instanceof TransportOutput.Event e) {
                    ice.serverEvents.add(e);
                } else if (o instanceof TransportOutput.Transmit x) {
                    toUs++;
                    if (Demux.classify(x.data()) == PacketKind.DTLS) {
                        dtlsDestinations.add(x.destination());
                        dtls.handleDatagram(x.data(), now);
                    } else if (Demux.classify(x.data()) != PacketKind.STUN) {
                        media.add(x.data());
                    }
                }
            }
            return toUs;
        }

        /** Moves datagrams both ways until both sides are quiet; returns how many went to us. */
        int pump(WebRtcTransport t, long now) throws InterruptedException {
            int toUs = 0;
            for (int round = 0; round < 100; round++) {
                dtls.awaitIdle();
                t.awaitDtlsIdle();
                t.poll(now);
                dtls.poll(now);
                int delivered = deliverOutputs(t, now);
                toUs += delivered;
                boolean moved = delivered > 0;
                for (byte[] d; (d = dtls.pollTransmit()) != null;) {
                    t.handleDatagram(d, CLIENT, now);
                    moved = true;
                }
                for (DtlsEvent e; (e = dtls.pollEvent()) != null;) {
                    if (e instanceof DtlsEvent.HandshakeComplete hc) {
                        try {
                            srtp = SrtpSession.forServer(hc.keys());
                            profile = hc.profile();
                        } catch (java.security.GeneralSecurityException ex) {
                            throw new AssertionError(ex);
                        }
                    }
                }
                if (!moved) {
                    return toUs;
                }
            }
            throw new AssertionError("exchange did not settle");
        }
    }

    @Test
    void setRemoteSetup_passive_transportSendsClientHelloAfterTheCheckAndSrtpFlowsBothWays() throws Exception {
        WebRtcTransport t = transport();
        PassivePeer p = new PassivePeer(21);
        t.setRemoteIceCredentials(p.ice.ice.ufrag(), p.ice.ice.password());
        t.setRemoteFingerprint(p.cert.fingerprint());
        p.dtls.setRemoteFingerprint(t.localFingerprint());
        t.setRemoteSetup(SetupRole.PASSIVE, T0);
        assertTrue(t.isDtlsClient());
        t.awaitDtlsIdle();
        t.poll(T0);
        assertInstanceOf(TransportOutput.Timeout.class, t.pollOutput(), "no ClientHello before any ICE check");

        p.check(t, true, T0); // the check validates and nominates the address: the ClientHello follows
        p.pump(t, T0);
        assertTrue(p.srtp != null, "the passive peer completed its DTLS server handshake");
        assertEquals(SrtpProfile.AEAD_AES_128_GCM, p.profile);
        assertFalse(p.dtlsDestinations.isEmpty());
        assertTrue(p.dtlsDestinations.stream().allMatch(CLIENT::equals));
        assertEquals(List.of(new TransportOutput.Connected(SrtpProfile.AEAD_AES_128_GCM, CLIENT)),
                p.ice.events(TransportOutput.Connected.class));
        assertEquals(SrtpProfile.AEAD_AES_128_GCM, t.srtpProfile().orElseThrow());

        // SRTP peer -> transport and back (our client-side keys against its server-side ones).
        byte[] up = WebRtcTransportTest.rtp(100, 0x11223344, "from the passive peer");
        t.handleDatagram(p.srtp.protectRtp(up), CLIENT, T0 + 20);
        p.ice.collect(t, T0 + 20);
        List<TransportOutput.RtpReceived> in = p.ice.events(TransportOutput.RtpReceived.class);
        assertEquals(1, in.size());
        assertArrayEquals(up, in.get(0).packet());
        byte[] down = WebRtcTransportTest.rtp(7, 0x01020304, "forwarded");
        assertTrue(t.sendRtp(down));
        TransportOutput.Transmit x = assertInstanceOf(TransportOutput.Transmit.class, t.pollOutput());
        assertEquals(CLIENT, x.destination());
        assertArrayEquals(down, p.srtp.unprotectRtp(x.data()));
        assertEquals(0, t.stats().dropped(PacketKind.DTLS));
    }

    @Test
    void setRemoteSetup_passiveAfterTheCheck_startsAtOnceBeforeNomination() throws Exception {
        WebRtcTransport t = transport();
        PassivePeer p = new PassivePeer(22);
        t.setRemoteFingerprint(p.cert.fingerprint());
        p.dtls.setRemoteFingerprint(t.localFingerprint());
        p.check(t, false, T0); // validated (the peer may check before its answer is processed), not nominated
        t.setRemoteIceCredentials(p.ice.ice.ufrag(), p.ice.ice.password());
        t.setRemoteSetup(SetupRole.PASSIVE, T0);
        p.pump(t, T0);
        assertTrue(p.srtp != null, "DTLS ran to the validated address before nomination");
        assertTrue(p.ice.events(TransportOutput.Connected.class).isEmpty(), "not connected before nomination");
        p.check(t, true, T0 + 500);
        assertEquals(List.of(new TransportOutput.Connected(SrtpProfile.AEAD_AES_128_GCM, CLIENT)),
                p.ice.events(TransportOutput.Connected.class));
    }

    @Test
    void setRemoteSetup_active_staysServerAndAnIdenticalRepeatIsAccepted() throws Exception {
        WebRtcTransport t = transport();
        TestClient c = new TestClient(CLIENT, DtlsConfig.defaults(), pool, 23, T0);
        t.setRemoteSetup(SetupRole.ACTIVE, T0);
        t.setRemoteSetup(SetupRole.ACTIVE, T0);
        assertFalse(t.isDtlsClient());
        WebRtcTransportTest.connect(t, c);
        assertInstanceOf(DtlsEvent.HandshakeComplete.class, c.dtlsEvents.get(0));
        assertTrue(t.isConnected());
    }

    @Test
    void setRemoteSetup_actpassOrHoldconn_refusedWithAClearError() {
        WebRtcTransport t = transport();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> t.setRemoteSetup(SetupRole.ACTPASS, T0));
        assertTrue(e.getMessage().contains("active or passive"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> t.setRemoteSetup(SetupRole.HOLDCONN, T0));
        assertFalse(t.isEnded(), "a refused role leaves the transport as it was");
    }

    @Test
    void setRemoteSetup_roleChangeOrPassiveAfterTheirClientHello_refused() throws Exception {
        WebRtcTransport t = transport();
        t.setRemoteSetup(SetupRole.ACTIVE, T0);
        IllegalStateException change = assertThrows(IllegalStateException.class,
                () -> t.setRemoteSetup(SetupRole.PASSIVE, T0));
        assertTrue(change.getMessage().contains("changes the DTLS role"), change.getMessage());

        WebRtcTransport u = transport();
        TestClient c = new TestClient(CLIENT, DtlsConfig.defaults(), pool, 24, T0);
        u.setRemoteIceCredentials(c.ice.ufrag(), c.ice.password());
        c.check(u, true, T0);
        c.dtls.start(T0);
        c.dtls.awaitIdle();
        u.handleDatagram(c.dtls.pollTransmit(), CLIENT, T0); // its ClientHello: it acts as the DTLS client
        IllegalStateException late = assertThrows(IllegalStateException.class,
                () -> u.setRemoteSetup(SetupRole.PASSIVE, T0));
        assertTrue(late.getMessage().contains("already sent DTLS"), late.getMessage());
        assertFalse(u.isDtlsClient());
        c.dtls.close();
        u.close();
    }
}
