package dev.veil.webrtc.cc;

import dev.veil.webrtc.cc.DelayDetector.Usage;
import dev.veil.webrtc.rtcp.Remb;
import dev.veil.webrtc.rtcp.TransportFeedback;
import java.util.List;
import java.util.Objects;

/**
 * The server's estimate of one subscriber's downlink (one transport), in the spirit of Google Congestion Control
 * (draft-ietf-rmcat-gcc-02, send-side as libwebrtc runs it): the subscriber's transport-wide feedback is matched
 * against the {@link SendHistory} its {@link TransportWideStamper} filled, and
 * <ul>
 *   <li>the received packets, in send order, feed the {@link DelayDetector} (queue growing or draining?), whose
 *       verdicts drive the {@link AimdRateControl} together with the {@link AckedRate};</li>
 *   <li>received and lost counts feed the {@link LossBasedControl};</li>
 *   <li>the estimate is {@code min(delay-based, loss-based)}, further capped by the last REMB if the subscriber
 *       sends any, within {@link Config#minBps()}..{@link Config#maxBps()}.</li>
 * </ul>
 * A subscriber that does not do transport-cc but sends REMB gets the REMB value (clamped) as its estimate.
 *
 * <p>Sans-IO like the other engines: {@link #onFeedback} / {@link #onRemb} with {@code nowMillis}, {@link #poll} at
 * {@link #nextTimeoutMillis()} (a feedback timeout: media sent, no transport-wide feedback for {@link
 * Config#feedbackTimeoutMillis()}: the estimate is cut by 20% each time it expires, as a silent subscriber may have
 * lost its link), and {@link #pollOutput()} yields an {@link Estimate} whenever the value changed (only the newest is
 * kept). {@code nowMillis} is the clock whose microseconds the stamper got as send times. State is fixed-size. Not
 * thread-safe.
 *
 * <h2>Hostile feedback</h2>
 * The subscriber controls the feedback. Sequence numbers not in the history (never sent, or too old) are counted and
 * ignored; a packet reported twice counts once; a feedback can only lower or raise the estimate within the configured
 * bounds, so a lying subscriber can at worst choose its own quality.
 */
public final class DownlinkEstimator {

    /**
     * Tuning.
     *
     * @param initialBps the estimate before any feedback
     * @param minBps the smallest estimate ever reported
     * @param maxBps the largest estimate ever reported
     * @param feedbackTimeoutMillis silence (while sending) after which the estimate is cut
     * @param ackedWindowMillis window of the acknowledged rate
     */
    public record Config(long initialBps, long minBps, long maxBps, int feedbackTimeoutMillis, int ackedWindowMillis) {
        public Config {
            if (minBps < 1 || maxBps < minBps || initialBps < minBps || initialBps > maxBps) {
                throw new IllegalArgumentException("need 1 <= min <= initial <= max");
            }
            if (feedbackTimeoutMillis < 100 || ackedWindowMillis < 50) {
                throw new IllegalArgumentException("feedback timeout >= 100 ms, acked window >= 50 ms");
            }
        }

        /**
         * 1 Mbit/s at first, between 100 kbit/s and 20 Mbit/s, a 3 s feedback timeout (Chromium sends feedback every
         * 50-250 ms; a loaded machine has shown gaps above 1.5 s), a 500 ms rate window.
         */
        public static Config defaults() {
            return new Config(1_000_000, 100_000, 20_000_000, 3000, 500);
        }
    }

    /** Outputs. */
    public sealed interface Output permits Estimate, ProbeResult {}

    /** Why the estimate moved. */
    public enum Cause { DELAY, LOSS, REMB, TIMEOUT, PROBE }

    /**
     * A probe cluster ({@link #onProbeCluster}) was measured: hand it to the {@link Prober} ({@link
     * Prober#onResult}).
     *
     * @param cluster its id
     * @param bps what got through
     * @param probeBps the rate it was sent at
     */
    public record ProbeResult(int cluster, long bps, long probeBps) implements Output {}

    /**
     * The estimate changed.
     *
     * @param bps the estimate, bits per second
     * @param delayBasedBps the delay-based part
     * @param lossBasedBps the loss-based limit
     * @param usage the delay detector's verdict
     * @param cause what moved it last
     */
    public record Estimate(long bps, long delayBasedBps, long lossBasedBps, Usage usage, Cause cause)
            implements Output {}

    /** Counters and the current values. */
    public record Stats(long estimateBps, long feedbacks, long packetsReported, long packetsLost, long unknown,
            long rembs, double rttMillis, double lossFraction, long timeouts) {}

    static final double INITIAL_RTT_MS = 100;
    /**
     * A loss sample at or above this fraction counts as congestion ({@link #lastCongestionMillis()}): a link that is
     * overfilled drops a large share of what is sent, while a lossy but uncongested hop (a few per cent, random)
     * practically never shows it in a sample of 20 or more packets (5% random loss: P(≥ 6 of 20) ≈ 3 · 10⁻⁴).
     */
    static final double HEAVY_LOSS = 0.3;

