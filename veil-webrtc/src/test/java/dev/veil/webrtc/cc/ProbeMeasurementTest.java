package dev.veil.webrtc.cc;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * Issue 9 (b): a probe must never be confirmed far above the link. The sim ({@link LinkSim}, manual clock) caps what
 * the subscriber receives at the capacity C; the prober asks for well above it, repeatedly, while the sender is
 * application-limited below C. Every probe result and the estimate stay at most {@link #TOLERANCE} × C: 1.1, the
 * margin the probe controller itself adds over a step's rate (a result that much above C could confirm a step the
 * link cannot carry).
 */
class ProbeMeasurementTest {

    private static final double TOLERANCE = 1.1;

    private static LinkSim probing(long capacityBps, long appBps, long probeBps, long seed) {
        LinkSim sim = new LinkSim(capacityBps, 0, seed, ProbeLoop.CONFIG);
        sim.appRateBps = appBps;
        sim.prober = new Prober(Prober.Config.padding());
        sim.probeTargetBps = probeBps;
        return sim;
    }

    private static void assertNeverAbove(LinkSim sim, long capacityBps, String what) {
        System.out.printf("[bwe] %s: max estimate %d (C %d), results %s%n", what, sim.maxEstimate, capacityBps,
                sim.probeResults.stream().map(r -> r.bps() / 1000 + "k").toList());
        assertTrue(sim.prober.clusters() >= 3, "probed: " + sim.prober.clusters());
        for (DownlinkEstimator.ProbeResult r : sim.probeResults) {
            assertTrue(r.bps() <= TOLERANCE * capacityBps, what + ": a probe measured " + r.bps());
        }
        assertTrue(sim.maxEstimate <= TOLERANCE * capacityBps, what + ": estimate " + sim.maxEstimate);
    }

    @Test
    void arrivalsBunchedByAReceiverStallDoNotInflateTheResult() {
        // the receiver reads the first 100 ms of every probe's arrivals only at once (its thread was busy): their
        // arrival times are bunched at the end of the stall, as if they came in no time
        LinkSim sim = probing(1_000_000, 300_000, 2_000_000, 61);
        long[] stall = {Long.MAX_VALUE, Long.MAX_VALUE};
        long[] seen = {0};
        sim.onTick = t -> {
            if (sim.prober.clusters() != seen[0]) {
                seen[0] = sim.prober.clusters();
                long start = (t - 1) * 1000 + sim.oneWayMicros;
                stall[0] = start;
                stall[1] = start + 100_000;
            }
        };
        sim.rxReadAt = a -> a >= stall[0] && a < stall[1] ? stall[1] : a;
        sim.runUntil(30_000);
        assertNeverAbove(sim, 1_000_000, "receiver stalls at each probe's start");
    }

    @Test
    void aTokenBucketsBurstDoesNotPassForCapacity() {
        // netlab's tc tbf on a 400 kbit/s subscriber: a 3028-byte bucket and a 300 ms queue; the subscriber gets a
        // 150 kbit/s layer and the server probes for the next step (550 kbit/s): a short cluster fits in the bucket
        LinkSim sim = probing(400_000, 150_000, 550_000, 62);
        sim.bucketBytes = 3028;
        sim.runUntil(40_000);
        assertNeverAbove(sim, 400_000, "tbf 400 kbit/s, 3028-byte bucket");
    }

    @Test
    void aStarvedProberDoesNotSendItsClusterAsOneBurst() {
        // the prober's timer fires up to 40 ms late: overdue padding sent at once would cross the bucket at line rate
        LinkSim sim = probing(400_000, 150_000, 550_000, 63);
        sim.bucketBytes = 3028;
        sim.proberPollPeriodMillis = 40;
        sim.runUntil(40_000);
        assertNeverAbove(sim, 400_000, "tbf 400 kbit/s, prober polled every 40 ms");
    }
}
