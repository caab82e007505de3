package dev.veil.webrtc.transport;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.veil.webrtc.dtls.DtlsCertificate;
import dev.veil.webrtc.dtls.DtlsConfig;
import dev.veil.webrtc.dtls.DtlsEvent;
import dev.veil.webrtc.ice.IceCredentials;
import dev.veil.webrtc.ice.IceLiteAgent;
import dev.veil.webrtc.mux.PacketKind;
import dev.veil.webrtc.srtp.SrtpProfile;
import dev.veil.webrtc.stun.StunAttribute;
import dev.veil.webrtc.stun.StunClass;
import dev.veil.webrtc.stun.StunMessage;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** A browser-like client and a {@link WebRtcTransport} talking entirely in memory with a manual clock. */
class WebRtcTransportTest {
    static final long T0 = 1_700_000_000_000L;
    static final InetSocketAddress CLIENT = new InetSocketAddress("192.0.2.10", 50000);
    static final List<SrtpProfile> CHROMIUM_ORDER =
            List.of(SrtpProfile.AES_CM_128_HMAC_SHA1_80, SrtpProfile.AEAD_AES_128_GCM);

    static ExecutorService pool;
    static DtlsCertificate serverCert;
    final AtomicInteger wakeups = new AtomicInteger();

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

    WebRtcTransport transport(DtlsConfig config) {
        return new WebRtcTransport(serverCert, config, pool, wakeups::incrementAndGet, new SecureRandom());
    }

    TestClient client(long seed) throws Exception {
        return new TestClient(CLIENT, DtlsConfig.defaults().withSrtpProfiles(CHROMIUM_ORDER), pool, seed, T0);
    }

    /** Answer processed, one nominating check, DTLS handshake: a connected pair. */
    static void connect(WebRtcTransport t, TestClient c) throws Exception {
        t.setRemoteIceCredentials(c.ice.ufrag(), c.ice.password());
        t.setRemoteFingerprint(c.certificate.fingerprint());
        c.dtls.setRemoteFingerprint(t.localFingerprint());
        c.check(t, true, T0);
        c.dtls.start(T0);
        c.pump(t, T0);
    }

    /** An empty RTCP receiver report (RFC 3550 §6.4.2) of sender SSRC 0x1234. */
    static byte[] rr() {
        return new byte[] {(byte) 0x80, (byte) 201, 0, 1, 0, 0, 0x12, 0x34};
    }

    static byte[] rtp(int seq, int ssrc, String payload) {
        byte[] p = payload.getBytes(StandardCharsets.US_ASCII);
        byte[] out = new byte[12 + p.length];
        out[0] = (byte) 0x80;
        out[1] = 111;
        out[2] = (byte) (seq >>> 8);
        out[3] = (byte) seq;
        out[8] = (byte) (ssrc >>> 24);
        out[9] = (byte) (ssrc >>> 16);
        out[10] = (byte) (ssrc >>> 8);
        out[11] = (byte) ssrc;
        System.arraycopy(p, 0, out, 12, p.length);
        return out;
    }

    static byte[] receiverReport(int ssrc) {
        byte[] p = new byte[8];
        p[0] = (byte) 0x80;
        p[1] = (byte) 201;
        p[3] = 1;
        p[4] = (byte) (ssrc >>> 24);
        p[5] = (byte) (ssrc >>> 16);
        p[6] = (byte) (ssrc >>> 8);
        p[7] = (byte) ssrc;
        return p;
    }

