package dev.veil.webrtc.cc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The probe measurement alone: 20 packets of 250 bytes planned at 1 Mbit/s (2 ms apart), times in microseconds. */
class ProbeResultsTest {

    private static final int N = 20;

    private static long feed(long[] send, long[] arrival) {
        ProbeResults r = new ProbeResults();
        r.onCluster(new Prober.Cluster(7, 1_000_000, N, 250));
        long result = -1;
        for (int i = 0; i < send.length; i++) {
            long x = r.onReceived(7, send[i], arrival[i], 250);
            if (x != -1) {
                result = x;
            }
        }
        return result;
    }

    private static long[] paced(long start, long gap) {
        long[] t = new long[N];
        for (int i = 0; i < N; i++) {
            t[i] = start + i * gap;
        }
        return t;
    }

    @Test
    void aFreeLinkMeasuresTheSendRateAndASaturatedOneWhatItCarries() {
        assertEquals(1_000_000, feed(paced(0, 2000), paced(50_000, 2000)), 1000);
        // a 500 kbit/s bottleneck: 4 ms apart on arrival; 95% of it
        assertEquals(475_000, feed(paced(0, 2000), paced(50_000, 4000)), 1000);
    }

    @Test
    void arrivalsReadInOneBurstCountFromTheBurstOn() {
        long[] arrival = paced(50_000, 4000); // 500 kbit/s
        for (int i = 0; i < 8; i++) {
            arrival[i] = arrival[8]; // the receiver read the first nine at once
        }
        long r = feed(paced(0, 2000), arrival);
        assertTrue(r <= 500_000, "bunched arrivals are no capacity: " + r);
        assertTrue(r >= 400_000, "still measures the link: " + r);
    }

    @Test
    void aClusterSentAsOneBurstGivesNoResult() {
        long[] send = paced(0, 100); // 2 ms of a planned 38 ms
        assertEquals(-1, feed(send, paced(50_000, 4000)));
    }

    @Test
    void theLaterHalfCountsWhenTheStartPassedABucketUnqueued() {
        long[] arrival = new long[N];
        for (int i = 0; i < N; i++) { // the first half as sent (a bucket), then 500 kbit/s
            arrival[i] = i < 10 ? 50_000 + i * 2000 : 50_000 + 18_000 + (i - 9) * 4000;
        }
        long r = feed(paced(0, 2000), arrival);
        // over the whole cluster the receive rate would be 714 kbit/s (a result of 678 kbit/s); the later half has
        // one bucket-paced gap left: within 10% of the link
        assertTrue(r <= 550_000, "the later half's rate: " + r);
    }
}
