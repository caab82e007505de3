package dev.veil.webrtc.transport;

import static dev.veil.webrtc.transport.WebRtcTransportTest.CLIENT;
import static dev.veil.webrtc.transport.WebRtcTransportTest.T0;
import static dev.veil.webrtc.transport.WebRtcTransportTest.receiverReport;
import static dev.veil.webrtc.transport.WebRtcTransportTest.rtp;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.veil.webrtc.dtls.DtlsConfig;
import dev.veil.webrtc.mux.PacketKind;
import dev.veil.webrtc.srtp.SrtpRejection;
import dev.veil.webrtc.stun.StunClass;
import dev.veil.webrtc.stun.StunMessage;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Hostile input against a connected transport: malformed STUN, DTLS, RTP and RTCP are dropped and counted, never
 * thrown, and media keeps flowing afterwards.
 */
class MalformedPacketInjectionTest {
    private static ExecutorService pool;
    private static final InetSocketAddress STRANGER = new InetSocketAddress("203.0.113.66", 40000);

    @BeforeAll
    static void setUp() throws Exception {
        pool = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "dtls-worker");
            t.setDaemon(true);
            return t;
        });
        WebRtcTransportTest.setUp();
    }

    @AfterAll
    static void tearDown() {
        pool.shutdownNow();
        WebRtcTransportTest.tearDown();
    }

    private WebRtcTransport connected(TestClient c) throws Exception {
        WebRtcTransport t = new WebRtcTransport(WebRtcTransportTest.serverCert, DtlsConfig.defaults(), pool, () -> { },
                new SecureRandom());
        WebRtcTransportTest.connect(t, c);
        assertTrue(t.isConnected());
        c.serverEvents.clear();
        return t;
    }

    private TestClient client(long seed) throws Exception {
        return new TestClient(CLIENT, DtlsConfig.defaults(), pool, seed, T0);
    }

    /** Media still goes both ways. */
    private static void assertMediaFlows(WebRtcTransport t, TestClient c, int seq) throws Exception {
        c.serverEvents.clear();
        byte[] up = rtp(seq, 0x5150, "still alive " + seq);
        t.handleDatagram(c.srtp.protectRtp(up), CLIENT, T0 + 1000);
        c.collect(t, T0 + 1000);
        List<TransportOutput.RtpReceived> in = c.events(TransportOutput.RtpReceived.class);
        assertEquals(1, in.size(), c.serverEvents.toString());
        assertArrayEquals(up, in.get(0).packet());
        int before = c.media.size();
        byte[] down = rtp(seq, 0x6160, "down " + seq);
        assertTrue(t.sendRtp(down));
        c.collect(t, T0 + 1000);
        assertArrayEquals(down, c.srtp.unprotectRtp(c.media.get(before)));
    }

    @Test
    void handleDatagram_targetedMalformedPackets_areDroppedCountedAndMediaContinues() throws Exception {
        TestClient c = client(21);
        WebRtcTransport t = connected(c);
        long now = T0 + 100;

        // STUN: truncated header, bad FINGERPRINT, wrong password (answered 401), a response (not a request).
        t.handleDatagram(new byte[] {0, 1, 0, 0}, CLIENT, now);
        byte[] check = c.bindingRequest(t.localIceCredentials(), true);
        byte[] badFp = check.clone();
        badFp[badFp.length - 1] ^= 1;
        t.handleDatagram(badFp, CLIENT, now);
        byte[] badLength = check.clone();
        badLength[3] = (byte) 0xFF;
        t.handleDatagram(badLength, CLIENT, now);
        dev.veil.webrtc.ice.IceCredentials wrong = new dev.veil.webrtc.ice.IceCredentials(
                t.localIceCredentials().ufrag(), "wrongpasswordwrongpassword");
        t.handleDatagram(c.bindingRequest(wrong, true), CLIENT, now);
        t.handleDatagram(StunMessage.builder(StunClass.SUCCESS_RESPONSE, 1, new byte[12]).encode(null, true),
                CLIENT, now);

        // DTLS: junk records from the peer's address, and a record from an address that never passed ICE.
        t.handleDatagram(new byte[] {22}, CLIENT, now);
        t.handleDatagram(new byte[] {23, (byte) 0xfe, (byte) 0xfd, 0, 1, 0, 0, 0, 0, 0, 9, 0, 4, 1, 2, 3, 4}, CLIENT,
                now);
        t.handleDatagram(new byte[] {21, (byte) 0xfe, (byte) 0xfd, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2, 2, 40}, CLIENT, now);
        t.handleDatagram(new byte[] {22, (byte) 0xfe, (byte) 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, STRANGER, now);

        // RTP: wrong version, too short, CSRC count past the end, forged payload, a replay, a stranger.
        byte[] good = c.srtp.protectRtp(rtp(100, 0x5150, "once"));
        t.handleDatagram(good, CLIENT, now);
        t.handleDatagram(good, CLIENT, now);
        byte[] forged = c.srtp.protectRtp(rtp(103, 0x5150, "tampered"));
        forged[forged.length - 3] ^= 0x40;
        t.handleDatagram(forged, CLIENT, now);
        t.handleDatagram(new byte[] {(byte) 0x80, 111, 0, 1}, CLIENT, now);
        byte[] csrc = rtp(101, 0x5150, "abcdefgh");
        csrc[0] = (byte) 0x8F;
        t.handleDatagram(csrc, CLIENT, now);
        t.handleDatagram(c.srtp.protectRtp(rtp(102, 0x5150, "from elsewhere")), STRANGER, now);

        // RTCP: too short, forged, and a replay.
        t.handleDatagram(new byte[] {(byte) 0x80, (byte) 200, 0, 1, 0, 0, 0, 1}, CLIENT, now);
        byte[] rtcp = c.srtp.protectRtcp(receiverReport(0x5150));
        t.handleDatagram(rtcp, CLIENT, now);
        t.handleDatagram(rtcp, CLIENT, now);
        byte[] forgedRtcp = c.srtp.protectRtcp(receiverReport(0x5150));
        forgedRtcp[9] ^= 1;
        t.handleDatagram(forgedRtcp, CLIENT, now);

        // Unclassifiable: empty, TURN channel range, ZRTP range.
        t.handleDatagram(new byte[0], CLIENT, now);
        t.handleDatagram(new byte[] {64, 0, 0, 4, 1, 2, 3, 4}, CLIENT, now);
        t.handleDatagram(new byte[] {16, 0}, CLIENT, now);

        c.collect(t, now);
        TransportStats s = t.stats();
        assertEquals(5, s.dropped(PacketKind.STUN), s.toString()); // the 401 is answered but counted as dropped
        assertEquals(1, s.stunErrorResponses());
        // The 1-byte and the too-short protected record fail the record check, the stranger is not validated;
        // the unprotected epoch-0 alert is well formed and BouncyCastle ignores it after the handshake.
        assertEquals(3, s.dropped(PacketKind.DTLS), s.toString());
        assertEquals(5, s.dropped(PacketKind.RTP), s.toString());
        assertEquals(1, (long) s.srtpRejected().get(SrtpRejection.REPLAY));
        assertEquals(1, (long) s.srtpRejected().get(SrtpRejection.AUTH_FAIL));
        assertEquals(1, (long) s.srtpRejected().get(SrtpRejection.TOO_SHORT));
        assertEquals(1, (long) s.srtpRejected().get(SrtpRejection.MALFORMED));
        assertEquals(3, s.dropped(PacketKind.RTCP), s.toString());
        assertEquals(1, (long) s.srtcpRejected().get(SrtpRejection.REPLAY));
        assertEquals(1, (long) s.srtcpRejected().get(SrtpRejection.AUTH_FAIL));
        assertEquals(1, (long) s.srtcpRejected().get(SrtpRejection.TOO_SHORT));
        assertEquals(3, s.dropped(PacketKind.UNKNOWN));
        assertEquals(1, s.received(PacketKind.RTP));
        assertEquals(1, s.received(PacketKind.RTCP));
        assertTrue(c.events(TransportOutput.Failed.class).isEmpty(), c.serverEvents.toString());
        assertTrue(t.isConnected());
        assertMediaFlows(t, c, 200);
    }

    @Test
    void handleDatagram_seededFuzzOfMutatedValidPackets_neverThrowsAndMediaContinues() throws Exception {
        TestClient c = client(22);
        WebRtcTransport t = connected(c);
        Random r = new Random(0xF022);
        byte[] stun = c.bindingRequest(t.localIceCredentials(), true);
        int seq = 1000;
        long before = sum(t.stats());
        int sent = 0;
        for (int i = 0; i < 3000; i++) {
            byte[] base;
            switch (r.nextInt(5)) {
                case 0:
                    base = stun.clone();
                    break;
                case 1:
                    base = c.srtp.protectRtp(rtp(seq++, 0x7000 + r.nextInt(3), "fuzz payload " + i));
                    break;
                case 2:
                    base = c.srtp.protectRtcp(receiverReport(0x7100));
                    break;
                case 3:
                    base = new byte[13 + r.nextInt(80)];
                    r.nextBytes(base);
                    base[0] = (byte) (20 + r.nextInt(4));
                    base[1] = (byte) 0xfe;
                    base[2] = (byte) 0xfd;
                    break;
                default:
                    base = new byte[r.nextInt(120)];
                    r.nextBytes(base);
                    break;
            }
            byte[] mutated = mutate(base, r);
            t.handleDatagram(mutated, r.nextInt(10) == 0 ? STRANGER : CLIENT, T0 + 200 + i);
            sent++;
            c.collect(t, T0 + 200 + i);
        }
        TransportStats s = t.stats();
        assertEquals(sent, sum(s) - before, "every datagram is either received or dropped: " + s);
        assertTrue(s.dropped(PacketKind.RTP) > 0 && s.dropped(PacketKind.RTCP) > 0 && s.dropped(PacketKind.STUN) > 0
                && s.dropped(PacketKind.UNKNOWN) > 0, s.toString());
        assertTrue(c.events(TransportOutput.Failed.class).isEmpty(), c.serverEvents.toString());
        assertTrue(c.events(TransportOutput.Closed.class).isEmpty(), c.serverEvents.toString());
        assertTrue(t.isConnected());
        assertMediaFlows(t, c, seq + 10);
    }

    private static long sum(TransportStats s) {
        long n = 0;
        for (PacketKind k : PacketKind.values()) {
            n += s.received(k) + s.dropped(k);
        }
        return n;
    }

    /** Flips bits, truncates, or extends, each sometimes; returns the input unchanged about a fifth of the time. */
    private static byte[] mutate(byte[] in, Random r) {
        byte[] b = in;
        int op = r.nextInt(5);
        if (op == 0 && b.length > 0) {
            b = java.util.Arrays.copyOf(b, r.nextInt(b.length));
        } else if (op == 1) {
            b = java.util.Arrays.copyOf(b, b.length + 1 + r.nextInt(40));
        } else if (op <= 3 && b.length > 0) {
            b = b.clone();
            for (int k = 1 + r.nextInt(4); k > 0; k--) {
                int i = r.nextInt(b.length);
                b[i] ^= (byte) (1 << r.nextInt(8));
            }
        }
        return b;
    }
}
