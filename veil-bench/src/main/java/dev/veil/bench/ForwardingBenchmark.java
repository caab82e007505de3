package dev.veil.bench;

import dev.veil.webrtc.router.ConsumerParams;
import dev.veil.webrtc.router.ProducerParams;
import dev.veil.webrtc.router.Router;
import dev.veil.webrtc.router.RouterConfig;
import dev.veil.webrtc.router.RouterOutput;
import dev.veil.webrtc.router.RouterStats;
import dev.veil.webrtc.rtp.HeaderExtension;
import dev.veil.webrtc.rtp.RtpCodec;
import dev.veil.webrtc.rtp.RtpHeader;
import dev.veil.webrtc.rtp.RtpPacket;
import dev.veil.webrtc.sdp.MediaKind;
import dev.veil.webrtc.srtp.SrtpException;
import dev.veil.webrtc.srtp.SrtpKeyingMaterial;
import dev.veil.webrtc.srtp.SrtpProfile;
import dev.veil.webrtc.srtp.SrtpSession;
import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
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
 * The SFU's per-packet forwarding cost, in process and without sockets: one publisher's SRTP packet is
 * unprotected, fed to the {@link Router}, and every output is SRTP-protected for its subscriber, as veil-server's
 * {@code RtcMedia.routeRtp} / {@code drainRouter} / {@code armRouter} and {@code RtcPeer.sendRtp} do it (including
 * the per-packet {@code router.poll(now)} and the peer lookup by connection id). One benchmark invocation is one
 * incoming packet; it produces {@link #consumers} forwarded packets.
 *
 * <p>Packets look like a browser's: RTP with an RFC 8285 one-byte header-extension block (abs-send-time and
 * transport-cc, plus ssrc-audio-level for audio), which the router strips, writing the subscriber's mid instead
 * (the header is re-encoded per consumer, as with real browsers). {@code opus}: 100-byte RTP packets at 20 ms;
 * {@code vp8}: 1200-byte RTP packets, six per frame, a key frame at the start of each batch.
 *
 * <p>Every incoming packet is distinct and valid: a batch of packets protected by the publisher's own
 * {@link SrtpSession} (consecutive sequence numbers) is built in setup and cycled through. When the batch wraps the
 * server's receiving session is renewed (a fresh {@code SrtpSession} for the same keys, so the replay window accepts
 * the batch again) and each consumer is paused and resumed, so it re-syncs and continues its own sequence numbers
 * without a jump: outgoing SRTP indices never repeat. That renewal (one session, N pause/resume, one PLI) is inside
 * the measurement, amortised over the batch (at least 3,400 packets). At each iteration's end the router's counters
 * are checked: every incoming packet must have been forwarded to every consumer, or the run fails.
 *
 * <p>Not included: the UDP receive and send system calls, {@code WebRtcTransport}'s demultiplexing and
 * source-address check, the event loop's timer rescheduling, and the server's statistics counters.
 *
 * <p>Run: {@code java -jar veil-bench/target/benchmarks.jar ForwardingBenchmark -f 1 -wi 3 -i 5 -w 1s -r 1s -prof gc}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--add-opens=java.base/com.sun.crypto.provider=ALL-UNNAMED")
public class ForwardingBenchmark {
    /** Approximate bytes of pre-protected packets per batch (at least 1,024 and at most 32,768 packets). */
    static final int BATCH_BYTES = 4 << 20;

    @Param({"AEAD_AES_128_GCM", "AES_CM_128_HMAC_SHA1_80"})
    public String profile;

    /** {@code opus}: 100-byte RTP packets; {@code vp8}: 1200-byte RTP packets. */
    @Param({"opus", "vp8"})
    public String media;

    /** Subscribers of the publisher's track (one consumer each). */
    @Param({"1", "3", "10"})
    public int consumers;

    /**
     * {@code queue}: the copying API (unprotect into a new array, {@link RouterOutput.Rtp} per forwarded packet with
     * a new array, protect into a new array). {@code inplace}: the allocation-free path veil-server uses: the
     * datagram copied once into a receive buffer (the socket read), unprotected in place, forwarded through the
     * router's {@link dev.veil.webrtc.router.ForwardSink} (one rewrite per subscriber into the router's buffer) and
     * protected there in place.
     */
    @Param({"queue", "inplace"})
    public String path = "queue";

    private static final String PUBLISHER = "pub";
    private static final String PRODUCER = "pub-track";
    private static final int MID_EXTENSION_ID = 4;

