package dev.veil.webrtc.cc;

import java.util.Objects;

/**
 * Decides, for one subscriber, what budget its {@link LayerSelector} gets and when the server probes before a layer
 * goes up. The downlink estimate is application-limited ({@link AimdRateControl} never grows past 1.5 × what is
 * acknowledged), so it can only lower layers, never show that a higher one fits; this controller supplies the way
 * up, in one of two modes:
 *
 * <ul>
 *   <li><b>Probing</b> (with a {@link Prober}: transport-cc feedback and a padding stream to the subscriber): when a
 *       step up is due, a cluster of padding packets is sent at {@link Config#probeFactor()} × the rate the next
 *       layer needs ({@code keep + step}); the {@link DownlinkEstimator} measures it from the feedback and, if it
 *       got through, raises the estimate to what was measured. The budget is never more than the estimate: the
 *       layer goes up only once a probe confirmed the rate. A probe that falls short (or brings no result within
 *       {@link Config#resultWaitMillis()}) doubles the prober's pause, so a full link is not probed over and
 *       over.</li>
 *   <li><b>Trial</b> (no prober: a subscriber with REMB only, or no padding stream): the estimate (e.g. the REMB
 *       value) is used as it is, and once the hold is over the budget allows one layer step: the next layer itself
 *       is the probe.</li>
 * </ul>
 *
 * <p>In both modes: while the estimator saw congestion recently the budget is the estimate (layers go down);
 * otherwise it is at least what the current layers cost ({@code keep}), so an app-limited estimate never lowers
 * them. No step is tried within the hold after a downgrade (counted from the switch, i.e. while a switch is pending
 * it restarts) or after an upgrade; an upgrade followed within {@link Config#verdictMillis()} by a downgrade doubles
 * the hold (up to {@link Config#holdMaxMillis()}), one that held resets it. Sans-IO: the caller passes {@code
 * nowMillis}; not thread-safe.
 */
public final class ProbeController {

    /**
     * Tuning.
     *
     * @param holdMinMillis no step up this soon after a downgrade or an upgrade
     * @param holdMaxMillis the longest hold after failed steps up
     * @param verdictMillis a downgrade this soon after an upgrade means the upgrade failed
     * @param probeFactor probes are sent at this factor × the rate the step needs (margin for the measurement)
     * @param resultWaitMillis a probe with no result after this long counts as failed
     */
    public record Config(long holdMinMillis, long holdMaxMillis, long verdictMillis, double probeFactor,
            long resultWaitMillis) {
        public Config {
            if (holdMinMillis < 0 || holdMaxMillis < holdMinMillis || verdictMillis < 0 || !(probeFactor >= 1)
                    || resultWaitMillis < 1) {
                throw new IllegalArgumentException("bad probe controller config");
            }
        }

        /** 5 s hold (up to 20 s), a 5 s verdict, probes at 1.1 × the step's rate, 2 s for a probe's result. */
        public static Config defaults() {
            return new Config(5000, 20_000, 5000, 1.1, 2000);
        }
    }

    /** {@code stepBps} when no layer can go up. */
    public static final long NO_STEP = Long.MAX_VALUE;

    private static final long NEVER = Long.MIN_VALUE;

    private final Config config;
    private final Prober prober;
    private final DownlinkEstimator estimator;
    private long holdMillis;
    private long lastDowngradeMillis = NEVER;
    private long lastUpgradeMillis = NEVER;
    private Prober.Cluster waiting;
    private long waitingSinceMillis;
    private long waitingTargetBps;
    private long probesStarted;
    private long probesConfirmed;
    private long probesFailed;
    private long trials;

    /**
     * @param prober the subscriber's prober (probing mode), or null (trial mode)
     * @param estimator the estimator that measures the probes (required with a prober)
     */
    public ProbeController(Config config, Prober prober, DownlinkEstimator estimator) {
        this.config = Objects.requireNonNull(config, "config");
        if (prober != null) {
            Objects.requireNonNull(estimator, "a prober needs the estimator that measures it");
        }
        this.prober = prober;
        this.estimator = estimator;
        this.holdMillis = config.holdMinMillis();
    }

