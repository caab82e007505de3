package dev.veil.webrtc.cc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.veil.webrtc.rtcp.RtcpCompound;
import dev.veil.webrtc.rtcp.TransportFeedback;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The receive side of transport-wide congestion control, on a manual clock. */
class TransportFeedbackGeneratorTest {

    private static final long SENDER = 0xAABBCCDDL;
    private static final long MEDIA = 0x11223344L;
    /** Arrival clock origin (µs), not a multiple of 64 ms, so the reference time arithmetic is exercised. */
    private static final long T0 = 1_000_123_456L;

    private static TransportFeedbackGenerator gen() {
        return new TransportFeedbackGenerator(SENDER, TransportFeedbackGenerator.Config.defaults());
    }

    private static List<TransportFeedback> drain(TransportFeedbackGenerator g) {
        List<TransportFeedback> out = new ArrayList<>();
        TransportFeedback f;
        while ((f = g.pollOutput()) != null) {
            out.add(f);
        }
        return out;
    }

    /** Sequence number → arrival in 250 µs ticks, decoded the way a sender does (after a wire round trip). */
    private static Map<Integer, Long> arrivals(List<TransportFeedback> fbs) throws Exception {
        Map<Integer, Long> m = new HashMap<>();
        for (TransportFeedback fb : fbs) {
            TransportFeedback wire = (TransportFeedback) RtcpCompound.parse(fb.encode()).get(0);
            assertEquals(fb, wire);
            long[] t = wire.arrivalTicks();
            for (int i = 0; i < t.length; i++) {
                assertNull(m.put(wire.received().get(i).sequence(), t[i]), "reported twice");
            }
        }
        return m;
    }

    /** The absolute arrival ticks modulo the 24-bit reference time period, as a sender can know them. */
    private static long ticks(long micros) {
        return Math.floorMod(Math.floorDiv(micros, 250), (1L << 24) * 256);
    }

    @Test
    void reportsEveryPacketOnceEvery100Millis() throws Exception {
        TransportFeedbackGenerator g = gen();
        assertEquals(Long.MAX_VALUE, g.nextTimeoutMillis());
        for (int i = 0; i < 10; i++) {
            g.onPacket(i, MEDIA, T0 + i * 1_000L + (i % 3) * 130, 5_000 + i);
        }
        assertEquals(5_100, g.nextTimeoutMillis(), "100 ms after the first pending packet");
        g.poll(5_099);
        assertNull(g.pollOutput());
        g.poll(5_100);
        List<TransportFeedback> fbs = drain(g);
        assertEquals(1, fbs.size());
        TransportFeedback fb = fbs.get(0);
        assertEquals(SENDER, fb.senderSsrc());
        assertEquals(MEDIA, fb.mediaSsrc());
        assertEquals(0, fb.baseSequence());
        assertEquals(10, fb.packetStatusCount());
        assertEquals(0, fb.feedbackPacketCount());
        Map<Integer, Long> a = arrivals(fbs);
        for (int i = 0; i < 10; i++) {
            assertEquals(ticks(T0 + i * 1_000L + (i % 3) * 130), a.get(i), "seq " + i);
        }
        assertEquals(Long.MAX_VALUE, g.nextTimeoutMillis(), "nothing pending");
        // the next packet: due 100 ms after the last round, not earlier
        g.onPacket(10, MEDIA, T0 + 50_000, 5_130);
        assertEquals(5_200, g.nextTimeoutMillis());
        g.poll(5_200);
        TransportFeedback next = g.pollOutput();
        assertEquals(10, next.baseSequence());
        assertEquals(1, next.packetStatusCount());
        assertEquals(1, next.feedbackPacketCount());
        // after a long silence a packet is reported at once on the next poll
        g.onPacket(11, MEDIA, T0 + 9_000_000, 14_000);
        assertEquals(14_000, g.nextTimeoutMillis());
    }

    @Test
    void sequenceNumbersWrap() throws Exception {
        TransportFeedbackGenerator g = gen();
        for (int i = 0; i < 12; i++) {
            g.onPacket((65530 + i) & 0xFFFF, MEDIA, T0 + i * 500L, 0);
        }
        g.poll(100);
        List<TransportFeedback> fbs = drain(g);
        assertEquals(1, fbs.size());
        assertEquals(65530, fbs.get(0).baseSequence());
        assertEquals(12, fbs.get(0).packetStatusCount());
        Map<Integer, Long> a = arrivals(fbs);
        assertEquals(ticks(T0 + 11 * 500L), a.get(5));
        assertEquals(12, a.size());
    }

    @Test
    void lossesReorderingAndDuplicates() throws Exception {
        TransportFeedbackGenerator g = gen();
        g.onPacket(100, MEDIA, T0, 0);
        g.onPacket(103, MEDIA, T0 + 1_000, 1);   // 101, 102 missing so far
        g.onPacket(101, MEDIA, T0 + 2_000, 2);   // reordered: arrives after 103
        g.onPacket(103, MEDIA, T0 + 9_000, 3);   // duplicate: the first arrival stays
        g.onPacket(105, MEDIA, T0 + 3_000, 4);
        g.poll(100);
        List<TransportFeedback> fbs = drain(g);
        assertEquals(1, fbs.size());
        assertEquals(100, fbs.get(0).baseSequence());
        assertEquals(6, fbs.get(0).packetStatusCount());
        Map<Integer, Long> a = arrivals(fbs);
        assertEquals(Map.of(100, ticks(T0), 101, ticks(T0 + 2_000), 103, ticks(T0 + 1_000), 105, ticks(T0 + 3_000)),
                a);
        // 103 after 101 in sequence order arrived earlier: a negative (large) delta
        assertTrue(fbs.get(0).received().get(2).delta() < 0);
        assertEquals(1, g.stats().duplicates());
        // 102 arrives after it was reported lost: late, not reported again
        g.onPacket(102, MEDIA, T0 + 4_000, 150);
        g.onPacket(106, MEDIA, T0 + 5_000, 150);
        g.poll(250);
        TransportFeedback next = g.pollOutput();
        assertEquals(106, next.baseSequence());
        assertEquals(1, next.packetStatusCount());
        assertEquals(1, g.stats().late());
    }

