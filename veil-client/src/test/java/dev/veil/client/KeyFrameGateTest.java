package dev.veil.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The key-frame gate on a manual clock: a loss sends a PLI at once, PLIs of one SSRC at least 300 ms apart and
 * repeated while no key frame comes; delta frames wait for the key frame; a key frame newer than a loss
 * makes the loss moot; streams are independent.
 */
class KeyFrameGateTest {
    private static final long A = 0xA1L;
    private static final long B = 0xB2L;

    @Test
    void aLossSendsOnePli_deltaFramesWaitForTheKeyFrame_thePliRepeatsUntilItComes() {
        KeyFrameGate g = new KeyFrameGate();
        long now = 10_000;
        assertTrue(g.admit(A, false, now), "no loss: frames pass");
        assertEquals(Long.MAX_VALUE, g.nextTimeoutMillis());
        g.onLoss(A, now, now);
        assertTrue(g.waiting(A));
        assertFalse(g.waiting(B));
        assertEquals(now, g.nextTimeoutMillis());
        assertEquals(List.of(A), g.poll(now));
        g.onLoss(A, now + 10, now + 10); // another loss while waiting: no second PLI
        assertEquals(List.of(), g.poll(now + 10));
        assertFalse(g.admit(A, false, now + 20));
        assertFalse(g.admit(A, false, now + 40));
        assertTrue(g.admit(B, false, now + 40), "another stream is not held");
        assertEquals(now + KeyFrameGate.RETRY_MILLIS, g.nextTimeoutMillis());
        assertEquals(List.of(A), g.poll(now + KeyFrameGate.RETRY_MILLIS), "no key frame yet: asked again");
        assertTrue(g.admit(A, true, now + 1_100));
        assertTrue(g.admit(A, false, now + 1_120));
        assertEquals(Long.MAX_VALUE, g.nextTimeoutMillis());
        assertEquals(2, g.plis(A));
        assertEquals(2, g.dropped(A));
        assertEquals(0, g.plis(B));
    }

    @Test
    void plisOfOneStreamAreAtLeastTheMinimumIntervalApart_andAKeyFrameNewerThanALossMakesItMoot() {
        KeyFrameGate g = new KeyFrameGate();
        long now = 50_000;
        g.onLoss(A, now, now);
        assertEquals(List.of(A), g.poll(now));
        assertTrue(g.admit(A, true, now + 50));
        // a loss found before that key frame (a NACKed packet given up late): the key frame repaired it already
        g.onLoss(A, now + 20, now + 1_000);
        assertFalse(g.waiting(A));
        // a new loss 100 ms after the PLI: the next PLI waits until 300 ms after the last one
        g.onLoss(A, now + 100, now + 100);
        assertEquals(now + KeyFrameGate.MIN_INTERVAL_MILLIS, g.nextTimeoutMillis());
        assertEquals(List.of(), g.poll(now + 299));
        assertEquals(List.of(A), g.poll(now + KeyFrameGate.MIN_INTERVAL_MILLIS));
        g.remove(A);
        assertEquals(Long.MAX_VALUE, g.nextTimeoutMillis());
        assertTrue(g.admit(A, false, now + 400));
    }
}
