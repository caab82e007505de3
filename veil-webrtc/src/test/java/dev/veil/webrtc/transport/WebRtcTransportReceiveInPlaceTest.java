package dev.veil.webrtc.transport;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.veil.webrtc.dtls.DtlsCertificate;
import dev.veil.webrtc.dtls.DtlsConfig;
import dev.veil.webrtc.ice.IceLiteAgent;
import dev.veil.webrtc.mux.PacketKind;
import dev.veil.webrtc.srtp.SrtpRejection;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link WebRtcTransport#receiveMediaInPlace}: the server's allocation-free receive path gives the same plain packets
 * and the same counters as {@link WebRtcTransport#handleDatagram}, queues nothing, and drops what handleDatagram
 * drops, leaving the caller's buffer as it was.
 */
class WebRtcTransportReceiveInPlaceTest {
    private static final long T0 = WebRtcTransportTest.T0;
    private static final InetSocketAddress CLIENT = WebRtcTransportTest.CLIENT;
    private static ExecutorService pool;
    private static DtlsCertificate serverCert;

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

    private static WebRtcTransport transport(DtlsConfig config) {
        return new WebRtcTransport(serverCert, config, pool, () -> { }, new SecureRandom());
    }

    private static TestClient client(long seed) throws Exception {
        return new TestClient(CLIENT, DtlsConfig.defaults().withSrtpProfiles(WebRtcTransportTest.CHROMIUM_ORDER), pool,
                seed, T0);
    }

    private static byte[] rtp(int seq, int ssrc, String payload) {
        return WebRtcTransportTest.rtp(seq, ssrc, payload);
    }

    private static byte[] receiverReport(int ssrc) {
        return WebRtcTransportTest.receiverReport(ssrc);
    }

    private WebRtcTransport connected(TestClient c) throws Exception {
        WebRtcTransport t = transport(DtlsConfig.defaults());
        WebRtcTransportTest.connect(t, c);
        assertTrue(t.isConnected());
        c.collect(t, T0);
        return t;
    }

    @Test
    void receiveMediaInPlace_sameAsHandleDatagram_queuesNothing_refreshesConsent() throws Exception {
        TestClient c = client(3);
        WebRtcTransport t = connected(c);
        byte[] buf = new byte[1501];
        for (int i = 0; i < 50; i++) {
            byte[] plain = rtp(100 + i, i % 2 == 0 ? 0xAABBCCDD : 0x11223344, "payload " + i);
            byte[] wire = c.srtp.protectRtp(plain);
            System.arraycopy(wire, 0, buf, 0, wire.length);
            int n = t.receiveMediaInPlace(false, buf, 0, wire.length, CLIENT, T0 + 100 + i);
            assertEquals(plain.length, n);
            assertArrayEquals(plain, Arrays.copyOf(buf, n));
        }
        byte[] rr = receiverReport(0xAABBCCDD);
        byte[] wire = c.srtp.protectRtcp(rr);
        System.arraycopy(wire, 0, buf, 0, wire.length);
        assertEquals(rr.length, t.receiveMediaInPlace(true, buf, 0, wire.length, CLIENT, T0 + 200));
        assertArrayEquals(rr, Arrays.copyOf(buf, rr.length));
        // nothing queued: the caller routes from its buffer
        assertEquals(TransportOutput.Timeout.class, t.pollOutput().getClass());
        TransportStats s = t.stats();
        assertEquals(50, s.received(PacketKind.RTP));
        assertEquals(1, s.received(PacketKind.RTCP));
        assertEquals(0, s.dropped(PacketKind.RTP) + s.dropped(PacketKind.RTCP));
        assertEquals(IceLiteAgent.CONSENT_TIMEOUT_MILLIS + T0 + 200, t.nextTimeoutMillis());
    }

    @Test
    void receiveMediaInPlace_refusals_areCountedAsHandleDatagramCountsThem_andLeaveTheBuffer() throws Exception {
        TestClient c = client(4);
        WebRtcTransport t = connected(c);
        byte[] plain = rtp(7, 0xAABBCCDD, "media");
        byte[] wire = c.srtp.protectRtp(plain);
        byte[] buf = new byte[200];
        Arrays.fill(buf, (byte) 0x5A);

        // from an address that passed no ICE check
        System.arraycopy(wire, 0, buf, 10, wire.length);
        byte[] before = buf.clone();
        InetSocketAddress stranger = new InetSocketAddress("192.0.2.99", 40000);
        assertEquals(-1, t.receiveMediaInPlace(false, buf, 10, wire.length, stranger, T0 + 1));
        assertArrayEquals(before, buf);

        // forged: one payload bit flipped
        buf[10 + wire.length - 20] ^= 1;
        before = buf.clone();
        assertEquals(-1, t.receiveMediaInPlace(false, buf, 10, wire.length, CLIENT, T0 + 2));
        assertArrayEquals(before, buf);
        buf[10 + wire.length - 20] ^= 1;

        // a range outside the buffer
        assertEquals(-1, t.receiveMediaInPlace(false, buf, 150, 51, CLIENT, T0 + 3));
        assertEquals(-1, t.receiveMediaInPlace(true, buf, -1, 10, CLIENT, T0 + 3));

        // the good packet, then its replay
        assertEquals(plain.length, t.receiveMediaInPlace(false, buf, 10, wire.length, CLIENT, T0 + 4));
        System.arraycopy(wire, 0, buf, 10, wire.length);
        assertEquals(-1, t.receiveMediaInPlace(false, buf, 10, wire.length, CLIENT, T0 + 5));

        TransportStats s = t.stats();
        assertEquals(1, s.received(PacketKind.RTP));
        assertEquals(4, s.dropped(PacketKind.RTP)); // stranger, forged, out of range, replay
        assertEquals(1, s.dropped(PacketKind.RTCP));
        assertEquals(1L, s.srtpRejected().get(SrtpRejection.AUTH_FAIL));
        assertEquals(1L, s.srtpRejected().get(SrtpRejection.REPLAY));
        // refused media does not refresh consent: the good packet at T0 + 4 did
        assertEquals(IceLiteAgent.CONSENT_TIMEOUT_MILLIS + T0 + 4, t.nextTimeoutMillis());
    }

    @Test
    void receiveMediaInPlace_beforeKeysOrAfterClose_isDropped() throws Exception {
        WebRtcTransport fresh = transport(DtlsConfig.defaults());
        byte[] buf = rtp(1, 2, "x");
        assertEquals(-1, fresh.receiveMediaInPlace(false, buf, 0, buf.length, CLIENT, T0));
        assertEquals(1, fresh.stats().dropped(PacketKind.RTP));

        TestClient c = client(5);
        WebRtcTransport t = connected(c);
        t.close();
        byte[] wire = c.srtp.protectRtp(rtp(9, 0xAABBCCDD, "late"));
        assertEquals(-1, t.receiveMediaInPlace(false, wire, 0, wire.length, CLIENT, T0 + 1));
        assertEquals(1, t.stats().dropped(PacketKind.RTP));
    }
}
