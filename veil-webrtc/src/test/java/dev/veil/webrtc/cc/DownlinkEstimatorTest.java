package dev.veil.webrtc.cc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.veil.webrtc.rtcp.Remb;
import dev.veil.webrtc.rtcp.TransportFeedback;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The estimator in a closed loop over {@link LinkSim} (manual clock, seeded loss), plus its edge cases. */
class DownlinkEstimatorTest {

    private static final DownlinkEstimator.Config CONFIG = new DownlinkEstimator.Config(300_000, 50_000, 5_000_000,
            1500, 500);

    private static void report(String what, Object... args) {
        System.out.println("[bwe] " + String.format(what, args));
    }

    @Test
    void convergesNear400kbit() {
        LinkSim sim = new LinkSim(400_000, 0, 1, CONFIG);
        sim.runUntil(20_000);
        double mean = sim.meanEstimateOver(20_000);
        report("400 kbit/s link: mean estimate over 20..40 s = %.0f bps, drops %d of %d", mean, sim.dropped, sim.sent);
        assertTrue(mean > 0.7 * 400_000 && mean < 1.3 * 400_000, "mean " + mean);
    }

    @Test
    void convergesNear2500kbit() {
        LinkSim sim = new LinkSim(2_500_000, 0, 2, CONFIG);
        long ramp = sim.runUntil(e -> e > 0.7 * 2_500_000, 60_000);
        report("2.5 Mbit/s link: from 300 kbit/s to 1.75 Mbit/s in %d ms (no probing: about 8%%/s)", ramp);
        assertTrue(ramp < 60_000, "ramp " + ramp);
        sim.runUntil(40_000);
        double mean = sim.meanEstimateOver(20_000);
        report("2.5 Mbit/s link: mean estimate over 40..60 s = %.0f bps, drops %d of %d", mean, sim.dropped,
                sim.sent);
        assertTrue(mean > 0.7 * 2_500_000 && mean < 1.3 * 2_500_000, "mean " + mean);
    }

    @Test
    void burstyFramesLikeForwardedVideoConvergeToo() {
        for (long capacity : new long[] {400_000, 2_500_000}) {
            LinkSim sim = new LinkSim(capacity, 0, 9, CONFIG);
            sim.frameIntervalMicros = 33_333;
            sim.runUntil(40_000);
            double mean = sim.meanEstimateOver(20_000);
            report("%d bit/s link, 30 frames/s in bursts: mean estimate over 40..60 s = %.0f bps, drops %d of %d",
                    capacity, mean, sim.dropped, sim.sent);
            assertTrue(mean > 0.7 * capacity && mean < 1.3 * capacity, capacity + ": mean " + mean);
        }
    }

    @Test
    void aSenderThatDoesNotSlowDownStillGetsAnEstimateNearTheLink() {
        // the SFU before the layer choice acts: 1.5 Mbit/s forwarded into a 400 kbit/s link, ~75% loss
        LinkSim sim = new LinkSim(400_000, 0, 10, new DownlinkEstimator.Config(1_500_000, 50_000, 5_000_000, 1500, 500));
        sim.appRateBps = 1_500_000;
        sim.runUntil(20_000);
        double mean = sim.meanEstimateOver(10_000);
        report("1.5 Mbit/s sent into a 400 kbit/s link: mean estimate over 20..30 s = %.0f bps, loss %.2f", mean,
                sim.estimator.stats().lossFraction());
        assertTrue(mean > 0.6 * 400_000 && mean < 1.3 * 400_000, "mean " + mean);
        // the drop-tail queue stays full (no delay gradient left), but the heavy loss keeps it "congested"
        assertTrue(sim.nowMillis - sim.estimator.lastCongestionMillis() < 1000,
                "congestion seen lately: " + sim.estimator.lastCongestionMillis() + " at " + sim.nowMillis);
    }

    @Test
    void randomLossOnAnUncongestedLinkIsNotCongestion() {
        // an SFU subscriber on a lossy hop: 500 kbit/s sent over 2.5 Mbit/s, 5% random loss, for a minute
        LinkSim sim = new LinkSim(2_500_000, 0.05, 11, CONFIG);
        sim.appRateBps = 500_000;
        sim.runUntil(60_000);
        assertTrue(sim.estimator.stats().packetsLost() > 100, "loss was seen: " + sim.estimator.stats());
        assertEquals(Long.MIN_VALUE, sim.estimator.lastCongestionMillis(), "no overuse, no heavy-loss sample");
    }

