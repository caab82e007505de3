package dev.veil.webrtc.cc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ProberTest {

    private static final DownlinkEstimator.Config CONFIG = new DownlinkEstimator.Config(300_000, 50_000, 5_000_000,
            1500, 500);

    private static List<Long> drain(Prober p, long from, long to) {
        List<Long> times = new ArrayList<>();
        for (long t = from; t <= to; t++) {
            if (p.nextTimeoutMillis() <= t) {
                p.poll(t);
            }
            while (p.pollOutput() != null) {
                times.add(t);
            }
        }
        return times;
    }

    @Test
    void aClusterIsAtLeastFivePacketsAnd15msAtItsRate() {
        Prober p = new Prober(Prober.Config.defaults());
        Prober.Cluster c = p.probe(800_000, 1000);
        assertNotNull(c);
        assertEquals(5, c.packets(), "15 ms at 800 kbit/s is under 5 packets of 1000 bytes");
        List<Long> times = drain(p, 1000, 1100);
        assertEquals(List.of(1000L, 1010L, 1020L, 1030L, 1040L), times, "one 1000-byte packet per 10 ms");
        Prober q = new Prober(Prober.Config.defaults());
        assertEquals(10, q.probe(5_000_000, 0).packets(), "15 ms at 5 Mbit/s");
    }

    @Test
    void oneAtATimeThenAPauseThatDoublesAfterAFailedProbe() {
        Prober p = new Prober(new Prober.Config(5, 15, 1000, 1000, 4000));
        assertNotNull(p.probe(800_000, 0));
        assertNull(p.probe(800_000, 10), "one running");
        drain(p, 0, 100); // ends at 40
        assertNull(p.probe(800_000, 1039), "pause of 1 s after it ended");
        assertNotNull(p.probe(800_000, 1040));
        drain(p, 1040, 1100);
        p.onResult(400_000, 800_000);
        assertEquals(2000, p.intervalMillis(), "failed: doubled");
        p.onResult(400_000, 800_000);
        p.onResult(400_000, 800_000);
        assertEquals(4000, p.intervalMillis(), "capped");
        p.onResult(790_000, 800_000);
        assertEquals(1000, p.intervalMillis(), "reached 90%: reset");
        assertEquals(2, p.clusters());
        assertEquals(Long.MAX_VALUE, p.nextTimeoutMillis());
    }

    @Test
    void withoutProbingAnApplicationLimitedSenderNeverShowsTheHeadroom() {
        LinkSim sim = new LinkSim(2_500_000, 0, 21, CONFIG);
        sim.appRateBps = 150_000;
        sim.runUntil(20_000);
        assertTrue(sim.maxEstimate < 400_000, "capped near 1.5 x what is sent: " + sim.maxEstimate);
    }

    @Test
    void probingFindsTheHeadroomOfAFastLink() {
        LinkSim sim = new LinkSim(2_500_000, 0, 22, CONFIG);
        sim.appRateBps = 150_000;
        sim.prober = new Prober(Prober.Config.defaults());
        sim.probeTargetBps = 1_200_000;
        long took = sim.runUntil(e -> e >= 0.9 * 1_200_000, 20_000);
        System.out.printf("[bwe] probing to 1.2 Mbit/s over a 2.5 Mbit/s link (150 kbit/s sent): %d ms, %d probe"
                + " packets, results %s%n", took, sim.probePackets, sim.probeResults);
        assertTrue(took < 5_000, "took " + took);
        sim.runUntil(sim.nowMillis + 10_000);
        assertTrue(sim.estimate() >= 0.9 * 1_200_000, "holds: " + sim.estimate());
    }

    @Test
    void probingASlowLinkMeasuresItAndBacksOff() {
        LinkSim sim = new LinkSim(400_000, 0, 23, CONFIG);
        sim.appRateBps = 150_000;
        sim.prober = new Prober(Prober.Config.defaults());
        sim.probeTargetBps = 1_200_000;
        sim.runUntil(30_000);
        System.out.printf("[bwe] probing to 1.2 Mbit/s over a 400 kbit/s link: estimate %d (max %d), %d clusters,"
                + " pause now %d ms, results %s%n", sim.estimate(), sim.maxEstimate, sim.prober.clusters(),
                sim.prober.intervalMillis(), sim.probeResults);
        assertTrue(sim.maxEstimate <= 1.3 * 400_000, "never far above the link: " + sim.maxEstimate);
        assertTrue(sim.probeResults.stream().allMatch(r -> r.bps() > 0.6 * 400_000 && r.bps() <= 400_000),
                "each probe measured the link, not its own rate: " + sim.probeResults);
        assertTrue(sim.estimate() >= 150_000, "not below what is sent: " + sim.estimate());
        assertTrue(sim.prober.intervalMillis() >= 8_000, "backed off: " + sim.prober.intervalMillis());
        assertTrue(sim.prober.clusters() < 12, "not probed over and over: " + sim.prober.clusters());
    }

    @Test
    void aLatePollKeepsTheRateAndMarksTheClusterDisturbed() {
        Prober p = new Prober(Prober.Config.padding());
        Prober.Cluster c = p.probe(800_000, 0); // 250-byte packets every 2.5 ms for 250 ms
        assertNotNull(p.pollOutput(), "the first packet at once");
        p.poll(9);
        assertTrue(!p.disturbed(c.id()), "a few ms late: still as planned");
        while (p.pollOutput() != null) {
            continue;
        }
        p.poll(40); // the loop was busy for 30 ms
        int sent = 0;
        while (p.pollOutput() != null) {
            sent++;
        }
        assertEquals(13, sent, "what was due by now (10, 12.5 .. 40 ms) goes together");
        assertTrue(p.disturbed(c.id()));
        assertEquals(1, p.latePolls());
    }

    @Test
    void aClusterNoneOfWhichCouldBeSentIsKnownAtItsEnd() {
        Prober p = new Prober(Prober.Config.padding());
        Prober.Cluster c = p.probe(800_000, 0);
        for (long t = 0; t <= 300; t++) {
            p.poll(t);
            for (Prober.Packet x; (x = p.pollOutput()) != null; ) {
                p.onUnsent(x.cluster());
            }
            if (t == 100) {
                assertTrue(!p.nothingSent(c.id()), "not over yet");
            }
        }
        assertTrue(p.nothingSent(c.id()));
        assertTrue(p.disturbed(c.id()));
        assertEquals(1000, p.intervalMillis(), "no verdict: the pause is unchanged");
    }
}
