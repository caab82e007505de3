package dev.veil.bench;

import dev.veil.webrtc.dtls.DtlsCertificate;
import dev.veil.webrtc.dtls.DtlsClientEngine;
import dev.veil.webrtc.dtls.DtlsConfig;
import dev.veil.webrtc.dtls.DtlsEvent;
import dev.veil.webrtc.ice.IceCredentials;
import dev.veil.webrtc.router.ConsumerParams;
import dev.veil.webrtc.router.ProducerParams;
import dev.veil.webrtc.router.Router;
import dev.veil.webrtc.router.RouterConfig;
import dev.veil.webrtc.router.RouterOutput;
import dev.veil.webrtc.rtp.RtpCodec;
import dev.veil.webrtc.sdp.MediaKind;
import dev.veil.webrtc.srtp.SrtpException;
import dev.veil.webrtc.srtp.SrtpProfile;
import dev.veil.webrtc.srtp.SrtpSession;
import dev.veil.webrtc.stun.StunAttribute;
import dev.veil.webrtc.stun.StunClass;
import dev.veil.webrtc.stun.StunMessage;
import dev.veil.webrtc.transport.TransportOutput;
import dev.veil.webrtc.transport.WebRtcTransport;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * The server's receive path per incoming SRTP datagram, in process and without sockets: the real
 * {@link WebRtcTransport} (connected through an in-memory ICE check and DTLS handshake in setup) checks and decrypts
 * a publisher's packet and the {@link Router} forwards it to one subscriber (protected in place in the router's
 * buffer, as veil-server does). One invocation is one incoming packet.
 *
 * <ul>
 *   <li>{@code copy}: what veil-server did before the in-place receive path: the datagram copied out of the socket
 *       buffer into a new array ({@code ByteBufUtil.getBytes}), {@link WebRtcTransport#handleDatagram}, the
 *       {@link TransportOutput.RtpReceived} (a new plain array) polled, routed from that array.
 *   <li>{@code inplace}: the datagram copied into one reused receive buffer (the socket read),
 *       {@link WebRtcTransport#receiveMediaInPlace} decrypts it there and the router reads it from there.
 *   <li>{@code baseline}: only the publisher's side of the benchmark (it protects each packet in place, with its own
 *       session, so every packet is fresh and the server's replay window never refuses one): subtract it from the two
 *       above for the server's share of the time (its allocation is 0).
 * </ul>
 *
 * <p>Run: {@code java -jar veil-bench/target/benchmarks.jar ReceiveBenchmark -f 1 -wi 3 -i 3 -w 1s -r 1s -prof gc}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = "--add-opens=java.base/com.sun.crypto.provider=ALL-UNNAMED")
public class ReceiveBenchmark {
    private static final InetSocketAddress CLIENT = new InetSocketAddress("127.0.0.1", 50_000);
    private static final String PUBLISHER = "pub";
    private static final String PRODUCER = "pub-track";

    @Param({"AEAD_AES_128_GCM", "AES_CM_128_HMAC_SHA1_80"})
    public String profile;

    /** RTP packet size before SRTP (1000: the rig's; 100: audio-sized). */
    @Param({"1000"})
    public int size;

    @Param({"copy", "inplace", "baseline"})
    public String path;

    /**
     * The router's receiver-report interval, in benchmark time (each packet advances the clock 20 ms, so the default
     * 1 s sends the publisher one report per 50 packets, as for 50 pps audio). A huge value
     * ({@code -p reportMillis=1000000000000}) leaves the reports out: what is left is the cost per packet alone.
     */
    @Param({"1000"})
    public long reportMillis;

    private ExecutorService dtlsPool;
    private WebRtcTransport server;
    /** The publisher's own session (protects each packet as it would send it). */
    private SrtpSession publisher;
    private Router router;
    /** The subscriber's session: the router's sink protects in place with it, as veil-server does. */
    private SrtpSession subscriber;
    private byte[] plain;
    private final byte[] wire = new byte[2048];
    private final byte[] rxBuf = new byte[1501];
    private int seq;
    private long now = 1_000;
    private Blackhole current;

    @Setup
    public void setup() throws Exception {
        SrtpProfile p = SrtpProfile.valueOf(profile);
        dtlsPool = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "bench-dtls");
            t.setDaemon(true);
            return t;
        });
        SecureRandom random = new SecureRandom();
        DtlsConfig cfg = DtlsConfig.defaults().withSrtpProfiles(List.of(p));
        server = new WebRtcTransport(DtlsCertificate.generate(random, now), cfg, dtlsPool, () -> { }, random);
        publisher = handshake(cfg, random);
        subscriber = SrtpSession.forServer(keysOf(cfg, random));

        RouterConfig d = RouterConfig.defaults();
        router = new Router(new RouterConfig(d.keyFrameRequestMinIntervalMillis(), d.keyFrameRetryMillis(),
                reportMillis, d.retransmissionCacheSize(), d.nackUpstreamHoldMillis(), d.upstreamNackReorderMillis(),
                d.upstreamNackRetryMillis(), d.upstreamNackMaxRetries(), d.retransmitMinIntervalMillis(),
                d.retransmitMaxAgeMillis()), new SplittableRandom(11));
        long ssrc = 0x1234_5678L;
        router.createProducer(PRODUCER, PUBLISHER, new ProducerParams(MediaKind.AUDIO, RtpCodec.OPUS, 111, 48_000,
                ssrc, "0"));
        router.createConsumer("sub/" + PRODUCER, "sub", PRODUCER, new ConsumerParams(router.newSsrc(), 111, PUBLISHER,
                4, "0"), now).attach(subscriber);
        router.setForwardSink((c, buf, off, len) -> {
            try {
                int n = ((SrtpSession) c.attachment()).protectRtpInPlace(buf, off, len);
                if (current != null) {
                    current.consume(n);
                }
            } catch (SrtpException e) {
                throw new IllegalStateException(e);
            }
        });
        drainRouter();

        // a browser-like Opus packet: one-byte header extensions (audio level, abs-send-time, transport-cc)
        plain = new byte[size];
        new SplittableRandom(3).nextBytes(plain);
        byte[] hdr = {(byte) 0x90, 111, 0, 0, 0, 0, 0, 0, 0x12, 0x34, 0x56, 0x78, (byte) 0xBE, (byte) 0xDE, 0, 3,
            0x10, (byte) 0x9e, 0x22, 1, 2, 3, 0x31, 0, 1, 0, 0, 0};
        System.arraycopy(hdr, 0, plain, 0, hdr.length);
        plain[hdr.length] = 0x78; // Opus TOC
        seq = 1;

        Blackhole bh = new Blackhole(
                "Today's password is swordfish. I understand instantiating Blackholes directly is dangerous.");
        long before = router.stats().rtpForwarded();
        if (!path.equals("baseline")) {
            receive(bh);
            if (router.stats().rtpForwarded() != before + 1) {
                throw new IllegalStateException("the first packet was not forwarded: " + router.stats());
            }
        }
        bh.evaporate("Yes, I am Stephen Hawking, and know a thing or two about black holes.");
    }

    /** ICE check with USE-CANDIDATE, then DTLS (the server is the DTLS server), all in memory; the client's SRTP. */
    private SrtpSession handshake(DtlsConfig cfg, SecureRandom random) throws Exception {
        IceCredentials ice = IceCredentials.random(new java.util.Random(1));
        DtlsCertificate clientCert = DtlsCertificate.generate(random, now);
        DtlsClientEngine client = new DtlsClientEngine(clientCert, cfg, dtlsPool, () -> { }, random);
        server.setRemoteIceCredentials(ice.ufrag(), ice.password());
        server.setRemoteFingerprint(clientCert.fingerprint());
        client.setRemoteFingerprint(server.localFingerprint());
        IceCredentials local = server.localIceCredentials();
        byte[] tx = new byte[12];
        random.nextBytes(tx);
        byte[] check = StunMessage.builder(StunClass.REQUEST, StunMessage.METHOD_BINDING, tx)
                .add(new StunAttribute.Username(local.ufrag() + ":" + ice.ufrag()))
                .add(new StunAttribute.IceControlling(7))
                .add(new StunAttribute.Priority(1853824767L))
                .add(new StunAttribute.UseCandidate())
                .encode(local.password().getBytes(StandardCharsets.UTF_8), true);
        server.handleDatagram(check, CLIENT, now);
        client.start(now);
        SrtpSession srtp = null;
        for (int round = 0; round < 200 && (srtp == null || !server.isConnected()); round++) {
            client.awaitIdle();
            server.awaitDtlsIdle();
            server.poll(now);
            for (byte[] d; (d = client.pollTransmit()) != null; ) {
                server.handleDatagram(d, CLIENT, now);
            }
            for (TransportOutput o = server.pollOutput(); !(o instanceof TransportOutput.Timeout);
                    o = server.pollOutput()) {
                if (o instanceof TransportOutput.Transmit x && (x.data()[0] & 0xFF) >= 20 && (x.data()[0] & 0xFF) <= 63) {
                    client.handleDatagram(x.data(), now);
                }
            }
            for (DtlsEvent e; (e = client.pollEvent()) != null; ) {
                if (e instanceof DtlsEvent.HandshakeComplete hc) {
                    srtp = SrtpSession.forClient(hc.keys());
                }
            }
        }
        if (srtp == null || !server.isConnected()) {
            throw new IllegalStateException("in-memory handshake did not complete");
        }
        return srtp;
    }

    /** Keys for the subscriber's session (any will do: its packets are only protected). */
    private static dev.veil.webrtc.srtp.SrtpKeyingMaterial keysOf(DtlsConfig cfg, SecureRandom random)
            throws Exception {
        SrtpProfile p = cfg.srtpProfiles().get(0);
        byte[] k1 = new byte[p.keyLength()];
        byte[] k2 = new byte[p.keyLength()];
        byte[] s1 = new byte[p.saltLength()];
        byte[] s2 = new byte[p.saltLength()];
        random.nextBytes(k1);
        random.nextBytes(k2);
        random.nextBytes(s1);
        random.nextBytes(s2);
        return dev.veil.webrtc.srtp.SrtpKeyingMaterial.of(p, k1, s1, k2, s2);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        dtlsPool.shutdownNow();
    }

    /** Every packet the transport passed on was forwarded. */
    @TearDown(Level.Iteration)
    public void check() {
        var s = router.stats();
        if (!path.equals("baseline") && (s.rtpForwarded() != s.rtpReceived() || s.rtpMalformed() != 0)) {
            throw new IllegalStateException("not every packet was forwarded: " + s);
        }
    }

    /** The publisher sends its next packet: protected with its session into {@link #wire}; returns the length. */
    private int nextDatagram() throws SrtpException {
        int s = seq++;
        plain[2] = (byte) (s >>> 8);
        plain[3] = (byte) s;
        int ts = s * 960;
        plain[4] = (byte) (ts >>> 24);
        plain[5] = (byte) (ts >>> 16);
        plain[6] = (byte) (ts >>> 8);
        plain[7] = (byte) ts;
        System.arraycopy(plain, 0, wire, 0, plain.length);
        return publisher.protectRtpInPlace(wire, 0, plain.length);
    }

    @Benchmark
    public void receive(Blackhole bh) throws SrtpException {
        int len = nextDatagram();
        now += 20;
        current = bh;
        switch (path) {
            case "copy" -> {
                byte[] data = Arrays.copyOf(wire, len); // ByteBufUtil.getBytes
                server.handleDatagram(data, CLIENT, now);
                for (TransportOutput o = server.pollOutput(); !(o instanceof TransportOutput.Timeout);
                        o = server.pollOutput()) {
                    if (o instanceof TransportOutput.RtpReceived r) {
                        router.handleRtp(PUBLISHER, r.packet(), 0, r.packet().length, now);
                    }
                }
            }
            case "inplace" -> {
                System.arraycopy(wire, 0, rxBuf, 0, len); // the socket read into the lane's buffer
                int n = server.receiveMediaInPlace(false, rxBuf, 0, len, CLIENT, now);
                if (n >= 0) {
                    router.handleRtp(PUBLISHER, rxBuf, 0, n, now);
                }
            }
            default -> bh.consume(wire);
        }
        drainRouter();
        router.poll(now);
        drainRouter();
    }

    private void drainRouter() {
        for (RouterOutput o; (o = router.pollOutput()) != null; ) {
            if (current != null) {
                current.consume(o);
            }
        }
    }
}
