package dev.veil.webrtc.transport;

import static dev.veil.webrtc.transport.WebRtcTransportTest.CLIENT;
import static dev.veil.webrtc.transport.WebRtcTransportTest.T0;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.veil.webrtc.dtls.DtlsConfig;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Fuzz target for the server's datagram entry, {@link WebRtcTransport#handleDatagram}: the RFC 7983 demux and
 * everything behind it (STUN/ICE-lite, the DTLS record check and BouncyCastle on an established association,
 * SRTP/SRTCP unprotect), on a transport that completed ICE and DTLS with a real client. The first input byte picks
 * the source: the validated client address or a stranger.
 *
 * <p>Properties, per datagram: no engine threw (a RuntimeException that {@code handleDatagram} would swallow is a
 * finding here); one forged datagram never ends the association; nothing unauthenticated is delivered as media;
 * at most a few outputs, none more than {@value #MAX_GROWTH} bytes larger than the input (no amplification).
 */
class WebRtcTransportFuzzTest {
    static final int MAX_GROWTH = 256;
    private static final InetSocketAddress STRANGER = new InetSocketAddress("198.51.100.7", 40000);
    private static final long NOW = T0 + 1000;
    private static WebRtcTransport transport;

    @BeforeAll
    static void connect() throws Exception {
        WebRtcTransportTest.setUp();
        transport = fresh();
    }

    @AfterAll
    static void tearDown() {
        WebRtcTransportTest.tearDown();
    }

    private static WebRtcTransport fresh() throws Exception {
        WebRtcTransport t = new WebRtcTransport(WebRtcTransportTest.serverCert, DtlsConfig.defaults(),
                WebRtcTransportTest.pool, () -> { }, new SecureRandom());
        TestClient c = new TestClient(CLIENT, DtlsConfig.defaults(), WebRtcTransportTest.pool, 7, T0);
        WebRtcTransportTest.connect(t, c);
        assertTrue(t.isConnected(), "fixture did not connect");
        while (!(t.pollOutput() instanceof TransportOutput.Timeout)) {
            // drop the handshake's outputs
        }
        return t;
    }

    @FuzzTest
    void handleDatagram(byte[] data) throws Exception {
        if (data.length == 0) {
            return;
        }
        InetSocketAddress from = (data[0] & 1) == 0 ? CLIENT : STRANGER;
        byte[] datagram = Arrays.copyOfRange(data, 1, data.length);
        if (transport.isEnded()) {
            transport = fresh(); // an earlier input failed the test; do not let it fail every later one too
        }
        WebRtcTransport t = transport;
        t.handleDatagram(datagram, from, NOW);
        List<TransportOutput> outs = new ArrayList<>();
        for (TransportOutput o; !((o = t.pollOutput()) instanceof TransportOutput.Timeout) && outs.size() <= 4;) {
            outs.add(o);
        }
        assertEquals(0, t.engineErrors(), "an engine threw on this datagram");
        assertFalse(t.isEnded(), "one forged datagram ended the association: " + outs);
        assertTrue(outs.size() <= 4, "too many outputs for one datagram: " + outs);
        for (TransportOutput o : outs) {
            assertFalse(o instanceof TransportOutput.RtpReceived || o instanceof TransportOutput.RtcpReceived,
                    "unauthenticated media delivered: " + o);
            if (o instanceof TransportOutput.Transmit tx) {
                assertTrue(tx.data().length <= datagram.length + MAX_GROWTH,
                        "answer of " + tx.data().length + " bytes to a datagram of " + datagram.length);
            }
        }
    }
}
