package dev.veil.webrtc.cc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * Issue 9 (a): recovery after probes that could not be measured. Closed loop ({@link ProbeLoop}: estimator, prober,
 * probe controller and layer selector over a simulated 2.5 Mbit/s bottleneck, manual clock). A probe the server
 * itself spoiled — its padding could not be sent, or its event loop was too starved to pace it — says nothing about
 * the link and must not make the next probes come later; once the server can probe again, the estimate is back at
 * 0.8 × the link within {@link #RECOVERY_MILLIS} of simulated time.
 */
class ProbeRecoveryTest {

    private static final long C = 2_500_000;
    /** Two layer steps (5 s hold between them, as after any upgrade), one probe each, key-frame free in the sim. */
    private static final long RECOVERY_MILLIS = 8_000;

    private static ProbeLoop atTheTop(long seed) {
        ProbeLoop l = new ProbeLoop(C, seed, true);
        l.sim.runUntil(e -> l.layer == 2, 30_000);
        assertEquals(2, l.layer, "reached the top layer first");
        l.sim.runUntil(l.sim.nowMillis + 10_000); // the step held
        assertEquals(5000, l.controller.holdMillis());
        return l;
    }

    /**
     * A 3 s dip to 400 kbit/s takes the layer down (the estimate falls to ~350 kbit/s); from the dip's start the
     * server cannot probe properly for {@code spoilMillis}; returns how long after that the estimate is back at
     * 0.8 × C with the top layer.
     */
    private static long recoverAfter(ProbeLoop l, long spoilMillis) {
        long t0 = l.sim.nowMillis;
        l.sim.capacityBps = 400_000;
        l.sim.runUntil(t0 + 3000);
        assertTrue(l.layer < 2, "the dip took the layer down");
        l.sim.capacityBps = C;
        l.sim.runUntil(t0 + spoilMillis);
        return l.sim.runUntil(e -> e >= 0.8 * C && l.layer == 2, 60_000);
    }

    @Test
    void probesWhosePaddingCouldNotBeSentDoNotDelayTheRecovery() {
        for (long spoil = 9_000; spoil <= 24_000; spoil += 1_300) {
            paddingUnsendableFor(spoil, 51 + spoil);
        }
    }

    private static void paddingUnsendableFor(long spoil, long seed) {
        ProbeLoop l = atTheTop(seed);
        long t0 = l.sim.nowMillis;
        l.sim.paddingAvailable = t -> t >= t0 + spoil; // e.g. no started video consumer to pad on
        long took = recoverAfter(l, spoil);
        System.out.printf("[bwe] padding unsendable for " + spoil + " ms: estimate >= 0.8 C and top layer %d ms"
                + " after it came back; probes %d (%d confirmed, %d failed, %d spoiled), %d probe packets unsent,"
                + " pause %d ms%n",
                took, l.controller.probesStarted(), l.controller.probesConfirmed(), l.controller.probesFailed(),
                l.controller.probesSpoiled(), l.sim.probePacketsUnsent, l.sim.prober.intervalMillis());
        assertTrue(l.sim.probePacketsUnsent > 0, "probes were due while no padding could be sent");
        assertTrue(took <= RECOVERY_MILLIS, "back to >= 0.8 C within " + RECOVERY_MILLIS + " ms: took " + took);
    }

    @Test
    void probesStarvedByTheEventLoopDoNotDelayTheRecovery() {
        for (long spoil = 9_000; spoil <= 24_000; spoil += 1_300) {
            proberStarvedFor(spoil, 52 + spoil);
        }
    }

    private static void proberStarvedFor(long spoil, long seed) {
        ProbeLoop l = atTheTop(seed);
        long t0 = l.sim.nowMillis;
        l.sim.proberPollPeriodMillis = 60; // the prober's timer fires up to 60 ms late
        l.sim.onTick = l.sim.onTick.andThen(t -> {
            if (t == t0 + spoil) {
                l.sim.proberPollPeriodMillis = 1;
            }
        });
        long took = recoverAfter(l, spoil);
        System.out.printf("[bwe] prober starved for " + spoil + " ms: estimate >= 0.8 C and top layer %d ms after;"
                + " probes %d (%d confirmed, %d failed, %d spoiled), pause %d ms, max estimate %d%n", took,
                l.controller.probesStarted(), l.controller.probesConfirmed(), l.controller.probesFailed(),
                l.controller.probesSpoiled(), l.sim.prober.intervalMillis(), l.sim.maxEstimate);
        assertTrue(took <= RECOVERY_MILLIS, "back to >= 0.8 C within " + RECOVERY_MILLIS + " ms: took " + took);
        assertTrue(l.sim.maxEstimate <= 1.1 * C, "no probe measured above the link: " + l.sim.maxEstimate);
    }
}