    private final Config config;
    private final SendHistory history;
    private final DelayDetector detector = new DelayDetector();
    private final AimdRateControl aimd;
    private final LossBasedControl loss;
    private final AckedRate acked;
    private Estimate pending;
    private final java.util.ArrayDeque<ProbeResult> probeOut = new java.util.ArrayDeque<>();
    private final ProbeResults probes = new ProbeResults();
    private long estimate;
    private Cause lastCause = Cause.DELAY;
    private long rembBps = Long.MAX_VALUE;
    private boolean twccSeen;
    private long lastFeedbackMillis = Long.MIN_VALUE;
    private long deadline = Long.MAX_VALUE;
    private double rttMs = INITIAL_RTT_MS;
    private long referenceExt = Long.MIN_VALUE;
    private long probeBest;
    private long lastCongestionMillis = Long.MIN_VALUE;

    private long feedbacks;
    private long packetsReported;
    private long packetsLost;
    private long unknown;
    private long rembs;
    private long timeouts;

    public DownlinkEstimator(SendHistory history, Config config) {
        this.history = Objects.requireNonNull(history, "history");
        this.config = Objects.requireNonNull(config, "config");
        this.aimd = new AimdRateControl(config.initialBps(), config.minBps(), config.maxBps());
        this.loss = new LossBasedControl(config.initialBps(), config.minBps(), config.maxBps());
        this.acked = new AckedRate(config.ackedWindowMillis() * 1000L, 4096);
        this.estimate = config.initialBps();
    }

    /** The current estimate, bits per second. */
    public long estimateBps() {
        return estimate;
    }

    /** The smoothed round-trip time seen in feedback, ms. */
    public double rttMillis() {
        return rttMs;
    }

    /** A snapshot. */
    public Stats stats() {
        return new Stats(estimate, feedbacks, packetsReported, packetsLost, unknown, rembs, rttMs,
                loss.lossFraction(), timeouts);
    }

    /** A {@link Prober} cluster started: its packets (stamped with its id) will be measured. */
    public void onProbeCluster(Prober.Cluster cluster) {
        probes.onCluster(cluster);
    }

    /** Handles one transport-wide feedback packet from the subscriber. */
    public void onFeedback(TransportFeedback fb, long nowMillis) {
        feedbacks++;
        twccSeen = true;
        lastFeedbackMillis = nowMillis;
        long nowMicros = nowMillis * 1000;
        long baseExt = history.unwrap(fb.baseSequence());
        long refTicks = unwrapReference(fb.referenceTime()) * TransportFeedback.DELTAS_PER_REFERENCE;
        List<TransportFeedback.Received> received = fb.received();
        int lost = 0;
        int reported = 0;
        int next = 0;
        long ticks = refTicks;
        long newestSend = Long.MIN_VALUE;
        probeBest = -1;
        Usage usage = detector.usage();
        boolean overuse = false;
        long lossSamples = loss.samples();
        // only the part of the range the history can still hold is walked (a hostile 65535-status report of
        // numbers never sent costs nothing beyond its parse)
        long from = Math.max(baseExt, history.nextSequence() - history.capacity());
        long to = Math.min(baseExt + fb.packetStatusCount(), history.nextSequence());
        unknown += fb.packetStatusCount() - Math.max(0, to - from);
        while (next < received.size()
                && ((received.get(next).sequence() - fb.baseSequence()) & 0xFFFF) < from - baseExt) {
            ticks += received.get(next).delta();
            next++;
        }
        for (long ext = from; ext < to; ext++) {
            int i = (int) (ext - baseExt);
            boolean got = next < received.size()
                    && ((received.get(next).sequence() - fb.baseSequence()) & 0xFFFF) == i;
            long arrivalMicros = 0;
            if (got) {
                ticks += received.get(next).delta();
                arrivalMicros = ticks * TransportFeedback.DELTA_MICROS;
                next++;
            }
            if (!history.contains(ext)) {
                unknown++;
                continue;
            }
            int state = history.state(ext);
            if (got) {
                if (state == SendHistory.RECEIVED) {
                    continue;
                }
                if (state == SendHistory.LOST) {
                    lost--; // reported lost before, received after all
                } else {
                    reported++;
                }
                history.setState(ext, SendHistory.RECEIVED);
                long send = history.sendMicros(ext);
                usage = detector.onPacket(send, arrivalMicros);
                overuse |= usage == Usage.OVERUSE;
                acked.add(arrivalMicros, history.bytes(ext));
                newestSend = Math.max(newestSend, send);
                int cluster = history.cluster(ext);
                if (cluster >= 0) {
                    long r = probes.onReceived(cluster, send, arrivalMicros, history.bytes(ext));
                    if (r > 0 && probeOut.size() < ProbeResults.SLOTS) {
                        probeOut.add(new ProbeResult(cluster, r, probes.probeBps(cluster)));
                        probeBest = Math.max(probeBest, r);
                    }
                }
            } else if (state == SendHistory.UNREPORTED) {
                history.setState(ext, SendHistory.LOST);
                lost++;
                reported++;
            }
        }
        packetsReported += reported;
        packetsLost += lost;
        if (newestSend != Long.MIN_VALUE) {
            // the newest packet reported was sent at most one feedback interval before the report left
            double sample = Math.max(1, (nowMicros - newestSend) / 1000.0);
            rttMs = Math.min(5000, 0.875 * rttMs + 0.125 * sample);
        }
        double ackedBps = acked.bps();
        Cause cause = Cause.DELAY;
        if (usage != Usage.OVERUSE || aimd.timeToReduceFurther(nowMicros, ackedBps, rttMs)) {
            aimd.update(usage, ackedBps, rttMs, nowMicros);
        }
        if (loss.onReport(lost, reported, estimate, rttMs, ackedBps, nowMicros) && loss.limit() < aimd.bitrate()) {
            cause = Cause.LOSS;
        }
        if (overuse || loss.samples() != lossSamples && loss.lossFraction() >= HEAVY_LOSS) {
            lastCongestionMillis = nowMillis;
        }
        if (probeBest > estimate && usage != Usage.OVERUSE) {
            // a probe measured more than the estimate: take it (libwebrtc does, for the delay- and loss-based parts)
            aimd.setBitrate(probeBest, nowMicros);
            loss.raise(probeBest);
            cause = Cause.PROBE;
        }
        armTimeout();
        publish(usage, cause);
    }

