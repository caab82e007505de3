package dev.veil.e2ee.key;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.BitSet;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class ReplayWindowTest {

    @Test
    void isFresh_acceptedCounter_isReplay() {
        ReplayWindow w = new ReplayWindow();
        assertTrue(w.isFresh(5));
        w.accept(5);
        assertFalse(w.isFresh(5));
        assertTrue(w.isFresh(4));
        assertTrue(w.isFresh(6));
    }

    @Test
    void isFresh_edgeOfWindow() {
        ReplayWindow w = new ReplayWindow();
        w.accept(1000);
        assertTrue(w.isFresh(1000 - 127));
        assertFalse(w.isFresh(1000 - 128));
        w.accept(1000 - 127);
        assertFalse(w.isFresh(1000 - 127));
    }

    @Test
    void accept_unsignedCountersNearTop() {
        ReplayWindow w = new ReplayWindow();
        w.accept(-2L); // 2^64 - 2
        assertTrue(w.isFresh(-1L));
        assertFalse(w.isFresh(-2L));
        assertFalse(w.isFresh(0L), "0 is 2^64-2 behind: too old");
        w.accept(-1L);
        assertFalse(w.isFresh(-1L));
        assertTrue(w.isFresh(-3L));
    }

    @Test
    void accept_largeJumpClearsWindow() {
        ReplayWindow w = new ReplayWindow();
        w.accept(1);
        w.accept(1 + 64);
        assertFalse(w.isFresh(1));
        w.accept(1 + 64 + 200);
        assertTrue(w.isFresh(1 + 64 + 200 - 100));
        assertFalse(w.isFresh(1 + 64));
    }

    /** Model check against a plain set of accepted counters over seeded random sequences. */
    @Test
    void randomSequences_matchModel() {
        SplittableRandom rnd = new SplittableRandom(7);
        for (int run = 0; run < 200; run++) {
            ReplayWindow w = new ReplayWindow();
            BitSet seen = new BitSet();
            long highest = -1;
            for (int i = 0; i < 500; i++) {
                int c = (int) Math.max(0, (highest < 0 ? 0 : highest) + rnd.nextInt(-150, 40));
                boolean expectFresh = !seen.get(c) && (highest < 0 || c > highest - 128);
                assertTrue(expectFresh == w.isFresh(c), "run " + run + " counter " + c);
                if (expectFresh) {
                    w.accept(c);
                    seen.set(c);
                    highest = Math.max(highest, c);
                }
            }
        }
    }

    @Test
    void wrapping_acrossModulus() {
        WrappingReplayWindow w = new WrappingReplayWindow(0xFFFF);
        w.accept(65533);
        assertTrue(w.isFresh(65534));
        w.accept(65534);
        assertTrue(w.isFresh(0));
        w.accept(0);
        w.accept(1);
        assertFalse(w.isFresh(65534));
        assertFalse(w.isFresh(0));
        assertTrue(w.isFresh(2));
        assertFalse(w.isFresh(65535), "outside the modulus");
        assertFalse(w.isFresh(-1));
        assertFalse(w.isFresh(1 + 65535 / 2 + 1), "more than half the modulus ahead counts as behind: too old");
    }

    @Test
    void wrapping_tooSmallModulus_throws() {
        assertThrows(IllegalArgumentException.class, () -> new WrappingReplayWindow(100));
    }
}