    private SrtpKeyingMaterial publisherKeys;
    /** The server's session receiving from the publisher (renewed when the batch wraps). */
    private SrtpSession publisherRx;
    /** Server-side SRTP session of each peer, by connection id, for protecting what the router outputs. */
    private final Map<String, SrtpSession> peers = new HashMap<>();
    private Router router;
    private String[] consumerIds;
    private byte[][] batch;
    private long[] arrivalMillis;
    private int next;
    /** Wall-clock offset added on each wrap, so router time keeps advancing. */
    private long epochMillis;
    private long batchSpanMillis;
    /** The in-place path's receive buffer (what the UDP read fills). */
    private final byte[] rxBuf = new byte[2048];
    private Blackhole current;

    @Setup
    public void setup() throws GeneralSecurityException, SrtpException {
        SplittableRandom rnd = new SplittableRandom(7);
        SrtpProfile p = SrtpProfile.valueOf(profile);
        boolean video = media.equals("vp8");
        int size = video ? 1200 : 100;
        publisherKeys = keys(p, rnd);
        publisherRx = SrtpSession.forServer(publisherKeys);
        peers.put(PUBLISHER, SrtpSession.forServer(publisherKeys)); // RTCP to the publisher (PLI, RR)
        router = new Router(RouterConfig.defaults(), new SplittableRandom(11));

        long pubSsrc = 0x1234_5678L;
        int pt = video ? 96 : 111;
        int clock = video ? 90_000 : 48_000;
        router.createProducer(PRODUCER, PUBLISHER, new ProducerParams(video ? MediaKind.VIDEO : MediaKind.AUDIO,
                video ? RtpCodec.VP8 : RtpCodec.OPUS, pt, clock, pubSsrc, "0"));
        consumerIds = new String[consumers];
        for (int i = 0; i < consumers; i++) {
            String peer = "sub" + i;
            peers.put(peer, SrtpSession.forServer(keys(p, rnd)));
            consumerIds[i] = peer + "/" + PRODUCER;
            router.createConsumer(consumerIds[i], peer, PRODUCER,
                    new ConsumerParams(router.newSsrc(), pt, PUBLISHER, MID_EXTENSION_ID, video ? "1" : "0"), 0);
        }
        drainOutputs(null); // the video consumers' key-frame requests
        if (path.equals("inplace")) {
            for (int i = 0; i < consumers; i++) {
                router.findConsumer(consumerIds[i]).attach(peers.get("sub" + i));
            }
            router.setForwardSink(this::protectForwarded);
        } else if (!path.equals("queue")) {
            throw new IllegalArgumentException("path: queue or inplace");
        }

        // The publisher's packets, protected by the publisher's own session.
        SrtpSession publisherTx = SrtpSession.forClient(publisherKeys);
        int n = Math.min(32_768, Math.max(1_024, BATCH_BYTES / (size + p.tagLength())));
        batch = new byte[n][];
        arrivalMillis = new long[n];
        int seq = rnd.nextInt(0x10000);
        long ts = rnd.nextLong() & 0xFFFF_FFFFL;
        long now = 0;
        for (int i = 0; i < n; i++) {
            List<HeaderExtension> ext = new ArrayList<>();
            if (!video) {
                ext.add(new HeaderExtension(1, new byte[] {(byte) 0x9e})); // ssrc-audio-level
            }
            ext.add(new HeaderExtension(2, new byte[] {(byte) i, (byte) (i >> 8), 3})); // abs-send-time
            ext.add(new HeaderExtension(3, new byte[] {(byte) (i >> 8), (byte) i})); // transport-cc
            boolean frameEnd = !video || i % 6 == 5;
            RtpHeader h = new RtpHeader(frameEnd, pt, (seq + i) & 0xFFFF, ts, pubSsrc, List.of(),
                    RtpHeader.PROFILE_ONE_BYTE, ext, null);
            byte[] payload = new byte[size - h.encodedLength()];
            rnd.nextBytes(payload);
            if (video) {
                // VP8 payload descriptor: S=1 on the first packet of a frame; the frame's first byte has P=0 only
                // for the key frame at the start of the batch (the router re-syncs consumers there).
                payload[0] = (byte) (i % 6 == 0 ? 0x10 : 0x00);
                payload[1] = (byte) (i == 0 ? payload[1] & ~1 : payload[1] | 1);
            } else {
                payload[0] = (byte) 0x78; // Opus TOC: hybrid, fullband, 20 ms, mono, one frame
            }
            byte[] plain = RtpPacket.build(h, payload, 0, payload.length);
            if (plain.length != size) {
                throw new IllegalStateException("packet is " + plain.length + " bytes, not " + size);
            }
            batch[i] = publisherTx.protectRtp(plain);
            arrivalMillis[i] = now;
            if (frameEnd) {
                ts = (ts + (video ? 3000 : 960)) & 0xFFFF_FFFFL;
                now += video ? 33 : 20;
            }
        }
        batchSpanMillis = now + 1_000;

        // The path must really forward: one packet in, one SRTP packet out per consumer.
        Blackhole bh = new Blackhole(
                "Today's password is swordfish. I understand instantiating Blackholes directly is dangerous.");
        RouterStats before = router.stats();
        forward(bh);
        RouterStats after = router.stats();
        if (after.rtpForwarded() - before.rtpForwarded() != consumers) {
            throw new IllegalStateException("first packet forwarded to " + (after.rtpForwarded()
                    - before.rtpForwarded()) + " of " + consumers + " consumers");
        }
        bh.evaporate("Yes, I am Stephen Hawking, and know a thing or two about black holes.");
    }