    /** Handles a REMB from the subscriber: its own estimate, an upper bound on ours (the estimate without TWCC). */
    public void onRemb(Remb remb, long nowMillis) {
        rembs++;
        rembBps = Math.max(1, remb.bitrate());
        publish(detector.usage(), Cause.REMB);
    }

    /** When {@link #poll} should run ({@link Long#MAX_VALUE}: no feedback is awaited). */
    public long nextTimeoutMillis() {
        armTimeout();
        return deadline;
    }

    /** Runs the feedback timeout if due. */
    public void poll(long nowMillis) {
        armTimeout();
        if (nowMillis < deadline) {
            return;
        }
        timeouts++;
        lastCongestionMillis = nowMillis;
        long nowMicros = nowMillis * 1000;
        double cut = estimate * 0.8;
        aimd.setBitrate(Math.min(aimd.bitrate(), cut), nowMicros);
        loss.cap(cut);
        lastFeedbackMillis = nowMillis; // the next cut after another full timeout
        deadline = Long.MAX_VALUE;
        publish(detector.usage(), Cause.TIMEOUT);
        armTimeout();
    }

    /** The next output: probe results first, then the newest changed estimate; null when there is none. */
    public Output pollOutput() {
        ProbeResult r = probeOut.poll();
        if (r != null) {
            return r;
        }
        Estimate e = pending;
        pending = null;
        return e;
    }

    private void armTimeout() {
        long lastSend = history.lastSendMicros();
        if (!twccSeen || lastSend == Long.MIN_VALUE || lastSend / 1000 <= lastFeedbackMillis) {
            deadline = Long.MAX_VALUE; // nothing sent since the last feedback (or no transport-cc at all)
            return;
        }
        deadline = lastFeedbackMillis + config.feedbackTimeoutMillis();
    }

    private void publish(Usage usage, Cause cause) {
        long value;
        if (twccSeen) {
            value = Math.min(aimd.bitrate(), loss.limit());
            value = Math.min(value, rembBps);
        } else {
            value = rembBps == Long.MAX_VALUE ? estimate : rembBps;
        }
        value = Math.max(config.minBps(), Math.min(config.maxBps(), value));
        if (value != estimate) {
            estimate = value;
            lastCause = cause;
            pending = new Estimate(value, aimd.bitrate(), loss.limit(), usage, cause);
        }
    }

    /**
     * When the estimator last saw congestion ({@link Long#MIN_VALUE}: never): the delay detector reported overuse
     * for a packet of a feedback (whether or not that moved the estimate: the loss-based limit may already be
     * lower), a loss sample reached {@link #HEAVY_LOSS}, or the feedback timed out. A loss cut below that (random
     * loss on an uncongested hop) and a REMB are not counted.
     */
    public long lastCongestionMillis() {
        return lastCongestionMillis;
    }

    /** The cause of the last change. */
    public Cause lastCause() {
        return lastCause;
    }

    private long unwrapReference(int ref24) {
        if (referenceExt == Long.MIN_VALUE) {
            referenceExt = ref24;
        } else {
            int diff = ((ref24 - (int) (referenceExt & 0xFF_FFFF)) << 8) >> 8; // signed 24-bit
            referenceExt += diff;
        }
        return referenceExt;
    }
}
