package dev.veil.webrtc.cc;

import dev.veil.webrtc.rtcp.Remb;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Objects;

/**
 * The fallback for a publisher that accepts {@code goog-remb} but not {@code transport-cc}: a REMB (RTCP PSFB
 * FMT=15) every {@link Config#intervalMillis()} while media arrives. Sans-IO like {@link TransportFeedbackGenerator}.
 *
 * <p><b>What the number is, honestly:</b> not a congestion estimate. It is {@code headroom × the rate received over
 * the last second}, at least {@link Config#floorBps()} and at most {@link Config#ceilingBps()}: a receiver-side
 * ceiling that lets the sender grow (Chromium takes a REMB above its own estimate during its first seconds without
 * loss, and as an upper bound afterwards) but never detects congestion itself — it only goes down when the sender
 * sends less. On a congested path the sender's loss-based controller is what backs off.
 */
public final class RembGenerator {

    /**
     * Tuning.
     *
     * @param intervalMillis time between REMBs while media arrives
     * @param headroom multiplier on the received rate (greater than 1)
     * @param floorBps the smallest value sent
     * @param ceilingBps the largest value sent
     */
    public record Config(int intervalMillis, double headroom, long floorBps, long ceilingBps) {
        public Config {
            if (intervalMillis < 1 || !(headroom >= 1.0) || floorBps < 1 || ceilingBps < floorBps) {
                throw new IllegalArgumentException("bad REMB config");
            }
        }

        /** Every 500 ms, 1.5 × the received rate, between 300 kbit/s and 10 Mbit/s. */
        public static Config defaults() {
            return new Config(500, 1.5, 300_000, 10_000_000);
        }
    }

    private static final int BINS = 10;
    private static final int BIN_MILLIS = 100;

    private final long senderSsrc;
    private final Config config;
    private final long[] binBytes = new long[BINS];
    private final long[] binIndex = new long[BINS];
    private final ArrayDeque<Remb> out = new ArrayDeque<>();
    private List<Long> ssrcs = List.of();
    private long deadline = Long.MAX_VALUE;
    private long lastSentMillis = Long.MIN_VALUE;
    private long lastEstimate;

    public RembGenerator(long senderSsrc, Config config) {
        if (senderSsrc < 0 || senderSsrc > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException("senderSsrc is unsigned 32 bits");
        }
        this.senderSsrc = senderSsrc;
        this.config = Objects.requireNonNull(config, "config");
        java.util.Arrays.fill(binIndex, Long.MIN_VALUE);
    }

    /** The media SSRCs the REMB applies to (the publisher's streams), at most 255. */
    public void setSsrcs(List<Long> ssrcs) {
        if (ssrcs.size() > 255) {
            throw new IllegalArgumentException("at most 255 SSRCs");
        }
        this.ssrcs = List.copyOf(ssrcs);
    }

    /** Records a received RTP packet of {@code bytes} (whole packet). */
    public void onPacket(int bytes, long nowMillis) {
        long idx = Math.floorDiv(nowMillis, BIN_MILLIS);
        int slot = (int) Math.floorMod(idx, BINS);
        if (binIndex[slot] != idx) {
            binIndex[slot] = idx;
            binBytes[slot] = 0;
        }
        binBytes[slot] += Math.max(0, bytes);
        if (deadline == Long.MAX_VALUE) {
            deadline = lastSentMillis == Long.MIN_VALUE ? nowMillis
                    : Math.max(nowMillis, lastSentMillis + config.intervalMillis());
        }
    }

    /** The bits per second received over the last second. */
    public long receivedBps(long nowMillis) {
        long idx = Math.floorDiv(nowMillis, BIN_MILLIS);
        long sum = 0;
        for (int i = 0; i < BINS; i++) {
            if (binIndex[i] > idx - BINS && binIndex[i] <= idx) {
                sum += binBytes[i];
            }
        }
        return sum * 8 * 1000 / (BINS * BIN_MILLIS);
    }

    /** When {@link #poll} should run next ({@link Long#MAX_VALUE}: no media since the last REMB). */
    public long nextTimeoutMillis() {
        return deadline;
    }

    /** Emits a REMB if one is due. */
    public void poll(long nowMillis) {
        if (nowMillis < deadline) {
            return;
        }
        long estimate = (long) Math.min(config.ceilingBps(),
                Math.max(config.floorBps(), receivedBps(nowMillis) * config.headroom()));
        lastEstimate = estimate;
        out.add(new Remb(senderSsrc, estimate, ssrcs));
        lastSentMillis = nowMillis;
        deadline = Long.MAX_VALUE;
    }

    /** The last value sent (0 before the first). */
    public long lastEstimateBps() {
        return lastEstimate;
    }

    /** The next REMB to send, or null. */
    public Remb pollOutput() {
        return out.poll();
    }
}