    private void endToEnd(DtlsConfig serverConfig, SrtpProfile expected) throws Exception {
        WebRtcTransport t = transport(serverConfig);
        TestClient c = client(1);
        t.setRemoteIceCredentials(c.ice.ufrag(), c.ice.password());
        t.setRemoteFingerprint(c.certificate.fingerprint());
        c.dtls.setRemoteFingerprint(t.localFingerprint());

        // ICE: one check with USE-CANDIDATE, answered with integrity and the client's mapped address.
        c.check(t, true, T0);
        assertEquals(1, c.stunResponses.size());
        StunMessage resp = StunMessage.decode(c.stunResponses.get(0));
        assertEquals(StunClass.SUCCESS_RESPONSE, resp.messageClass());
        assertTrue(resp.verifyIntegrity(t.localIceCredentials().password().getBytes(StandardCharsets.UTF_8)));
        assertTrue(resp.verifyFingerprint());
        assertEquals(CLIENT, resp.get(StunAttribute.XorMappedAddress.class).orElseThrow().address());
        assertEquals(List.of(new TransportOutput.AddressValidated(CLIENT)), c.serverEvents);
        assertFalse(t.isConnected(), "ICE alone is not connected");

        // DTLS.
        c.dtls.start(T0);
        c.pump(t, T0);
        assertEquals(1, c.dtlsEvents.size(), c.dtlsEvents.toString());
        assertInstanceOf(DtlsEvent.HandshakeComplete.class, c.dtlsEvents.get(0));
        List<TransportOutput.Connected> connected = c.events(TransportOutput.Connected.class);
        assertEquals(List.of(new TransportOutput.Connected(expected, CLIENT)), connected);
        assertTrue(t.isConnected());
        assertEquals(expected, t.srtpProfile().orElseThrow());
        assertTrue(c.dtlsDestinations.stream().allMatch(CLIENT::equals));
        assertTrue(wakeups.get() > 0, "the DTLS worker woke the transport's owner");

        // SRTP client -> server.
        byte[] plainRtp = rtp(4242, 0xAABBCCDD, "hello from the browser");
        t.handleDatagram(c.srtp.protectRtp(plainRtp), CLIENT, T0 + 20);
        byte[] plainRtcp = receiverReport(0xAABBCCDD);
        t.handleDatagram(c.srtp.protectRtcp(plainRtcp), CLIENT, T0 + 20);
        c.collect(t, T0 + 20);
        List<TransportOutput.RtpReceived> rtpIn = c.events(TransportOutput.RtpReceived.class);
        assertEquals(1, rtpIn.size());
        assertArrayEquals(plainRtp, rtpIn.get(0).packet());
        List<TransportOutput.RtcpReceived> rtcpIn = c.events(TransportOutput.RtcpReceived.class);
        assertEquals(1, rtcpIn.size());
        assertArrayEquals(plainRtcp, rtcpIn.get(0).packet());

        // SRTP server -> client, to the selected address.
        byte[] down = rtp(7, 0x01020304, "forwarded media");
        assertTrue(t.sendRtp(down));
        assertTrue(t.sendRtcp(receiverReport(0x01020304)));
        c.collect(t, T0 + 40);
        assertEquals(2, c.media.size());
        assertEquals(List.of(CLIENT, CLIENT), c.mediaDestinations);
        assertArrayEquals(down, c.srtp.unprotectRtp(c.media.get(0)));
        assertArrayEquals(receiverReport(0x01020304), c.srtp.unprotectRtcp(c.media.get(1)));

        TransportStats s = t.stats();
        assertEquals(1, s.received(PacketKind.STUN));
        assertTrue(s.received(PacketKind.DTLS) >= 2, s.toString());
        assertEquals(1, s.received(PacketKind.RTP));
        assertEquals(1, s.received(PacketKind.RTCP));
        assertEquals(0, s.dropped(PacketKind.RTP) + s.dropped(PacketKind.RTCP) + s.dropped(PacketKind.DTLS));
        assertEquals(1, s.rtpSent());
        assertEquals(1, s.rtcpSent());
        // the last authenticated packet from the client (the SRTCP at T0 + 20) refreshed consent
        assertEquals(IceLiteAgent.CONSENT_TIMEOUT_MILLIS + T0 + 20, t.nextTimeoutMillis());
    }

    @Test
    void endToEnd_chromiumOffer_negotiatesGcmAndMediaFlowsBothWays() throws Exception {
        endToEnd(DtlsConfig.defaults(), SrtpProfile.AEAD_AES_128_GCM);
    }

    @Test
    void endToEnd_serverOnlyAesCm_negotiatesAesCmAndMediaFlowsBothWays() throws Exception {
        endToEnd(DtlsConfig.defaults().withSrtpProfiles(List.of(SrtpProfile.AES_CM_128_HMAC_SHA1_80)),
                SrtpProfile.AES_CM_128_HMAC_SHA1_80);
    }

