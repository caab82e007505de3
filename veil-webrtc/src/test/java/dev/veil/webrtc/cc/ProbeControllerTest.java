package dev.veil.webrtc.cc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The probe controller alone (manual clock), then in a closed loop with the real estimator, prober and layer
 * selector over a simulated bottleneck ({@link LinkSim}): an SFU sending one simulcast track of 150 kbit/s,
 * 500 kbit/s and 1.5 Mbit/s layers, application-limited (it sends the layer chosen, nothing more).
 */
class ProbeControllerTest {

    private static final DownlinkEstimator.Config CONFIG = new DownlinkEstimator.Config(300_000, 50_000, 5_000_000,
            1500, 500);
    private static final long[] COST = {150_000, 500_000, 1_500_000};

    // ------------------------------------------------------------------------------------------------ alone

    private static ProbeController probing(Prober prober) {
        DownlinkEstimator est = new DownlinkEstimator(new SendHistory(1024, 0), CONFIG);
        return new ProbeController(ProbeController.Config.defaults(), prober, est);
    }

    @Test
    void congestionGivesTheEstimateOtherwiseTheCurrentLayersAreKept() {
        ProbeController c = new ProbeController(ProbeController.Config.defaults(), null, null);
        assertEquals(200_000, c.budget(200_000, true, 700_000, 500_000, false, 0), "congested: the estimate");
        c.onChoice(false, true, 0);
        assertEquals(700_001, c.budget(200_000, false, 700_000, 500_000, false, 100),
                "not congested: an app-limited estimate lowers nothing");
    }

    @Test
    void trialModeStepsUpBlindOnceTheHoldIsOver() {
        ProbeController c = new ProbeController(ProbeController.Config.defaults(), null, null);
        c.onChoice(false, true, 0); // a downgrade
        assertEquals(200_001, c.budget(150_000, false, 200_000, 400_000, false, 4999), "held");
        assertEquals(600_000, c.budget(150_000, false, 200_000, 400_000, false, 5000), "the next layer is the probe");
        assertEquals(1, c.trials());
        assertEquals(200_001, c.budget(150_000, false, 200_000, 400_000, true, 6000), "not while a switch pends");
        c.onChoice(true, false, 6000);
        c.onChoice(false, true, 7000); // failed within the verdict time
        assertEquals(10_000, c.holdMillis());
        c.onChoice(true, false, 17_000);
        c.onChoice(false, false, 22_000);
        assertEquals(5000, c.holdMillis(), "a step that held resets the hold");
    }

    @Test
    void probingModeProbesAtTheStepsRateAndNeverRaisesTheBudgetItself() {
        Prober p = new Prober(Prober.Config.padding());
        ProbeController c = probing(p);
        c.onChoice(false, true, 0);
        assertEquals(200_001, c.budget(150_000, false, 200_000, 400_000, false, 4000), "held: no probe");
        assertEquals(0, p.clusters());
        assertEquals(200_001, c.budget(150_000, false, 200_000, 400_000, false, 5000), "a probe, not a step");
        assertEquals(1, p.clusters());
        assertEquals(1, c.probesStarted());
        assertNotNull(p.pollOutput(), "the cluster's first padding packet is due at once");
        assertEquals(200_001, c.budget(150_000, false, 200_000, 400_000, false, 5100), "one probe at a time");
        assertEquals(1, p.clusters());
        for (long t = 5000; t <= 5300; t++) {
            p.poll(t); // the cluster is sent (250 ms)
        }
        // the estimator's verdict: it fell short of the 600 kbit/s the step needs
        c.onProbeResult(new DownlinkEstimator.ProbeResult(0, 380_000, 660_000), 5200);
        assertEquals(1, c.probesFailed());
        assertEquals(2000, p.intervalMillis(), "the prober's pause doubled");
        // an app-limited estimate above the step's rate is not trusted: no step up allowed, a probe goes out
        assertEquals(700_000, c.budget(700_000, false, 200_000, 400_000, false, 9000));
        assertTrue(!c.mayStepUp(9000));
        assertEquals(2, p.clusters());
        Prober.Cluster second = c.pendingProbe();
        // the estimator's verdict: this one reached the 600 kbit/s; the estimate (raised by it) is the budget
        c.onProbeResult(new DownlinkEstimator.ProbeResult(second.id(), 640_000, second.bps()), 9200);
        assertEquals(1, c.probesConfirmed());
        assertEquals(640_000, c.budget(640_000, false, 200_000, 400_000, false, 9300));
        assertTrue(c.mayStepUp(9300));
        c.onChoice(true, false, 9300);
        assertTrue(!c.mayStepUp(9400), "one step per confirmation");
        assertEquals(0, c.trials());
    }

    @Test
    void aDowngradeInTwoStepsDoublesTheHoldOnce() {
        ProbeController c = new ProbeController(ProbeController.Config.defaults(), null, null);
        c.onChoice(true, false, 0);
        c.onChoice(false, true, 1000); // 2 -> 1
        c.onChoice(false, true, 1500); // 1 -> 0: the same failed upgrade
        assertEquals(10_000, c.holdMillis());
    }

