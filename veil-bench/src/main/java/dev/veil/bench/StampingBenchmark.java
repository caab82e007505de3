package dev.veil.bench;

import dev.veil.webrtc.cc.SendHistory;
import dev.veil.webrtc.cc.TransportWideStamper;
import dev.veil.webrtc.rtp.HeaderExtension;
import dev.veil.webrtc.rtp.RtpHeader;
import dev.veil.webrtc.rtp.RtpPacket;
import dev.veil.webrtc.srtp.SrtpException;
import dev.veil.webrtc.srtp.SrtpKeyingMaterial;
import dev.veil.webrtc.srtp.SrtpProfile;
import dev.veil.webrtc.srtp.SrtpSession;
import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The per-packet cost of downlink stamping on the server's send path ({@code RtcPeer.sendRtp}): one invocation is
 * one RTP packet to one subscriber, as the router hands it over (its header re-encoded with the subscriber's mid),
 * taken through {@code [stamp] → SrtpSession.protectRtp}. {@code stamp}:
 * <ul>
 *   <li>{@code off}: no stamping (before: the send path without downlink congestion control);</li>
 *   <li>{@code inPlace}: the packet already has a 2-byte transport-wide element (reserved when the header is built)
 *       and {@link TransportWideStamper#stamp} fills it and records the packet in the {@link SendHistory};</li>
 *   <li>{@code add}: the packet lacks it and {@link TransportWideStamper#stampOrAdd} adds it (one copy of the packet,
 *       4 bytes longer) — what the server does today, since the router does not reserve the element.</li>
 * </ul>
 * Each packet gets a new RTP sequence number first (two byte stores, in every mode) so SRTP indices never repeat.
 *
 * <p>Run: {@code java -jar veil-bench/target/benchmarks.jar StampingBenchmark -f 1 -wi 3 -i 5 -w 1s -r 1s -prof gc}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class StampingBenchmark {

    @Param({"off", "inPlace", "add"})
    public String stamp;

    /** {@code opus}: 100-byte RTP packets; {@code vp8}: 1200-byte RTP packets. */
    @Param({"opus", "vp8"})
    public String media;

    private static final int TWCC_ID = 3;
    private static final int MID_ID = 1;
    private static final int BATCH = 256;

    private SrtpSession session;
    private TransportWideStamper stamper;
    private byte[][] batch;
    private int next;
    private int seq;
    private long micros;

    @Setup
    public void setup() throws GeneralSecurityException {
        SplittableRandom rnd = new SplittableRandom(3);
        SrtpProfile p = SrtpProfile.AEAD_AES_128_GCM;
        byte[] ck = new byte[p.keyLength()];
        byte[] sk = new byte[p.keyLength()];
        byte[] cs = new byte[p.saltLength()];
        byte[] ss = new byte[p.saltLength()];
        rnd.nextBytes(ck);
        rnd.nextBytes(sk);
        rnd.nextBytes(cs);
        rnd.nextBytes(ss);
        session = SrtpSession.forServer(SrtpKeyingMaterial.of(p, ck, cs, sk, ss));
        stamper = new TransportWideStamper(TWCC_ID, new SendHistory(4096, rnd.nextInt(0x10000)));
        int size = media.equals("vp8") ? 1200 : 100;
        batch = new byte[BATCH][];
        for (int i = 0; i < BATCH; i++) {
            List<HeaderExtension> ext = new ArrayList<>();
            ext.add(new HeaderExtension(MID_ID, "1".getBytes()));
            if (stamp.equals("inPlace")) {
                ext.add(new HeaderExtension(TWCC_ID, new byte[2]));
            }
            RtpHeader h = RtpHeader.of(i % 6 == 5, 96, i, 90L * i, 0xABCDEF01L).withExtensions(ext);
            byte[] payload = new byte[size - h.encodedLength()];
            rnd.nextBytes(payload);
            batch[i] = RtpPacket.build(h, payload, 0, payload.length);
        }
        // the modes must do what they say: the element is there, or has to be added
        byte[] probe = batch[0].clone();
        boolean added = stamper.stampOrAdd(probe, 0) != probe;
        if (!stamp.equals("off") && stamp.equals("add") != added) {
            throw new IllegalStateException("mode " + stamp + " but element added: " + added);
        }
    }

    @Benchmark
    public byte[] send() throws SrtpException {
        byte[] pkt = batch[next];
        next = (next + 1) & (BATCH - 1);
        RtpPacket.setSequenceNumber(pkt, 0, seq++ & 0xFFFF);
        micros += 20;
        switch (stamp) {
            case "inPlace" -> stamper.stamp(pkt, 0, pkt.length, micros);
            case "add" -> pkt = stamper.stampOrAdd(pkt, micros);
            default -> { }
        }
        return session.protectRtp(pkt);
    }
}
