package dev.veil.webrtc.cc;

import java.util.ArrayDeque;
import java.util.Objects;

/**
 * Bandwidth probing for one subscriber's transport: the server only sends what publishers send, and the estimator
 * never grows far beyond what is acknowledged ({@link AimdRateControl}: 1.5 × the acknowledged rate), so a subscriber
 * held on a low layer could never show that a higher one fits. When the layer choice wants more than the estimate,
 * {@link #probe} plans a short <em>cluster</em> of padding packets sent at the wanted rate (as libwebrtc's prober
 * does: at least {@link Config#minPackets()} packets and {@link Config#minDurationMillis()} ms); the transport's
 * feedback for them gives {@link DownlinkEstimator} a measured rate ({@link ProbeResults}).
 *
 * <p>Sans-IO: {@link #probe} starts a cluster, {@link #poll} at {@link #nextTimeoutMillis()} emits the {@link
 * Packet}s that are due (the send path builds a padding-only packet of that size, e.g. on the RTX stream, and stamps
 * it with the cluster id), {@link #pollOutput()} drains them. At most one cluster at a time, none sooner than {@link
 * Config#minIntervalMillis()} after the last one ended; the interval doubles (up to {@link
 * Config#maxIntervalMillis()}) after every probe that did not reach its rate ({@link #onResult}) and is reset by one
 * that did, so a subscriber on a link that is simply full is not probed over and over.
 *
 * <p><b>Starvation.</b> A poll that comes more than {@link #LATE_MICROS} late (the event loop was busy) sends the
 * overdue packets at once, keeping the cluster's average rate (shifting them instead, as first tried, keeps a starved
 * loop's clusters short of their rate: in one netlab run at load 37 with it, 1 of 29 probes for a 3.6 Mbit/s step
 * confirmed on the unshaped path), and marks the cluster {@link
 * #disturbed}; so does a packet that could not be sent ({@link #onUnsent}). A burst that crosses a shaper's bucket at
 * line rate is not mistaken for capacity by the measurement ({@code ProbeResults}: the later half of the cluster, which
 * meets the queue, counts). A disturbed cluster that falls short is the server's doing, not the link's: the caller
 * does not count it against the link (no {@link #onResult}, the pause is not doubled). Not thread-safe.
 */
public final class Prober {

    /**
     * Tuning.
     *
     * @param minPackets packets per cluster, at least
     * @param minDurationMillis duration of a cluster, at least
     * @param packetBytes size of each padding packet (RTP, before SRTP)
     * @param minIntervalMillis pause between clusters
     * @param maxIntervalMillis the longest pause after repeated failed probes
     */
    public record Config(int minPackets, int minDurationMillis, int packetBytes, int minIntervalMillis,
            int maxIntervalMillis) {
        public Config {
            if (minPackets < 2 || minDurationMillis < 1 || packetBytes < 28 || packetBytes > 1400
                    || minIntervalMillis < 1 || maxIntervalMillis < minIntervalMillis) {
                throw new IllegalArgumentException("bad prober config");
            }
        }

        /** 5 packets and 15 ms at least (libwebrtc's minimums), 1000-byte packets, 1 s between, up to 30 s. */
        public static Config defaults() {
            return new Config(5, 15, 1000, 1000, 30_000);
        }

        /**
         * For padding-only packets (RFC 3550 padding: at most 255 bytes after the header): 250-byte packets,
         * clusters of at least {@value Prober#PADDING_CLUSTER_MILLIS} ms — a token bucket's burst lets the start of a
         * cluster through at the rate it is sent (a 15 ms cluster of a few kilobytes passes a shaped link's bucket
         * and measures nothing; a 100 ms one at 550 kbit/s still fit netlab's 3 kB bucket on 400 kbit/s with
         * 150 kbit/s of media beside it), so the cluster must outlast the bucket for its later half to meet the
         * queue — 1 s to 8 s between them.
         */
        public static Config padding() {
            return new Config(5, PADDING_CLUSTER_MILLIS, 250, 1000, 8000);
        }
    }

    /**
     * A planned cluster.
     *
     * @param id its id (stamped with its packets)
     * @param bps the rate it is sent at
     * @param packets how many packets
     * @param packetBytes the size of each
     */
    public record Cluster(int id, long bps, int packets, int packetBytes) {}

    /**
     * One padding packet to send now.
     *
     * @param cluster its cluster id
     * @param bytes its size (RTP, before SRTP)
     */
    public record Packet(int cluster, int bytes) {}

