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
 *       layer goes up only once a probe confirmed the rate (the estimate counts for a step only within {@link
 *       Config#resultWaitMillis()} of a confirming probe, and for one step). A probe that falls short (or brings no
 *       result within {@link Config#resultWaitMillis()}) doubles the prober's pause, so a full link is not probed
 *       over and over — unless the server itself spoiled it ({@link Prober#disturbed}: its padding could not all be
 *       sent, or a starved event loop sent part of it late): such a probe is {@linkplain #probesSpoiled() spoiled},
 *       says nothing about the link and leaves the pause as it was, so the next probe comes as soon as the server
 *       can probe again (one none of whose packets went out counts at once, without waiting for a result). Issue 9:
 *       unsendable padding for 20 s had pushed the pause to 8 s and the recovery to 14 s; now 6.2 s
 *       ({@code ProbeRecoveryTest}).</li>
 *   <li><b>Trial</b> (no prober: a subscriber with REMB only, or no padding stream): the estimate (e.g. the REMB
 *       value) is used as it is, and once the hold is over the budget allows one layer step: the next layer itself
 *       is the probe.</li>
 * </ul>
 *
 * <p>In both modes: while the estimator saw congestion recently the budget is the estimate (layers go down);
 * otherwise it is at least what the current layers cost ({@code keep}), so an app-limited estimate never lowers
 * them. No step is tried within the hold after a downgrade (counted from the switch, i.e. while a switch is pending
 * it restarts) or after an upgrade; an upgrade followed within {@link Config#verdictMillis()} by a downgrade doubles
 * the hold once (up to {@link Config#holdMaxMillis()}; a downgrade in two steps is one failed upgrade, not two), one
 * that held resets it. Sans-IO: the caller passes {@code
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
    private long confirmedAtMillis = NEVER;
    private long probesStarted;
    private long probesConfirmed;
    private long probesFailed;
    private long probesSpoiled;
    private long trials;
    private boolean upgradeJudged = true;

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
        if (prober == null) {
            if (estimateBps >= target) {
                return budget; // the REMB already allows the step
            }
            trials++;
            return Math.max(budget, target);
        }
        if (waiting == null && (confirmedAtMillis == NEVER || nowMillis - confirmedAtMillis >= config.resultWaitMillis())) {
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

    /**
     * Whether a layer that is running with a known rate may go up now: in trial mode always (the budget decides); with
     * probes only within {@link Config#resultWaitMillis()} of a confirming probe, once (the estimate is
     * application-limited and the layers' measured rates move with the publisher's encoder, so an estimate that seems
     * to cover the next layer proves nothing by itself). The caller keeps such a layer where it is otherwise.
     */
    public boolean mayStepUp(long nowMillis) {
        return prober == null
                || confirmedAtMillis != NEVER && nowMillis - confirmedAtMillis < config.resultWaitMillis();
    }

    /** The probe cluster waiting for the estimator's verdict, or null. */
    public Prober.Cluster pendingProbe() {
        return waiting;
    }

    /** The estimator measured a probe cluster ({@link DownlinkEstimator.ProbeResult}). */
    public void onProbeResult(DownlinkEstimator.ProbeResult result, long nowMillis) {
        if (prober == null || waiting == null || result.cluster() != waiting.id()) {
            return; // (a late result of an expired cluster was already counted as failed)
        }
        if (result.bps() >= waitingTargetBps) {
            prober.onResult(result.bps(), result.probeBps());
            probesConfirmed++;
            confirmedAtMillis = nowMillis; // the next budget calls let the estimate raise a layer
        } else if (prober.disturbed(waiting.id())) {
            probesSpoiled++; // sent late by a starved loop or partly unsent: not the link's verdict
        } else {
            prober.onResult(result.bps(), result.probeBps());
            probesFailed++;
        }
        waiting = null;
    }

    private void expireProbe(long nowMillis) {
        if (waiting != null && prober.nothingSent(waiting.id())) {
            probesSpoiled++; // none of it could be sent: no result will come, try again after the usual pause
            waiting = null;
        } else if (waiting != null && nowMillis - waitingSinceMillis >= config.resultWaitMillis()) {
            if (prober.disturbed(waiting.id())) {
                probesSpoiled++; // not (all) sent, or too slowly to measure: the server's doing, no backoff
            } else {
                prober.onResult(0, waiting.bps()); // too few of its packets were reported: as good as failed
                probesFailed++;
            }
            waiting = null;
        }
    }

    /**
     * What the selector chose with that budget: a step {@code up} or {@code down} of any track (updates the
     * holds).
     */
    public void onChoice(boolean up, boolean down, long nowMillis) {
        if (up) {
            confirmedAtMillis = NEVER; // a confirmation is good for one step
        }
        if (down) {
            if (lastUpgradeMillis != NEVER && nowMillis - lastUpgradeMillis < config.verdictMillis()
                    && !upgradeJudged) {
                holdMillis = Math.min(config.holdMaxMillis(), holdMillis * 2); // the step up failed
                upgradeJudged = true; // once per upgrade
            }
            lastDowngradeMillis = nowMillis;
        } else if (up) {
            lastUpgradeMillis = nowMillis;
            upgradeJudged = false;
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

    /**
     * Probes the server spoiled (not all sent, or partly sent late by a starved event loop) that fell short or
     * brought no result: neither confirmed nor failed.
     */
    public long probesSpoiled() {
        return probesSpoiled;
    }

    /** Steps up tried without a probe (trial mode). */
    public long trials() {
        return trials;
    }
}