    @Test
    void dropsWhenCapacityFallsAndRecoversWhenItRises() {
        LinkSim sim = new LinkSim(2_500_000, 0, 3, CONFIG);
        sim.runUntil(40_000);
        assertTrue(sim.estimate() > 1_700_000, "converged first: " + sim.estimate());
        sim.capacityBps = 400_000;
        long dropMillis = sim.runUntil(e -> e < 1.3 * 400_000, 30_000);
        report("2.5 Mbit/s -> 400 kbit/s: estimate under 520 kbit/s after %d ms", dropMillis);
        assertTrue(dropMillis < 5_000, "took " + dropMillis + " ms to come down");
        double low = sim.meanEstimateOver(10_000);
        assertTrue(low > 0.6 * 400_000 && low < 1.3 * 400_000, "mean after the drop " + low);
        sim.capacityBps = 2_500_000;
        long upMillis = sim.runUntil(e -> e > 0.7 * 2_500_000, 120_000);
        report("400 kbit/s -> 2.5 Mbit/s: estimate over 1.75 Mbit/s after %d ms", upMillis);
        assertTrue(upMillis < 60_000, "took " + upMillis + " ms to recover");
    }

    @Test
    void fivePercentRandomLossDoesNotCollapseTheEstimate() {
        LinkSim sim = new LinkSim(2_500_000, 0, 4, CONFIG);
        sim.runUntil(40_000);
        long before = sim.estimate();
        sim.lossRate = 0.05;
        sim.minEstimate = Long.MAX_VALUE;
        double mean = sim.meanEstimateOver(30_000);
        report("5%% random loss on 2.5 Mbit/s: estimate %d before, mean %.0f over 30 s after, min %d, loss %.3f",
                before, mean, sim.minEstimate, sim.estimator.stats().lossFraction());
        assertTrue(mean > 0.6 * 2_500_000, "mean under loss " + mean);
        assertTrue(sim.minEstimate > 0.4 * 2_500_000, "min under loss " + sim.minEstimate);
        assertTrue(sim.estimator.stats().packetsLost() > 0, "loss was seen");
    }

    @Test
    void lossFromTheStartHoldsRatherThanCollapsing() {
        LinkSim sim = new LinkSim(2_500_000, 0.05, 5, CONFIG);
        sim.runUntil(30_000);
        report("5%% loss from the start: estimate %d, min %d", sim.estimate(), sim.minEstimate);
        assertTrue(sim.minEstimate >= 0.8 * CONFIG.initialBps(), "min " + sim.minEstimate);
    }

    @Test
    void neverLeavesTheConfiguredBounds() {
        DownlinkEstimator.Config tight = new DownlinkEstimator.Config(300_000, 250_000, 600_000, 1500, 500);
        LinkSim fast = new LinkSim(10_000_000, 0, 6, tight);
        fast.runUntil(30_000);
        assertEquals(600_000, fast.maxEstimate, "capped at max on a fast link");
        LinkSim slow = new LinkSim(100_000, 0.2, 7, tight);
        slow.runUntil(30_000);
        assertEquals(250_000, slow.minEstimate, "held at min on a slow lossy link");
        assertTrue(slow.maxEstimate <= 600_000);
    }

    @Test
    void feedbackTimeoutCutsTheEstimateWhileSending() {
        SendHistory h = new SendHistory(256, 0);
        DownlinkEstimator e = new DownlinkEstimator(h, CONFIG);
        assertEquals(Long.MAX_VALUE, e.nextTimeoutMillis(), "no transport-cc seen yet");
        h.add(1000, 0);
        e.onFeedback(new TransportFeedback(1, 2, 0, 1, 0, 0, List.of(new TransportFeedback.Received(0, 4))), 50);
        assertEquals(Long.MAX_VALUE, e.nextTimeoutMillis(), "nothing sent since the feedback");
        h.add(1000, 100_000);
        assertEquals(50 + 1500, e.nextTimeoutMillis());
        long before = e.estimateBps();
        e.poll(1549);
        assertNull(e.pollOutput(), "not yet");
        e.poll(1550);
        DownlinkEstimator.Estimate out = (DownlinkEstimator.Estimate) e.pollOutput();
        assertEquals(DownlinkEstimator.Cause.TIMEOUT, out.cause());
        assertEquals((long) (before * 0.8), out.bps());
        assertEquals(Long.MAX_VALUE, e.nextTimeoutMillis(), "nothing sent since the cut");
    }

