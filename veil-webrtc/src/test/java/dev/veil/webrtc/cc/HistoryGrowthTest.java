package dev.veil.webrtc.cc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** {@link SendHistory} and {@link AckedRate} start small and grow only as far as the send rate needs. */
class HistoryGrowthTest {

    @Test
    void sendHistory_slowSubscriber_keepsTheSmallRing() {
        SendHistory h = new SendHistory(4096, 0);
        for (int i = 0; i < 10_000; i++) {
            h.add(1200, i * 10_000L); // 100 packets/s: 256 slots hold 2.56 s
        }
        assertEquals(SendHistory.INITIAL_CAPACITY, h.capacity());
        assertTrue(h.contains(9_999) && h.contains(10_000 - 256) && !h.contains(10_000 - 257));
    }

    @Test
    void sendHistory_fastSubscriber_growsToKeepTwoSecondsOfUnreportedPackets_everyPacketIntact() {
        SendHistory h = new SendHistory(4096, 65_000); // the 16-bit start wraps: extended numbers go on
        long first = h.nextSequence();
        for (int i = 0; i < 6_000; i++) {
            long ext = h.add(1000 + (i % 200), i * 1_000L, i % 7 == 0 ? i % 5 : -1); // 1,000 packets/s
            assertEquals(first + i, ext);
        }
        assertEquals(2048, h.capacity(), "2 s at 1,000 packets/s needs 2,000 slots");
        for (int i = 6_000 - 2_000; i < 6_000; i++) {
            long ext = first + i;
            assertTrue(h.contains(ext), "packet " + i + " of the last 2 s");
            assertEquals(1000 + (i % 200), h.bytes(ext));
            assertEquals(i * 1_000L, h.sendMicros(ext));
            assertEquals(i % 7 == 0 ? i % 5 : -1, h.cluster(ext));
            assertEquals(SendHistory.UNREPORTED, h.state(ext));
        }
    }

    @Test
    void sendHistory_reportedPackets_makeRoomWithoutGrowing() {
        SendHistory h = new SendHistory(4096, 0);
        for (int i = 0; i < 6_000; i++) {
            long ext = h.add(1200, i * 1_000L);
            h.setState(ext, i % 3 == 0 ? SendHistory.LOST : SendHistory.RECEIVED); // feedback right away
        }
        assertEquals(SendHistory.INITIAL_CAPACITY, h.capacity());
    }

    @Test
    void sendHistory_neverPastItsMaximum() {
        SendHistory h = new SendHistory(512, 0);
        for (int i = 0; i < 5_000; i++) {
            h.add(1200, i * 100L); // 10,000 packets/s
        }
        assertEquals(512, h.capacity());
        assertTrue(h.contains(4_999) && h.contains(5_000 - 512) && !h.contains(5_000 - 513));
    }

    @Test
    void ackedRate_growsWhileTheWindowHoldsMore_andMeasuresTheSameRate() {
        AckedRate small = new AckedRate(500_000, 4096);
        for (int i = 0; i < 1_000; i++) {
            small.add(i * 10_000L, 1000); // 100 packets/s: 50 in the window
        }
        assertEquals(AckedRate.INITIAL_CAPACITY, small.capacity());
        assertEquals(800_000, small.bps(), 20_000);

        AckedRate fast = new AckedRate(500_000, 4096);
        for (int i = 0; i < 20_000; i++) {
            fast.add(i * 200L, 1000); // 5,000 packets/s: 2,500 in the window
        }
        assertEquals(4096, fast.capacity());
        assertEquals(40_000_000, fast.bps(), 200_000);

        AckedRate capped = new AckedRate(500_000, 1024);
        for (int i = 0; i < 20_000; i++) {
            capped.add(i * 200L, 1000);
        }
        assertEquals(1024, capped.capacity(), "never past its maximum: older packets fall off");
    }
}
