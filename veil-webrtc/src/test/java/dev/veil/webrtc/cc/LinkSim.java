package dev.veil.webrtc.cc;

import dev.veil.webrtc.rtcp.RtcpCompound;
import dev.veil.webrtc.rtcp.RtcpException;
import dev.veil.webrtc.rtcp.RtcpPacket;
import dev.veil.webrtc.rtcp.TransportFeedback;
import dev.veil.webrtc.rtp.HeaderExtension;
import dev.veil.webrtc.rtp.RtpHeader;
import dev.veil.webrtc.rtp.RtpPacket;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * A tiny closed loop for the estimator, on a manual clock in 1 ms ticks: a greedy paced sender sends 1200-byte RTP
 * packets at the current estimate through the real {@link TransportWideStamper}; a bottleneck (capacity, drop-tail
 * queue, seeded random loss, fixed propagation delay) delivers them to a real {@link TransportFeedbackGenerator} on
 * the subscriber side, whose feedback travels back (encoded and parsed as RTCP) to the {@link DownlinkEstimator}.
 */
final class LinkSim {

    static final int EXT_ID = 5;
    static final int PACKET_BYTES = 1200;

    private record Arrival(long atMicros, int seq, int bytes) {}

    private record Flight(long atMillis, byte[] rtcp) {}

    final SendHistory history = new SendHistory(4096, 0xFFF0); // wraps early on purpose
    final TransportWideStamper stamper = new TransportWideStamper(EXT_ID, history);
    final DownlinkEstimator estimator;
    private final TransportFeedbackGenerator receiver = new TransportFeedbackGenerator(0x1234,
            TransportFeedbackGenerator.Config.defaults());
    private final Random random;
    private final byte[] packet;
    private final RtpHeader probeHeader;
    private final java.util.Map<Integer, byte[]> probeBuffers = new java.util.HashMap<>();
    private final ArrayDeque<Arrival> inFlight = new ArrayDeque<>();
    private final ArrayDeque<Flight> feedback = new ArrayDeque<>();
    final List<DownlinkEstimator.ProbeResult> probeResults = new ArrayList<>();

    long capacityBps;
    double lossRate;
    long queueLimitMicros = 300_000;
    long oneWayMicros = 20_000;
    /** Offset of the subscriber's clock: only differences may matter. */
    long receiverClockOffsetMicros = 987_654_321L;

    /**
     * 0: packets paced evenly at the estimate. Above 0: the sender sends "frames" every this many microseconds, each
     * as many 1200-byte packets as the estimate allows, back to back 100 us apart (like forwarded video: the server
     * does not pace what publishers send).
     */
    long frameIntervalMicros;
    /** Above 0: the sender is application-limited, sending this rate whatever the estimate (as the SFU does). */
    long appRateBps;
    /**
     * With a prober: its packets are sent; with a {@link #probeTargetBps} above 0, the sim itself starts clusters at
     * that rate while the estimate is below it and hands the prober its results (else its owner does).
     */
    Prober prober;
    long probeTargetBps;
    /** Called with every output of the estimator (after the sim's own handling). */
    java.util.function.Consumer<DownlinkEstimator.Output> listener = o -> { };
    /** Called every millisecond, before the prober is polled. */
    java.util.function.LongConsumer onTick = t -> { };
    long probePackets;
    /**
     * Above 0: the bottleneck is a token bucket (as {@code tc tbf}) of this many bytes refilled at the capacity, in
     * front of an infinitely fast line: a packet leaves as soon as the bucket holds its size (a full bucket lets a
     * burst through at line rate), else waits in the queue.
     */
    long bucketBytes;
    private double tokens;
    private long tokensAtMicros;
    /**
     * When the receiver reads (and stamps) a packet that arrived at the given time: at once by default; a receiver
     * stall reads the packets arriving within it at its end (non-decreasing, never earlier than the arrival).
     */
    java.util.function.LongUnaryOperator rxReadAt = a -> a;
    /** The prober is polled only on multiples of this (a starved event loop: its timers fire late). */
    long proberPollPeriodMillis = 1;
    /** Whether padding can be sent now (false: the probe packets are not sent, as with no RTX stream to pad on). */
    java.util.function.LongPredicate paddingAvailable = t -> true;
    long probePacketsUnsent;
    private double frameCredit;

    long nowMillis;
    private long nextSendMicros;
    private long linkFreeMicros;
    long sent;
    long dropped;
    long delivered;
    long maxEstimate;
    long minEstimate = Long.MAX_VALUE;

    LinkSim(long capacityBps, double lossRate, long seed, DownlinkEstimator.Config config) {
        this.capacityBps = capacityBps;
        this.lossRate = lossRate;
        this.random = new Random(seed);
        this.estimator = new DownlinkEstimator(history, config);
        RtpHeader h = RtpHeader.of(false, 96, 1, 1000, 0xCAFE)
                .withExtensions(List.of(new HeaderExtension(EXT_ID, new byte[2])));
        int headerLen = h.encodedLength();
        this.packet = RtpPacket.build(h, new byte[PACKET_BYTES - headerLen], 0, PACKET_BYTES - headerLen);
        this.probeHeader = h;
    }

    long estimate() {
        return estimator.estimateBps();
    }

    /** Runs until {@code untilMillis}, one millisecond at a time. */
    void runUntil(long untilMillis) {
        while (nowMillis < untilMillis) {
            tick();
            nowMillis++;
        }
    }

    /** Runs until the estimate satisfies {@code done} or {@code limitMillis} passes; returns the time taken. */
    long runUntil(java.util.function.LongPredicate done, long limitMillis) {
        long start = nowMillis;
        while (nowMillis - start < limitMillis && !done.test(estimate())) {
            tick();
            nowMillis++;
        }
        return nowMillis - start;
    }