    @Test
    void aJumpBeyondTheWindowReportsWhatIsPendingAndRestarts() throws Exception {
        TransportFeedbackGenerator g = gen();
        for (int i = 0; i < 3; i++) {
            g.onPacket(i, MEDIA, T0 + i, 0);
        }
        g.onPacket(20_000, MEDIA, T0 + 100, 10);
        TransportFeedback first = g.pollOutput();
        assertEquals(0, first.baseSequence());
        assertEquals(3, first.packetStatusCount(), "the pending packets are reported before the restart");
        assertNull(g.pollOutput());
        g.poll(g.nextTimeoutMillis());
        TransportFeedback second = g.pollOutput();
        assertEquals(20_000, second.baseSequence());
        assertEquals(1, second.packetStatusCount());
        assertEquals(1, g.stats().restarts());
    }

    @Test
    void aGapWithinTheWindowIsOneRunOfLosses() throws Exception {
        TransportFeedbackGenerator g = gen();
        g.onPacket(0, MEDIA, T0, 0);
        g.onPacket(1_500, MEDIA, T0 + 40_000, 1); // within the default window of 2048
        g.poll(100);
        List<TransportFeedback> fbs = drain(g);
        assertEquals(1, fbs.size());
        assertEquals(1_501, fbs.get(0).packetStatusCount());
        assertTrue(fbs.get(0).encodedLength() <= 32, "a run length chunk covers the gap");
        assertEquals(Map.of(0, ticks(T0), 1_500, ticks(T0 + 40_000)), arrivals(fbs));
    }

    @Test
    void aReceiveDeltaOver8SecondsStartsANewPacket() throws Exception {
        TransportFeedbackGenerator g = gen();
        g.onPacket(7, MEDIA, T0, 0);
        g.onPacket(8, MEDIA, T0 + 9_000_000, 0); // 9 s later: 36000 ticks do not fit 16 bits signed
        g.poll(100);
        List<TransportFeedback> fbs = drain(g);
        assertEquals(2, fbs.size());
        assertEquals(7, fbs.get(0).baseSequence());
        assertEquals(8, fbs.get(1).baseSequence());
        assertEquals(1, fbs.get(1).feedbackPacketCount());
        assertEquals(Map.of(7, ticks(T0), 8, ticks(T0 + 9_000_000)), arrivals(fbs));
    }

    @Test
    void manyPendingPacketsAreSplitByMaxPacketSizeAndMakeTheRoundDue() throws Exception {
        TransportFeedbackGenerator g = new TransportFeedbackGenerator(SENDER,
                new TransportFeedbackGenerator.Config(100, 400, 1024, 96));
        Random r = new Random(7);
        Map<Integer, Long> expected = new HashMap<>();
        long t = T0;
        for (int i = 0; i < 399; i++) {
            t += r.nextInt(3) == 0 ? 20_000 : 100; // many large deltas
            if (i == 0 || r.nextInt(5) != 0) {
                g.onPacket(i, MEDIA, t, 0);
                expected.put(i, ticks(t));
            }
        }
        g.onPacket(399, MEDIA, t + 1, 3);
        expected.put(399, ticks(t + 1));
        assertEquals(3, g.nextTimeoutMillis(), "400 pending sequence numbers: due at once");
        g.poll(3);
        List<TransportFeedback> fbs = drain(g);
        assertTrue(fbs.size() > 3, "split into several packets: " + fbs.size());
        int nextBase = 0;
        for (TransportFeedback fb : fbs) {
            assertTrue(fb.encodedLength() <= 96, "packet of " + fb.encodedLength());
            assertEquals(nextBase, fb.baseSequence(), "consecutive ranges");
            nextBase = fb.baseSequence() + fb.packetStatusCount();
        }
        assertEquals(400, nextBase);
        assertEquals(expected, arrivals(fbs));
    }

    @Test
    void hostileSequenceNumbersNeverBreakItOrGrowIt() throws Exception {
        TransportFeedbackGenerator g = new TransportFeedbackGenerator(SENDER,
                new TransportFeedbackGenerator.Config(100, 250, 1024, 1100));
        Random r = new Random(99);
        long now = 0;
        int produced = 0;
        for (int i = 0; i < 200_000; i++) {
            int seq = switch (r.nextInt(4)) {
                case 0 -> r.nextInt(0x10000);
                case 1 -> 0x7FFF + r.nextInt(3);
                default -> i & 0xFFFF;
            };
            g.onPacket(seq, r.nextLong() & 0xFFFF_FFFFL, now * 1000 + r.nextInt(100_000_000), now);
            if (r.nextInt(50) == 0) {
                now += 10;
            }
            if (g.nextTimeoutMillis() <= now) {
                g.poll(now);
            }
            TransportFeedback f;
            while ((f = g.pollOutput()) != null) {
                assertTrue(f.encodedLength() <= 1100);
                assertEquals(f, RtcpCompound.parse(f.encode()).get(0));
                produced++;
            }
        }
        assertTrue(produced > 0);
        TransportFeedbackGenerator.Stats s = g.stats();
        assertEquals(200_000, s.packets());
        assertTrue(s.late() + s.duplicates() + s.restarts() > 0);
    }
}
