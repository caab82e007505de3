package dev.veil.webrtc.srtp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

class ReplayWindowTest {
    @Test
    void check_emptyWindow_acceptsAnything() {
        ReplayWindow w = new ReplayWindow();
        assertNull(w.check(0));
        assertNull(w.check(123456789L));
    }

    @Test
    void check_afterAccept_rejectsDuplicateAndTooOld() {
        ReplayWindow w = new ReplayWindow();
        w.accept(1000);
        assertEquals(SrtpRejection.REPLAY, w.check(1000));
        assertNull(w.check(999));
        assertNull(w.check(1000 - 127));
        assertEquals(SrtpRejection.TOO_OLD, w.check(1000 - 128));
        assertNull(w.check(1001));
    }

    @Test
    void accept_bigJump_clearsHistory() {
        ReplayWindow w = new ReplayWindow();
        for (int i = 0; i < 200; i++) {
            w.accept(i);
        }
        w.accept(10_000);
        assertNull(w.check(9_999));
        assertEquals(SrtpRejection.REPLAY, w.check(10_000));
        assertEquals(SrtpRejection.TOO_OLD, w.check(199));
    }

    @Test
    void accept_acrossWordBoundary_keepsBits() {
        ReplayWindow w = new ReplayWindow();
        w.accept(10);
        w.accept(80); // shift 70: bit for 10 moves to position 70 (second word)
        assertEquals(SrtpRejection.REPLAY, w.check(10));
        assertNull(w.check(11));
        w.accept(11);
        assertEquals(SrtpRejection.REPLAY, w.check(11));
        w.accept(100); // shift 20: 10 at position 90, 80 at 20
        assertEquals(SrtpRejection.REPLAY, w.check(10));
        assertEquals(SrtpRejection.REPLAY, w.check(80));
        assertNull(w.check(79));
    }
}
