package dev.veil.webrtc.dtls;

import static dev.veil.webrtc.dtls.DtlsTestSupport.drainEvents;
import static dev.veil.webrtc.dtls.DtlsTestSupport.pump;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.veil.webrtc.sdp.DtlsFingerprint;
import dev.veil.webrtc.srtp.SrtpProfile;
import dev.veil.webrtc.srtp.SrtpSession;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class DtlsEngineTest {
    private static final long NOW = 1_700_000_000_000L;
    /** Chromium's use_srtp order (AEAD_AES_256_GCM, which Veil lacks, sits between these two). */
    private static final List<SrtpProfile> CHROMIUM_ORDER =
            List.of(SrtpProfile.AES_CM_128_HMAC_SHA1_80, SrtpProfile.AEAD_AES_128_GCM);

    private static ExecutorService pool;
    private static DtlsCertificate serverCert;
    private static DtlsCertificate clientCert;
    private static DtlsCertificate strangerCert;

    private final AtomicInteger serverWakeups = new AtomicInteger();
    private final AtomicInteger clientWakeups = new AtomicInteger();

    @BeforeAll
    static void setUp() throws Exception {
        pool = DtlsTestSupport.daemonPool();
        serverCert = DtlsCertificate.generate(new SecureRandom(), NOW);
        clientCert = DtlsCertificate.generate(new SecureRandom(), NOW);
        strangerCert = DtlsCertificate.generate(new SecureRandom(), NOW);
    }

    @AfterAll
    static void tearDown() {
        pool.shutdownNow();
    }

    private DtlsServerEngine server(DtlsConfig config) {
        return new DtlsServerEngine(serverCert, config, pool, serverWakeups::incrementAndGet, new SecureRandom());
    }

    private DtlsClientEngine client(DtlsConfig config) {
        return new DtlsClientEngine(clientCert, config, pool, clientWakeups::incrementAndGet, new SecureRandom());
    }

    private static DtlsEvent.HandshakeComplete completed(DtlsEngine e) {
        List<DtlsEvent> events = drainEvents(e);
        assertEquals(1, events.size(), "events: " + events);
        return assertInstanceOf(DtlsEvent.HandshakeComplete.class, events.get(0));
    }

    private static DtlsEvent.Failed failed(DtlsEngine e) {
        List<DtlsEvent> events = drainEvents(e);
        assertEquals(1, events.size(), "events: " + events);
        return assertInstanceOf(DtlsEvent.Failed.class, events.get(0));
    }

    @Test
    void certificate_fingerprint_isSha256OfDerInSdpFormat() throws Exception {
        DtlsFingerprint fp = serverCert.fingerprint();
        assertEquals("sha-256", fp.algorithm());
        assertArrayEquals(MessageDigest.getInstance("SHA-256").digest(serverCert.encoded()), fp.value());
        String sdp = fp.toSdpValue();
        assertTrue(sdp.matches("sha-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}"), sdp);
        assertEquals(fp, DtlsFingerprint.parse(sdp));
        assertTrue(serverCert.toString().contains(sdp));
        java.security.cert.X509Certificate x509 = (java.security.cert.X509Certificate) java.security.cert
                .CertificateFactory.getInstance("X.509")
                .generateCertificate(new java.io.ByteArrayInputStream(serverCert.encoded()));
        assertEquals("EC", x509.getPublicKey().getAlgorithm());
        x509.verify(x509.getPublicKey()); // self-signed
        x509.checkValidity(new java.util.Date(NOW));
    }

    @Test
    void handshake_chromiumOfferOrder_serverChoosesGcmAndBothExportSameKeys() throws Exception {
        DtlsServerEngine server = server(DtlsConfig.defaults());
        DtlsClientEngine client = client(DtlsConfig.defaults().withSrtpProfiles(CHROMIUM_ORDER));
        server.setRemoteFingerprint(clientCert.fingerprint());
        client.setRemoteFingerprint(serverCert.fingerprint());
        client.start(NOW);
        pump(client, server, NOW);

        DtlsEvent.HandshakeComplete s = completed(server);
        DtlsEvent.HandshakeComplete c = completed(client);
        assertEquals(SrtpProfile.AEAD_AES_128_GCM, s.profile());
        assertEquals(SrtpProfile.AEAD_AES_128_GCM, c.profile());
        assertTrue(s.keys().sameKeysAs(c.keys()), "both ends export the same 56 bytes");
        assertEquals(clientCert.fingerprint(), s.peerFingerprint());
        assertEquals(serverCert.fingerprint(), c.peerFingerprint());
        assertTrue(server.isConnected());
        assertTrue(client.isConnected());
        assertTrue(serverWakeups.get() > 0, "the worker told the server it had output");
        assertTrue(clientWakeups.get() > 0);
        assertEquals(Long.MAX_VALUE, server.nextTimeoutMillis());

        // The exported keys drive SRTP both ways.
        SrtpSession srv = SrtpSession.forServer(s.keys());
        SrtpSession cli = SrtpSession.forClient(c.keys());
        byte[] rtp = {(byte) 0x80, 111, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9, 1, 2, 3, 4};
        assertArrayEquals(rtp, srv.unprotectRtp(cli.protectRtp(rtp)));
        assertArrayEquals(rtp, cli.unprotectRtp(srv.protectRtp(rtp)));
    }

    @Test
    void handshake_serverPrefersAesCm_negotiatesAesCmWith60ByteExport() throws Exception {
        DtlsServerEngine server = server(DtlsConfig.defaults().withSrtpProfiles(CHROMIUM_ORDER));
        DtlsClientEngine client = client(DtlsConfig.defaults());
        server.setRemoteFingerprint(clientCert.fingerprint());
        client.setRemoteFingerprint(serverCert.fingerprint());
        client.start(NOW);
        pump(client, server, NOW);
        DtlsEvent.HandshakeComplete s = completed(server);
        DtlsEvent.HandshakeComplete c = completed(client);
        assertEquals(SrtpProfile.AES_CM_128_HMAC_SHA1_80, s.profile());
        assertEquals(60, s.profile().exportLength());
        assertTrue(s.keys().sameKeysAs(c.keys()));
    }

    @Test
    void handshake_clientOffersOnlyAesCm_negotiatesAesCm() throws Exception {
        DtlsServerEngine server = server(DtlsConfig.defaults());
        DtlsClientEngine client = client(DtlsConfig.defaults().withSrtpProfiles(
                List.of(SrtpProfile.AES_CM_128_HMAC_SHA1_80)));
        server.setRemoteFingerprint(clientCert.fingerprint());
        client.setRemoteFingerprint(serverCert.fingerprint());
        client.start(NOW);
        pump(client, server, NOW);
        assertEquals(SrtpProfile.AES_CM_128_HMAC_SHA1_80, completed(server).profile());
        assertEquals(SrtpProfile.AES_CM_128_HMAC_SHA1_80, completed(client).profile());
    }

    @Test
    void handshake_noCommonSrtpProfile_failsBothSides() throws Exception {
        DtlsServerEngine server = server(DtlsConfig.defaults().withSrtpProfiles(
                List.of(SrtpProfile.AEAD_AES_128_GCM)));
        DtlsClientEngine client = client(DtlsConfig.defaults().withSrtpProfiles(
                List.of(SrtpProfile.AES_CM_128_HMAC_SHA1_80)));
        server.setRemoteFingerprint(clientCert.fingerprint());
        client.setRemoteFingerprint(serverCert.fingerprint());
        client.start(NOW);
        pump(client, server, NOW);
        assertEquals(DtlsFailure.NO_COMMON_SRTP_PROFILE, failed(server).reason());
        assertEquals(DtlsFailure.ALERT_RECEIVED, failed(client).reason());
        assertTrue(server.isClosed());
    }

    @Test
    void handshake_clientCertificateNotTheSdpOne_failsWithFingerprintMismatch() throws Exception {
        DtlsServerEngine server = server(DtlsConfig.defaults());
        DtlsClientEngine client = client(DtlsConfig.defaults());
        server.setRemoteFingerprint(strangerCert.fingerprint());
        client.setRemoteFingerprint(serverCert.fingerprint());
        client.start(NOW);
        pump(client, server, NOW);
        DtlsEvent.Failed f = failed(server);
        assertEquals(DtlsFailure.FINGERPRINT_MISMATCH, f.reason());
        DtlsEvent.Failed cf = failed(client);
        assertEquals(DtlsFailure.ALERT_RECEIVED, cf.reason());
        assertTrue(cf.detail().contains("bad_certificate"), cf.detail());
        assertFalse(server.isConnected());
    }

    @Test
    void handshake_serverCertificateNotTheSdpOne_clientFailsWithFingerprintMismatch() throws Exception {
        DtlsServerEngine server = server(DtlsConfig.defaults());
        DtlsClientEngine client = client(DtlsConfig.defaults());
        server.setRemoteFingerprint(clientCert.fingerprint());
        client.setRemoteFingerprint(strangerCert.fingerprint());
        client.start(NOW);
        pump(client, server, NOW);
        assertEquals(DtlsFailure.FINGERPRINT_MISMATCH, failed(client).reason());
        assertEquals(DtlsFailure.ALERT_RECEIVED, failed(server).reason());
    }

    @Test
    void handshake_fingerprintArrivesAfterHandshake_completesOnlyThen() throws Exception {
        DtlsServerEngine server = server(DtlsConfig.defaults());
        DtlsClientEngine client = client(DtlsConfig.defaults());
        client.setRemoteFingerprint(serverCert.fingerprint());
        client.start(NOW);
        pump(client, server, NOW);
        completed(client);
        assertNull(server.pollEvent(), "no completion before the SDP answer's fingerprint is known");
        assertFalse(server.isConnected());
        server.setRemoteFingerprint(clientCert.fingerprint());
        assertEquals(SrtpProfile.AEAD_AES_128_GCM, completed(server).profile());
        assertTrue(server.isConnected());
    }

    @Test
    void handshake_wrongFingerprintArrivesAfterHandshake_failsAndSendsCloseNotify() throws Exception {
        DtlsServerEngine server = server(DtlsConfig.defaults());
        DtlsClientEngine client = client(DtlsConfig.defaults());
        client.setRemoteFingerprint(serverCert.fingerprint());
        client.start(NOW);
        pump(client, server, NOW);
        completed(client);
        server.setRemoteFingerprint(strangerCert.fingerprint());
        assertEquals(DtlsFailure.FINGERPRINT_MISMATCH, failed(server).reason());
        pump(client, server, NOW);
        List<DtlsEvent> ev = drainEvents(client);
        assertEquals(1, ev.size(), ev.toString());
        assertInstanceOf(DtlsEvent.Closed.class, ev.get(0));
    }

    @Test
    void handleDatagram_garbageBeforeAndDuringHandshake_isIgnoredAndHandshakeCompletes() throws Exception {
        DtlsServerEngine server = server(DtlsConfig.defaults());
        DtlsClientEngine client = client(DtlsConfig.defaults());
        server.setRemoteFingerprint(clientCert.fingerprint());
        client.setRemoteFingerprint(serverCert.fingerprint());
        Random r = new Random(42);
        for (int i = 0; i < 20; i++) {
            byte[] junk = new byte[1 + r.nextInt(300)];
            r.nextBytes(junk);
            junk[0] = (byte) (20 + r.nextInt(44)); // a DTLS-range first byte
            server.handleDatagram(junk, NOW);
        }
        server.handleDatagram(new byte[] {22}, NOW);
        server.handleDatagram(new byte[] {22, (byte) 0xfe, (byte) 0xfd, 0, 0}, NOW);
        // A record header announcing more bytes than present, and an oversized datagram.
        server.handleDatagram(new byte[] {22, (byte) 0xfe, (byte) 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0x40, 0}, NOW);
        server.handleDatagram(new byte[DtlsConfig.MAX_DATAGRAM + 1], NOW);
        assertTrue(server.droppedDatagrams() >= 4, "truncated, oversized and malformed records are refused");
        server.awaitIdle();
        client.start(NOW);
        // Interleave garbage with the real flights.
        for (int round = 0; round < 20; round++) {
            client.awaitIdle();
            server.awaitIdle();
            boolean moved = false;
            for (byte[] d; (d = client.pollTransmit()) != null;) {
                byte[] junk = new byte[40];
                r.nextBytes(junk);
                junk[0] = 23;
                server.handleDatagram(junk, NOW);
                server.handleDatagram(d, NOW);
                moved = true;
            }
            for (byte[] d; (d = server.pollTransmit()) != null;) {
                client.handleDatagram(d, NOW);
                moved = true;
            }
            if (!moved) {
                break;
            }
        }
        assertEquals(SrtpProfile.AEAD_AES_128_GCM, completed(server).profile());
        completed(client);
        // And after the handshake: random records on the caller's thread change nothing.
        for (int i = 0; i < 50; i++) {
            byte[] junk = new byte[1 + r.nextInt(200)];
            r.nextBytes(junk);
            junk[0] = (byte) (20 + r.nextInt(4));
            server.handleDatagram(junk, NOW);
        }
        assertTrue(server.isConnected());
        assertNull(server.pollEvent());
    }

    @Test
    void close_byClient_serverReportsClosedAndAnswersCloseNotify() throws Exception {
        DtlsServerEngine server = server(DtlsConfig.defaults());
        DtlsClientEngine client = client(DtlsConfig.defaults());
        server.setRemoteFingerprint(clientCert.fingerprint());
        client.setRemoteFingerprint(serverCert.fingerprint());
        client.start(NOW);
        pump(client, server, NOW);
        completed(server);
        completed(client);
        client.close();
        byte[] closeNotify = client.pollTransmit();
        assertTrue(closeNotify != null && closeNotify[0] == 21, "an alert record");
        server.handleDatagram(closeNotify, NOW);
        List<DtlsEvent> ev = drainEvents(server);
        assertEquals(1, ev.size(), ev.toString());
        assertInstanceOf(DtlsEvent.Closed.class, ev.get(0));
        assertTrue(server.isClosed());
        assertTrue(client.isClosed());
        assertNull(client.pollEvent(), "a local close reports nothing");
        byte[] late = new byte[40];
        late[0] = 23;
        late[1] = (byte) 0xfe;
        late[2] = (byte) 0xfd;
        late[12] = 27;
        server.handleDatagram(late, NOW);
        assertEquals(1, server.droppedDatagrams(), "nothing is accepted after close");
    }

    @Test
    void poll_pastHandshakeDeadline_failsWithTimeoutAndReleasesWorker() throws Exception {
        DtlsServerEngine server = server(DtlsConfig.defaults());
        DtlsClientEngine client = client(DtlsConfig.defaults());
        client.start(NOW);
        client.awaitIdle();
        byte[] hello = client.pollTransmit();
        server.handleDatagram(hello, NOW);
        server.awaitIdle();
        assertEquals(NOW + 30_000, server.nextTimeoutMillis());
        server.poll(NOW + 29_999);
        assertNull(server.pollEvent());
        server.poll(NOW + 30_000);
        DtlsEvent.Failed f = failed(server);
        assertEquals(DtlsFailure.TIMEOUT, f.reason());
        server.awaitIdle(); // returns: the worker has ended
        assertTrue(server.isClosed());
        assertNull(server.pollEvent(), "reported once");
        client.close();
    }

    @Test
    void start_executorRefuses_failsWithoutThrowing() {
        DtlsServerEngine server = new DtlsServerEngine(serverCert, DtlsConfig.defaults(), r -> {
            throw new java.util.concurrent.RejectedExecutionException("full");
        }, () -> { }, new SecureRandom());
        server.handleDatagram(new byte[] {22, (byte) 0xfe, (byte) 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1}, NOW);
        assertEquals(DtlsFailure.HANDSHAKE_FAILED, failed(server).reason());
    }

    @Test
    void records_wellFormed_acceptsCompleteRecordsOnly() {
        byte[] hello = {22, (byte) 0xfe, (byte) 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 1, 2};
        assertTrue(DtlsRecords.wellFormed(hello));
        byte[] two = new byte[hello.length * 2];
        System.arraycopy(hello, 0, two, 0, hello.length);
        System.arraycopy(hello, 0, two, hello.length, hello.length);
        assertTrue(DtlsRecords.wellFormed(two), "several records in one datagram");
        assertFalse(DtlsRecords.wellFormed(java.util.Arrays.copyOf(hello, 14)), "truncated fragment");
        assertFalse(DtlsRecords.wellFormed(java.util.Arrays.copyOf(two, two.length - 1)), "truncated second record");
        assertFalse(DtlsRecords.wellFormed(new byte[] {22, (byte) 0xfe}), "short header");
        byte[] badType = hello.clone();
        badType[0] = 30;
        assertFalse(DtlsRecords.wellFormed(badType));
        byte[] shortProtected = {23, (byte) 0xfe, (byte) 0xfd, 0, 1, 0, 0, 0, 0, 0, 1, 0, 2, 9, 9};
        assertFalse(DtlsRecords.wellFormed(shortProtected), "epoch 1 without room for nonce and tag");
        byte[] protectedOk = new byte[13 + 24];
        System.arraycopy(shortProtected, 0, protectedOk, 0, 11);
        protectedOk[12] = 24;
        assertTrue(DtlsRecords.wellFormed(protectedOk));
    }

    @Test
    void config_invalid_isRejected() {
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> new DtlsConfig(List.of(), 1200, 1000));
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> new DtlsConfig(List.of(SrtpProfile.AEAD_AES_128_GCM, SrtpProfile.AEAD_AES_128_GCM), 1200, 1));
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> new DtlsConfig(List.of(SrtpProfile.AEAD_AES_128_GCM), 10, 1));
    }
}