    /** Minimum duration of a padding cluster ({@link Config#padding()}). */
    public static final int PADDING_CLUSTER_MILLIS = 250;
    /** Packets per cluster, at most (a cluster at a high rate gets shorter than its minimum duration). */
    public static final int MAX_PACKETS = 400;
    /** A poll later than this behind a packet's due time disturbs the cluster. */
    static final long LATE_MICROS = 10_000;

    private final Config config;
    private final ArrayDeque<Packet> out = new ArrayDeque<>();
    private Cluster current;
    private int sent;
    private long startMicros;
    private int nextId;
    private long lastEndMillis = Long.MIN_VALUE;
    private long intervalMillis;
    private long clusters;
    private int lastId = -1;
    private boolean lastDisturbed;
    private int lastUnsent;
    private int lastPackets;
    private long latePolls;

    public Prober(Config config) {
        this.config = Objects.requireNonNull(config, "config");
        this.intervalMillis = config.minIntervalMillis();
    }

    /** Clusters started so far. */
    public long clusters() {
        return clusters;
    }

    /** The current pause between clusters. */
    public long intervalMillis() {
        return intervalMillis;
    }

    /**
     * Starts a cluster at {@code bps} if none is running and the pause since the last one is over.
     *
     * @return the cluster started, or null
     */
    public Cluster probe(long bps, long nowMillis) {
        if (bps < 1 || current != null
                || lastEndMillis != Long.MIN_VALUE && nowMillis - lastEndMillis < intervalMillis) {
            return null;
        }
        double bitsPerPacket = config.packetBytes() * 8.0;
        int packets = (int) Math.max(config.minPackets(),
                Math.ceil(bps * config.minDurationMillis() / 1000.0 / bitsPerPacket));
        packets = Math.min(packets, MAX_PACKETS);
        current = new Cluster(nextId, bps, packets, config.packetBytes());
        lastId = nextId;
        lastDisturbed = false;
        lastUnsent = 0;
        lastPackets = packets;
        nextId = (nextId + 1) & 0x7FFF_FFFF;
        sent = 0;
        startMicros = nowMillis * 1000;
        clusters++;
        poll(nowMillis);
        return current;
    }

    /** When {@link #poll} should run next ({@link Long#MAX_VALUE}: no cluster running). */
    public long nextTimeoutMillis() {
        if (current == null) {
            return Long.MAX_VALUE;
        }
        return Math.floorDiv(dueMicros(sent), 1000);
    }

    /** Emits the packets of the running cluster that are due. */
    public void poll(long nowMillis) {
        if (current == null) {
            return;
        }
        long nowMicros = nowMillis * 1000 + 999; // everything due within this millisecond
        if (nowMillis * 1000 - dueMicros(sent) > LATE_MICROS) {
            lastDisturbed = true; // starved: the overdue packets go out together
            latePolls++;
        }
        while (sent < current.packets() && dueMicros(sent) <= nowMicros) {
            out.add(new Packet(current.id(), current.packetBytes()));
            sent++;
        }
        if (sent == current.packets()) {
            current = null;
            lastEndMillis = nowMillis;
        }
    }

    /** The caller could not send a packet of cluster {@code id} (no stream to pad on): the cluster is disturbed. */
    public void onUnsent(int id) {
        if (id == lastId) {
            lastDisturbed = true;
            lastUnsent++;
        }
    }

    /** Whether cluster {@code id} is over and none of its packets could be sent (no result will come). */
    public boolean nothingSent(int id) {
        return id == lastId && current == null && out.isEmpty() && lastUnsent >= lastPackets;
    }

    /**
     * Whether cluster {@code id} (the running or the last one) went out other than planned: a late poll sent part of
     * it together, or packets of it were not sent. A shortfall is then the server's doing, not the link's.
     */
    public boolean disturbed(int id) {
        return id == lastId && lastDisturbed;
    }

    /** Polls more than {@link #LATE_MICROS} late. */
    public long latePolls() {
        return latePolls;
    }

    /**
     * The estimator's verdict on a cluster: {@code resultBps} measured for a cluster sent at {@code probeBps}. One
     * that reached 90% of its rate resets the pause; one that did not doubles it.
     */
    public void onResult(long resultBps, long probeBps) {
        if (resultBps >= 0.9 * probeBps) {
            intervalMillis = config.minIntervalMillis();
        } else {
            intervalMillis = Math.min(config.maxIntervalMillis(), intervalMillis * 2);
        }
    }

    /** Whether padding packets are waiting in {@link #pollOutput()}. */
    public boolean hasOutput() {
        return !out.isEmpty();
    }

    /** The next padding packet to send, or null. */
    public Packet pollOutput() {
        return out.poll();
    }

    private long dueMicros(int index) {
        return startMicros + (long) (index * current.packetBytes() * 8.0 * 1e6 / current.bps());
    }
}