    @Test
    void rembAloneSetsTheEstimateWithinBounds() {
        DownlinkEstimator e = new DownlinkEstimator(new SendHistory(256, 0), CONFIG);
        e.onRemb(new Remb(9, 800_000, List.of()), 10);
        assertEquals(800_000, ((DownlinkEstimator.Estimate) e.pollOutput()).bps());
        e.onRemb(new Remb(9, 1L << 40, List.of()), 20);
        assertEquals(CONFIG.maxBps(), e.estimateBps());
        e.onRemb(new Remb(9, 0, List.of()), 30);
        assertEquals(CONFIG.minBps(), e.estimateBps());
        assertEquals(DownlinkEstimator.Cause.REMB, e.lastCause());
    }

    @Test
    void rembCapsTheTransportCcEstimate() {
        LinkSim sim = new LinkSim(2_500_000, 0, 8, CONFIG);
        sim.runUntil(20_000);
        sim.estimator.onRemb(new Remb(9, 500_000, List.of()), sim.nowMillis);
        assertEquals(500_000, sim.estimate());
        sim.runUntil(25_000);
        assertTrue(sim.estimate() <= 500_000, "stays capped by the REMB: " + sim.estimate());
    }

    @Test
    void hostileFeedbackIsCountedAndBounded() {
        SendHistory h = new SendHistory(256, 0);
        DownlinkEstimator e = new DownlinkEstimator(h, CONFIG);
        for (int i = 0; i < 10; i++) {
            h.add(1200, i * 1000L);
        }
        // a range never sent, a duplicate report, absurd deltas
        e.onFeedback(new TransportFeedback(1, 2, 30_000, 500, 0xFF_FFFF, 0,
                List.of(new TransportFeedback.Received(30_000, -32768))), 20);
        assertEquals(500, e.stats().unknown());
        TransportFeedback twice = new TransportFeedback(1, 2, 0, 10, 5, 1,
                List.of(new TransportFeedback.Received(0, 32767), new TransportFeedback.Received(9, 1)));
        e.onFeedback(twice, 30);
        e.onFeedback(twice, 40);
        assertEquals(10, e.stats().packetsReported(), "each packet counted once");
        assertEquals(8, e.stats().packetsLost());
        assertTrue(e.estimateBps() >= CONFIG.minBps() && e.estimateBps() <= CONFIG.maxBps());
    }

    @Test
    void aReportStartingBeforeTheHistoryCountsOnlyWhatItHolds() {
        SendHistory h = new SendHistory(256, 0);
        DownlinkEstimator e = new DownlinkEstimator(h, CONFIG);
        for (int i = 0; i < 10; i++) {
            h.add(1200, i * 1000L);
        }
        // statuses for 65436..65535 (never sent) then 0..4; received: 65486 (unknown) and 2
        TransportFeedback straddling = new TransportFeedback(1, 2, (0 - 100) & 0xFFFF, 105, 5, 1,
                List.of(new TransportFeedback.Received((0 - 50) & 0xFFFF, 4), new TransportFeedback.Received(2, 8)));
        e.onFeedback(straddling, 25);
        assertEquals(100, e.stats().unknown(), "the 100 numbers before the first sent");
        assertEquals(5, e.stats().packetsReported());
        assertEquals(4, e.stats().packetsLost(), "0, 1, 3, 4 lost; 2 received");
        assertEquals(SendHistory.RECEIVED, h.state(2));
        assertEquals(SendHistory.LOST, h.state(4));
        assertEquals(SendHistory.UNREPORTED, h.state(5));
    }
}