    @Test
    void handleDatagram_dtlsBeforeNomination_connectsOnlyOnUseCandidate() throws Exception {
        WebRtcTransport t = transport(DtlsConfig.defaults());
        TestClient c = client(2);
        t.setRemoteIceCredentials(c.ice.ufrag(), c.ice.password());
        t.setRemoteFingerprint(c.certificate.fingerprint());
        c.dtls.setRemoteFingerprint(t.localFingerprint());
        c.check(t, false, T0); // a check without USE-CANDIDATE: the address is validated, not nominated
        c.dtls.start(T0);
        c.pump(t, T0);
        assertInstanceOf(DtlsEvent.HandshakeComplete.class, c.dtlsEvents.get(0), "DTLS ran before nomination");
        assertTrue(c.events(TransportOutput.Connected.class).isEmpty());
        assertFalse(t.sendRtp(rtp(1, 1, "x")), "nothing is sent before nomination");
        c.check(t, true, T0 + 1000);
        assertEquals(List.of(new TransportOutput.Connected(SrtpProfile.AEAD_AES_128_GCM, CLIENT)),
                c.events(TransportOutput.Connected.class));
        assertEquals(1, t.stats().sendDropped());
    }

    @Test
    void sendRtcp_beforeNomination_goesToTheAuthenticatedMediaSource() throws Exception {
        WebRtcTransport t = transport(DtlsConfig.defaults());
        TestClient c = client(12);
        t.setRemoteIceCredentials(c.ice.ufrag(), c.ice.password());
        t.setRemoteFingerprint(c.certificate.fingerprint());
        c.dtls.setRemoteFingerprint(t.localFingerprint());
        c.check(t, false, T0); // validated, not nominated (Chromium nominates seconds after media starts)
        c.dtls.start(T0);
        c.pump(t, T0);
        assertInstanceOf(DtlsEvent.HandshakeComplete.class, c.dtlsEvents.get(0));
        assertFalse(t.sendRtcp(receiverReport(7)), "no authenticated media yet: nowhere to send");
        // the client's first SRTP packet
        t.handleDatagram(c.srtp.protectRtp(rtp(1, 0x1234, "media")), CLIENT, T0 + 10);
        TransportOutput o;
        boolean received = false;
        while (!((o = t.pollOutput()) instanceof TransportOutput.Timeout)) {
            received |= o instanceof TransportOutput.RtpReceived;
        }
        assertTrue(received);
        assertFalse(t.isConnected(), "still not nominated");
        assertTrue(t.sendRtcp(receiverReport(7)), "RTCP (e.g. congestion feedback) may go to the media source");
        TransportOutput.Transmit tx = assertInstanceOf(TransportOutput.Transmit.class, t.pollOutput());
        assertEquals(CLIENT, tx.destination());
        assertArrayEquals(receiverReport(7), c.srtp.unprotectRtcp(tx.data()));
        assertFalse(t.sendRtp(rtp(2, 1, "x")), "RTP still waits for nomination");
        // SRTP from an address ICE never validated does not move it
        InetSocketAddress stranger = new InetSocketAddress("192.0.2.99", 4000);
        t.handleDatagram(c.srtp.protectRtp(rtp(2, 0x1234, "media")), stranger, T0 + 20);
        while (!(t.pollOutput() instanceof TransportOutput.Timeout)) {
            // drain
        }
        assertTrue(t.sendRtcp(receiverReport(7)));
        assertEquals(CLIENT, assertInstanceOf(TransportOutput.Transmit.class, t.pollOutput()).destination());
    }

    @Test
    void handleDatagram_dtlsFromUnvalidatedAddress_isDroppedAndCounted() throws Exception {
        WebRtcTransport t = transport(DtlsConfig.defaults());
        TestClient c = client(3);
        c.dtls.start(T0);
        c.dtls.awaitIdle();
        byte[] hello = c.dtls.pollTransmit();
        t.handleDatagram(hello, CLIENT, T0);
        t.awaitDtlsIdle();
        t.poll(T0);
        assertInstanceOf(TransportOutput.Timeout.class, t.pollOutput(), "no answer to an unchecked address");
        assertEquals(1, t.stats().dropped(PacketKind.DTLS));
        c.dtls.close();
    }