    /** Whether it probes (else steps up by trial). */
    public boolean probing() {
        return prober != null;
    }

    /**
     * The budget the layer selector gets now; in probing mode, may start a probe cluster (sent by the caller from
     * {@link Prober#pollOutput()}).
     *
     * @param estimateBps the downlink estimate
     * @param congested whether the estimator saw congestion recently
     * @param keepBps what the subscriber's current (or chosen) layers cost, audio included
     * @param stepBps what one layer step up would add, with headroom ({@link #NO_STEP}: none possible)
     * @param pending whether a layer switch still waits for its key frame
     */
    public long budget(long estimateBps, boolean congested, long keepBps, long stepBps, boolean pending,
            long nowMillis) {
        if (pending && lastDowngradeMillis != NEVER && lastDowngradeMillis >= lastUpgradeMillis) {
            lastDowngradeMillis = nowMillis; // the hold after a downgrade counts from the switch
        }
        expireProbe(nowMillis);
        if (congested) {
            return estimateBps;
        }
        long budget = Math.max(estimateBps, keepBps + 1);
        boolean holdOver = (lastDowngradeMillis == NEVER || nowMillis - lastDowngradeMillis >= holdMillis)
                && (lastUpgradeMillis == NEVER || nowMillis - lastUpgradeMillis >= holdMillis);
        if (!holdOver || pending || stepBps == NO_STEP || stepBps <= 0) {
            return budget;
        }
        long target = keepBps + stepBps;
        if (estimateBps >= target) {
            return budget; // the estimate already allows the step
        }
        if (prober == null) {
            trials++;
            return Math.max(budget, target);
        }
        if (waiting == null) {
            Prober.Cluster c = prober.probe((long) Math.ceil(target * config.probeFactor()), nowMillis);
            if (c != null) {
                estimator.onProbeCluster(c);
                waiting = c;
                waitingSinceMillis = nowMillis;
                waitingTargetBps = target;
                probesStarted++;
            }
        }
        return budget;
    }

    /** The estimator measured a probe cluster ({@link DownlinkEstimator.ProbeResult}). */
    public void onProbeResult(DownlinkEstimator.ProbeResult result) {
        if (prober == null || waiting == null || result.cluster() != waiting.id()) {
            return; // (a late result of an expired cluster was already counted as failed)
        }
        prober.onResult(result.bps(), result.probeBps());
        if (result.bps() >= waitingTargetBps) {
            probesConfirmed++;
        } else {
            probesFailed++;
        }
        waiting = null;
    }

    private void expireProbe(long nowMillis) {
        if (waiting != null && nowMillis - waitingSinceMillis >= config.resultWaitMillis()) {
            prober.onResult(0, waiting.bps()); // too few of its packets were reported: as good as failed
            probesFailed++;
            waiting = null;
        }
    }

    /**
     * What the selector chose with that budget: a step {@code up} or {@code down} of any track (updates the
     * holds).
     */
    public void onChoice(boolean up, boolean down, long nowMillis) {
        if (down) {
            if (lastUpgradeMillis != NEVER && nowMillis - lastUpgradeMillis < config.verdictMillis()) {
                holdMillis = Math.min(config.holdMaxMillis(), holdMillis * 2); // the step up failed
            }
            lastDowngradeMillis = nowMillis;
        } else if (up) {
            lastUpgradeMillis = nowMillis;
        } else if (lastUpgradeMillis != NEVER && nowMillis - lastUpgradeMillis >= config.verdictMillis()
                && lastUpgradeMillis > lastDowngradeMillis) {
            holdMillis = config.holdMinMillis(); // the last step up held
        }
    }

    /** The current hold before a step up. */
    public long holdMillis() {
        return holdMillis;
    }

    /** Probe clusters started for a step up. */
    public long probesStarted() {
        return probesStarted;
    }

    /** Probes that measured the step's rate. */
    public long probesConfirmed() {
        return probesConfirmed;
    }

    /** Probes that fell short or brought no result. */
    public long probesFailed() {
        return probesFailed;
    }

    /** Steps up tried without a probe (trial mode). */
    public long trials() {
        return trials;
    }
}