    @Test
    void aProbeWhosePaddingCouldNotBeSentIsSpoiledNotFailed() {
        Prober p = new Prober(Prober.Config.padding());
        ProbeController c = probing(p);
        c.budget(150_000, false, 200_000, 400_000, false, 0);
        for (long t = 0; t <= 300; t++) {
            p.poll(t);
            for (Prober.Packet x; (x = p.pollOutput()) != null; ) {
                p.onUnsent(x.cluster());
            }
        }
        c.budget(150_000, false, 200_000, 400_000, false, 400);
        assertEquals(0, c.probesFailed());
        assertEquals(1, c.probesSpoiled(), "known at once: none of it went out");
        assertEquals(1000, p.intervalMillis(), "no backoff");
        c.budget(150_000, false, 200_000, 400_000, false, 1300);
        assertEquals(2, c.probesStarted(), "the next probe after the usual 1 s pause");
    }

    @Test
    void aShortfallOfAClusterTheServerDisturbedIsSpoiledNotFailed() {
        Prober p = new Prober(Prober.Config.padding());
        ProbeController c = probing(p);
        c.budget(150_000, false, 200_000, 400_000, false, 0);
        p.poll(60); // starved: sent late
        c.onProbeResult(new DownlinkEstimator.ProbeResult(c.pendingProbe().id(), 300_000, 660_000), 400);
        assertEquals(0, c.probesFailed());
        assertEquals(1, c.probesSpoiled());
        assertEquals(1000, p.intervalMillis());
    }

    @Test
    void aProbeWithoutAResultCountsAsFailed() {
        Prober p = new Prober(Prober.Config.padding());
        ProbeController c = probing(p);
        c.budget(150_000, false, 200_000, 400_000, false, 0);
        assertEquals(1, c.probesStarted());
        for (long t = 0; t <= 300; t++) {
            p.poll(t);
        }
        c.budget(150_000, false, 200_000, 400_000, false, 1999);
        assertEquals(0, c.probesFailed());
        c.budget(150_000, false, 200_000, 400_000, false, 2000);
        assertEquals(1, c.probesFailed());
        assertEquals(2000, p.intervalMillis());
    }

    // ------------------------------------------------------------------------------------------------ closed loop

    @Test
    void onAFastLinkProbesConfirmEachStepUpToTheTopLayer() {
        ProbeLoop l = new ProbeLoop(2_500_000, 31, true);
        long took = l.sim.runUntil(e -> l.layer == 2, 30_000);
        System.out.printf("[bwe] probe-then-step on 2.5 Mbit/s: top layer after %d ms, %d probes (%d confirmed),"
                + " estimate %d%n", took, l.controller.probesStarted(), l.controller.probesConfirmed(),
                l.sim.estimate());
        assertEquals(2, l.layer, "reached the top layer");
        assertTrue(took < 15_000, "took " + took);
        assertEquals(0, l.upsWithoutConfirmedProbe, "every step up came after a confirmed probe");
        assertTrue(l.controller.probesConfirmed() >= 2, "one confirmed probe per step");
        l.sim.runUntil(l.sim.nowMillis + 20_000);
        assertEquals(0, l.downs, "nothing to go back down for");
        assertEquals(2, l.layer);
        assertEquals(0, l.sim.dropped);
    }

    @Test
    void onA400kLinkProbesFailSoTheLayerNeverGoesUpAndProbingBacksOff() {
        ProbeLoop l = new ProbeLoop(400_000, 32, true);
        l.sim.runUntil(60_000);
        System.out.printf("[bwe] probe-then-step on 400 kbit/s: %d probes (%d failed), estimate max %d, pause %d ms,"
                + " dropped %d%n", l.controller.probesStarted(), l.controller.probesFailed(), l.sim.maxEstimate,
                l.sim.prober.intervalMillis(), l.sim.dropped);
        assertEquals(0, l.ups, "no step up: the link cannot carry 500 kbit/s");
        assertEquals(0, l.layer);
        assertTrue(l.controller.probesFailed() >= 1);
        assertEquals(0, l.controller.probesConfirmed());
        assertEquals(8000, l.sim.prober.intervalMillis(), "backed off to the longest pause");
        assertTrue(l.controller.probesStarted() <= 12, "not probed over and over: " + l.controller.probesStarted());
    }

    @Test
    void withoutProbesTheSameLinkGetsBlindStepsThatFail() {
        ProbeLoop l = new ProbeLoop(400_000, 33, false);
        l.sim.runUntil(60_000);
        System.out.printf("[bwe] trial steps on 400 kbit/s: %d up, %d down, hold %d ms, dropped %d%n", l.ups, l.downs,
                l.controller.holdMillis(), l.sim.dropped);
        assertTrue(l.ups >= 1 && l.downs >= 1, "a step up that congested the link and came back: " + l.ups);
        assertTrue(l.controller.holdMillis() > 5000, "the failed steps doubled the hold");
    }

    @Test
    void whenALimitIsLiftedProbesFindTheCapacityAndTheLayersGoBackUp() {
        ProbeLoop l = new ProbeLoop(400_000, 34, true);
        l.sim.runUntil(30_000);
        assertEquals(0, l.layer);
        l.sim.capacityBps = 2_500_000;
        long took = l.sim.runUntil(e -> l.layer == 2, 60_000);
        System.out.printf("[bwe] limit lifted: top layer after %d ms%n", took);
        assertEquals(2, l.layer);
        assertTrue(took < 40_000, "took " + took);
        assertEquals(0, l.downs);
    }
}