    private static SrtpKeyingMaterial keys(SrtpProfile p, SplittableRandom rnd) throws GeneralSecurityException {
        byte[] ck = new byte[p.keyLength()];
        byte[] sk = new byte[p.keyLength()];
        byte[] cs = new byte[p.saltLength()];
        byte[] ss = new byte[p.saltLength()];
        rnd.nextBytes(ck);
        rnd.nextBytes(sk);
        rnd.nextBytes(cs);
        rnd.nextBytes(ss);
        return SrtpKeyingMaterial.of(p, ck, cs, sk, ss);
    }

    /** Every packet received so far went to every consumer, none was dropped. */
    @TearDown(Level.Iteration)
    public void checkForwarded() {
        RouterStats s = router.stats();
        if (s.rtpForwarded() != s.rtpReceived() * consumers || s.rtpMalformed() != 0 || s.rtpUnknownSsrc() != 0
                || s.rtpDroppedBeforeKeyFrame() != 0) {
            throw new IllegalStateException("not every packet was forwarded: " + s);
        }
    }

    /** One incoming packet: SRTP unprotect, route, SRTP protect per consumer. */
    @Benchmark
    public void forward(Blackhole bh) throws SrtpException {
        int i = next;
        if (i == batch.length) {
            wrap();
            i = 0;
        }
        next = i + 1;
        long now = epochMillis + arrivalMillis[i];
        byte[] in = batch[i];
        if (router.findConsumer(consumerIds[0]).attachment() != null) {
            current = bh;
            System.arraycopy(in, 0, rxBuf, 0, in.length);
            int n = publisherRx.unprotectRtpInPlace(rxBuf, 0, in.length);
            router.handleRtp(PUBLISHER, rxBuf, 0, n, now);
        } else {
            byte[] plain = publisherRx.unprotectRtp(in, 0, in.length);
            router.handleRtp(PUBLISHER, plain, 0, plain.length, now);
        }
        drainOutputs(bh);
        router.poll(now); // armRouter() after every drain
        drainOutputs(bh);
    }

    /** The in-place path's sink: protect the rewritten packet where the router wrote it. */
    private void protectForwarded(dev.veil.webrtc.router.Consumer c, byte[] buf, int off, int len) {
        try {
            int n = ((SrtpSession) c.attachment()).protectRtpInPlace(buf, off, len);
            if (current != null) {
                current.consume(n);
                current.consume(buf);
            }
        } catch (SrtpException e) {
            throw new IllegalStateException(e);
        }
    }

    private void drainOutputs(Blackhole bh) throws SrtpException {
        RouterOutput o;
        while ((o = router.pollOutput()) != null) {
            SrtpSession to = peers.get(o.peerId());
            byte[] out;
            if (o instanceof RouterOutput.Rtp rtp) {
                out = to.protectRtp(rtp.packet());
            } else if (o instanceof RouterOutput.Rtcp rtcp) {
                out = to.protectRtcp(rtcp.packet());
            } else {
                throw new IllegalStateException("unknown output " + o);
            }
            if (bh != null) {
                bh.consume(out);
            }
        }
    }

    /** The batch starts again: renew the replay state, re-sync the consumers at the batch's key frame. */
    private void wrap() throws SrtpException {
        try {
            publisherRx = SrtpSession.forServer(publisherKeys);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
        epochMillis += batchSpanMillis;
        for (String c : consumerIds) {
            router.pauseConsumer(c);
            router.resumeConsumer(c, epochMillis);
        }
        drainOutputs(null);
    }
}
