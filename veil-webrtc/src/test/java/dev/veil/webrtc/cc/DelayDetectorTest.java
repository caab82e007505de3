package dev.veil.webrtc.cc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.veil.webrtc.cc.DelayDetector.Usage;
import org.junit.jupiter.api.Test;

class DelayDetectorTest {

    /** Feeds packets sent every {@code spacing} µs whose one-way delay grows by {@code growth} µs per packet. */
    private static Usage feed(DelayDetector d, int packets, long start, long spacing, long baseDelay, long growth) {
        Usage u = d.usage();
        for (int i = 0; i < packets; i++) {
            long send = start + i * spacing;
            u = d.onPacket(send, send + baseDelay + i * growth + 5_000_000);
        }
        return u;
    }

    @Test
    void steadyDelayIsNormal() {
        DelayDetector d = new DelayDetector();
        assertEquals(Usage.NORMAL, feed(d, 500, 0, 10_000, 30_000, 0));
    }

    @Test
    void aGrowingQueueIsOveruseAndADrainingOneUnderuse() {
        DelayDetector d = new DelayDetector();
        feed(d, 100, 0, 10_000, 30_000, 0);
        // sending 10% above capacity: each packet waits 1 ms more than the one before
        assertEquals(Usage.OVERUSE, feed(d, 60, 1_000_000, 10_000, 30_000, 1_000));
        assertTrue(d.modifiedTrend() > d.thresholdMs());
        DelayDetector e = new DelayDetector();
        feed(e, 100, 0, 10_000, 200_000, 0);
        assertEquals(Usage.UNDERUSE, feed(e, 60, 1_000_000, 10_000, 200_000, -1_000));
    }

    @Test
    void packetsWithin5msOfSendingFormOneGroup() {
        DelayDetector d = new DelayDetector();
        // bursts of 4 packets 1 ms apart every 40 ms: the burst's internal queueing is not a trend
        for (int g = 0; g < 200; g++) {
            for (int k = 0; k < 4; k++) {
                long send = g * 40_000L + k * 1_000;
                d.onPacket(send, send + 20_000 + k * 3_000);
            }
        }
        assertEquals(Usage.NORMAL, d.usage());
    }

    @Test
    void anArrivalClockJumpRestartsInsteadOfSignalling() {
        DelayDetector d = new DelayDetector();
        feed(d, 100, 0, 10_000, 30_000, 0);
        d.onPacket(1_000_000, 60_000_000);
        assertEquals(Usage.NORMAL, feed(d, 100, 1_010_000, 10_000, 59_000_000, 0));
    }

    @Test
    void thresholdStaysWithinItsBounds() {
        DelayDetector d = new DelayDetector();
        feed(d, 2000, 0, 10_000, 30_000, 0);
        assertTrue(d.thresholdMs() >= 6.0 && d.thresholdMs() <= 600.0, "threshold " + d.thresholdMs());
    }
}