    @Test
    void setRemoteFingerprint_notTheClientsCertificate_failsTheTransport() throws Exception {
        WebRtcTransport t = transport(DtlsConfig.defaults());
        TestClient c = client(4);
        TestClient other = client(5);
        t.setRemoteIceCredentials(c.ice.ufrag(), c.ice.password());
        t.setRemoteFingerprint(other.certificate.fingerprint());
        c.dtls.setRemoteFingerprint(t.localFingerprint());
        c.check(t, true, T0);
        c.dtls.start(T0);
        c.pump(t, T0);
        List<TransportOutput.Failed> failed = c.events(TransportOutput.Failed.class);
        assertEquals(1, failed.size(), c.serverEvents.toString());
        assertTrue(failed.get(0).reason().contains("FINGERPRINT_MISMATCH"), failed.get(0).reason());
        assertTrue(t.isEnded());
        assertFalse(t.isConnected());
        t.handleDatagram(c.bindingRequest(t.localIceCredentials(), true), CLIENT, T0 + 1);
        assertInstanceOf(TransportOutput.Timeout.class, t.pollOutput(), "an ended transport answers nothing");
        assertEquals(Long.MAX_VALUE, t.nextTimeoutMillis());
    }

    @Test
    void poll_noCheckForThirtySeconds_failsWithConsentExpired() throws Exception {
        WebRtcTransport t = transport(DtlsConfig.defaults());
        TestClient c = client(6);
        connect(t, c);
        assertTrue(t.isConnected());
        c.check(t, true, T0 + 10_000); // a consent refresh
        assertEquals(T0 + 40_000, t.nextTimeoutMillis());
        t.poll(T0 + 39_999);
        c.collect(t, T0 + 39_999);
        assertTrue(c.events(TransportOutput.Failed.class).isEmpty());
        t.poll(T0 + 40_000);
        c.collect(t, T0 + 40_000);
        List<TransportOutput.Failed> failed = c.events(TransportOutput.Failed.class);
        assertEquals(1, failed.size());
        assertTrue(failed.get(0).reason().contains("consent"), failed.get(0).reason());
        assertFalse(t.isConnected());
    }

    @Test
    void authenticatedMediaFromTheSelectedAddress_refreshesConsent_forgedOrStrayMediaDoesNot() throws Exception {
        // A Pion client sends its keepalive check only when the selected pair is idle one way: a publisher that sends
        // media and gets feedback sends no checks at all. Its authenticated media keeps consent alive instead.
        WebRtcTransport t = transport(DtlsConfig.defaults());
        TestClient c = client(8);
        connect(t, c);
        assertTrue(t.isConnected());
        t.handleDatagram(c.srtp.protectRtp(rtp(1, 0x1234, "media")), CLIENT, T0 + 20_000);
        assertEquals(T0 + 50_000, t.nextTimeoutMillis());
        t.handleDatagram(c.srtp.protectRtcp(rr()), CLIENT, T0 + 25_000);
        assertEquals(T0 + 55_000, t.nextTimeoutMillis());
        byte[] forged = c.srtp.protectRtp(rtp(2, 0x1234, "media"));
        forged[forged.length - 1] ^= 1; // fails authentication
        t.handleDatagram(forged, CLIENT, T0 + 30_000);
        byte[] replay = c.srtp.protectRtp(rtp(3, 0x1234, "media"));
        t.handleDatagram(replay, CLIENT, T0 + 31_000);
        t.handleDatagram(replay, CLIENT, T0 + 32_000); // a replay is refused: no refresh at 32 s
        assertEquals(T0 + 61_000, t.nextTimeoutMillis());
        t.handleDatagram(c.srtp.protectRtp(rtp(4, 0x1234, "media")), new InetSocketAddress("127.0.0.1", 1),
                T0 + 40_000); // not a validated address
        assertEquals(T0 + 61_000, t.nextTimeoutMillis());
        t.poll(T0 + 61_000);
        c.collect(t, T0 + 61_000);
        assertEquals(1, c.events(TransportOutput.Failed.class).size());
        assertFalse(t.isConnected());
    }

    @Test
    void restartIce_newCredentialsAccepted_oldOnesRetiredAfterFirstNewCheck() throws Exception {
        WebRtcTransport t = transport(DtlsConfig.defaults());
        TestClient c = client(7);
        connect(t, c);
        IceCredentials oldLocal = t.localIceCredentials();
        IceCredentials newLocal = t.restartIce();
        assertFalse(newLocal.equals(oldLocal));
        IceCredentials newRemote = IceCredentials.random(new java.util.Random(99));
        // Until the answer is processed and a check uses the new credentials, the old ones still work.
        t.handleDatagram(c.bindingRequest(oldLocal, true), CLIENT, T0 + 100);
        t.setRemoteIceCredentials(newRemote.ufrag(), newRemote.password());
        t.handleDatagram(c.bindingRequest(newLocal, newRemote, true), CLIENT, T0 + 200);
        t.handleDatagram(c.bindingRequest(oldLocal, true), CLIENT, T0 + 300);
        c.stunResponses.clear();
        c.collect(t, T0 + 300);
        assertEquals(3, c.stunResponses.size());
        assertEquals(StunClass.SUCCESS_RESPONSE, StunMessage.decode(c.stunResponses.get(0)).messageClass());
        assertEquals(StunClass.SUCCESS_RESPONSE, StunMessage.decode(c.stunResponses.get(1)).messageClass());
        assertEquals(StunClass.ERROR_RESPONSE, StunMessage.decode(c.stunResponses.get(2)).messageClass());
        assertTrue(t.isConnected(), "DTLS and SRTP carry on across an ICE restart");
        assertTrue(t.sendRtp(rtp(1, 5, "after restart")));
    }