    /** Mean estimate over the next {@code millis}, sampled every ms. */
    double meanEstimateOver(long millis) {
        double sum = 0;
        for (long i = 0; i < millis; i++) {
            tick();
            nowMillis++;
            sum += estimate();
        }
        return sum / millis;
    }

    private void tick() {
        long tickStart = nowMillis * 1000;
        long tickEnd = tickStart + 1000;
        if (nextSendMicros < tickStart) {
            nextSendMicros = tickStart;
        }
        while (nextSendMicros < tickEnd) {
            if (frameIntervalMicros > 0) {
                frameCredit += estimate() * (frameIntervalMicros / 1e6) / (PACKET_BYTES * 8.0);
                int n = (int) frameCredit;
                frameCredit -= n;
                for (int i = 0; i < n; i++) {
                    send(nextSendMicros + 100L * i, packet, -1);
                }
                nextSendMicros += frameIntervalMicros;
                continue;
            }
            send(nextSendMicros, packet, -1);
            long rate = appRateBps > 0 ? appRateBps : Math.max(1, estimate());
            nextSendMicros += Math.max(1, PACKET_BYTES * 8L * 1_000_000 / rate);
        }
        onTick.accept(nowMillis);
        if (prober != null) {
            if (probeTargetBps > 0 && estimate() < probeTargetBps) {
                Prober.Cluster c = prober.probe(probeTargetBps, nowMillis);
                if (c != null) {
                    estimator.onProbeCluster(c);
                }
            }
            if (prober.nextTimeoutMillis() <= nowMillis && nowMillis % proberPollPeriodMillis == 0) {
                prober.poll(nowMillis);
            }
            for (Prober.Packet p; (p = prober.pollOutput()) != null; ) {
                if (!paddingAvailable.test(nowMillis)) {
                    probePacketsUnsent++;
                    prober.onUnsent(p.cluster());
                    continue;
                }
                send(tickStart, probePacket(p.bytes()), p.cluster());
                probePackets++;
            }
        }
        while (!inFlight.isEmpty() && readAt(inFlight.peek().atMicros()) < tickEnd) {
            Arrival a = inFlight.poll();
            receiver.onPacket(a.seq(), 0xCAFE, readAt(a.atMicros()) + receiverClockOffsetMicros, nowMillis);
            delivered++;
        }
        if (receiver.nextTimeoutMillis() <= nowMillis) {
            receiver.poll(nowMillis);
            List<RtcpPacket> out = new ArrayList<>();
            for (TransportFeedback fb; (fb = receiver.pollOutput()) != null; ) {
                out.add(fb);
            }
            if (!out.isEmpty()) {
                feedback.add(new Flight(nowMillis + oneWayMicros / 1000, RtcpCompound.write(out)));
            }
        }
        while (!feedback.isEmpty() && feedback.peek().atMillis() <= nowMillis) {
            try {
                for (RtcpPacket p : RtcpCompound.parse(feedback.poll().rtcp())) {
                    estimator.onFeedback((TransportFeedback) p, nowMillis);
                }
            } catch (RtcpException e) {
                throw new AssertionError(e);
            }
        }
        if (estimator.nextTimeoutMillis() <= nowMillis) {
            estimator.poll(nowMillis);
        }
        for (DownlinkEstimator.Output o; (o = estimator.pollOutput()) != null; ) {
            if (o instanceof DownlinkEstimator.ProbeResult r && prober != null) {
                if (probeTargetBps > 0) {
                    prober.onResult(r.bps(), r.probeBps());
                }
                probeResults.add(r);
            }
            listener.accept(o);
        }
        maxEstimate = Math.max(maxEstimate, estimate());
        minEstimate = Math.min(minEstimate, estimate());
    }

    private long readAt(long arrivalMicros) {
        return Math.max(arrivalMicros, rxReadAt.applyAsLong(arrivalMicros));
    }

    private byte[] probePacket(int bytes) {
        return probeBuffers.computeIfAbsent(bytes, n -> {
            int headerLen = probeHeader.encodedLength();
            return RtpPacket.build(probeHeader, new byte[n - headerLen], 0, n - headerLen);
        });
    }

    private void send(long atMicros, byte[] packet, int cluster) {
        int seq = stamper.stamp(packet, 0, packet.length, atMicros, cluster);
        if (seq < 0 || TransportSequence.find(packet, 0, packet.length, EXT_ID) != seq) {
            throw new AssertionError("stamping failed");
        }
        sent++;
        if (random.nextDouble() < lossRate) {
            dropped++;
            return;
        }
        long start = Math.max(atMicros, linkFreeMicros);
        long leave;
        if (bucketBytes > 0) {
            double available = Math.min(bucketBytes, tokens + (start - tokensAtMicros) * capacityBps / 8e6);
            leave = available >= packet.length ? start
                    : start + (long) Math.ceil((packet.length - available) * 8e6 / capacityBps);
            if (leave - atMicros > queueLimitMicros) {
                dropped++;
                return;
            }
            tokens = Math.max(0, available - packet.length);
            tokensAtMicros = leave;
            linkFreeMicros = leave;
        } else {
            if (start - atMicros > queueLimitMicros) {
                dropped++; // drop-tail: the queue holds queueLimitMicros of data
                return;
            }
            linkFreeMicros = start + packet.length * 8L * 1_000_000 / capacityBps;
            leave = linkFreeMicros;
        }
        inFlight.add(new Arrival(leave + oneWayMicros, seq, packet.length));
    }
}