    @Test
    void handleDatagram_nominationFromNewAddress_movesMediaThere() throws Exception {
        WebRtcTransport t = transport(DtlsConfig.defaults());
        TestClient c = client(8);
        connect(t, c);
        InetSocketAddress moved = new InetSocketAddress("198.51.100.7", 61000);
        t.handleDatagram(c.bindingRequest(t.localIceCredentials(), true), moved, T0 + 500);
        c.collect(t, T0 + 500);
        assertTrue(c.serverEvents.contains(new TransportOutput.AddressValidated(moved)));
        assertTrue(c.serverEvents.contains(new TransportOutput.RemoteAddressChanged(CLIENT, moved)));
        assertTrue(t.sendRtp(rtp(10, 6, "to the new address")));
        c.collect(t, T0 + 501);
        assertEquals(moved, c.mediaDestinations.get(c.mediaDestinations.size() - 1));
        byte[] up = rtp(11, 7, "from the new address");
        t.handleDatagram(c.srtp.protectRtp(up), moved, T0 + 502);
        c.collect(t, T0 + 502);
        assertArrayEquals(up, c.events(TransportOutput.RtpReceived.class).get(0).packet());
        assertEquals(moved, t.selectedAddress().orElseThrow());
    }

    @Test
    void close_local_sendsCloseNotifyAndReportsClosed() throws Exception {
        WebRtcTransport t = transport(DtlsConfig.defaults());
        TestClient c = client(9);
        connect(t, c);
        t.close();
        c.pump(t, T0 + 1);
        assertEquals(List.of(new TransportOutput.Closed("closed locally")), c.events(TransportOutput.Closed.class));
        assertTrue(c.dtlsEvents.stream().anyMatch(e -> e instanceof DtlsEvent.Closed), c.dtlsEvents.toString());
        assertFalse(t.sendRtp(rtp(1, 1, "late")));
        t.close(); // idempotent
        assertEquals(1, c.events(TransportOutput.Closed.class).size());
    }

    @Test
    void handleDatagram_closeNotifyFromClient_reportsClosed() throws Exception {
        WebRtcTransport t = transport(DtlsConfig.defaults());
        TestClient c = client(10);
        connect(t, c);
        c.dtls.close();
        c.pump(t, T0 + 1);
        List<TransportOutput.Closed> closed = c.events(TransportOutput.Closed.class);
        assertEquals(1, closed.size());
        assertTrue(closed.get(0).reason().contains("close_notify"), closed.get(0).reason());
        assertTrue(t.isEnded());
    }

    @Test
    void poll_dtlsHandshakeStalls_failsAtDeadlineOnCallersClock() throws Exception {
        WebRtcTransport t = transport(DtlsConfig.defaults());
        TestClient c = client(11);
        t.setRemoteIceCredentials(c.ice.ufrag(), c.ice.password());
        c.check(t, false, T0); // validated but not nominated: no consent timer, only the DTLS deadline
        c.dtls.start(T0);
        c.dtls.awaitIdle();
        t.handleDatagram(c.dtls.pollTransmit(), CLIENT, T0 + 5); // the ClientHello, then the client goes silent
        t.awaitDtlsIdle();
        assertEquals(T0 + 5 + 30_000, t.nextTimeoutMillis());
        t.poll(T0 + 5 + 30_000);
        c.collect(t, T0 + 30_005);
        List<TransportOutput.Failed> failed = c.events(TransportOutput.Failed.class);
        assertEquals(1, failed.size(), c.serverEvents.toString());
        assertTrue(failed.get(0).reason().contains("TIMEOUT"), failed.get(0).reason());
        c.dtls.close();
    }
}
