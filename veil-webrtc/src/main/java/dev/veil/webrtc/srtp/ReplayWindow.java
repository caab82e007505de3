package dev.veil.webrtc.srtp;

/**
 * A sliding replay window of {@value #SIZE} packet indices (RFC 3711 §3.3.2), as two 64-bit words.
 *
 * <p>Bit {@code k} set means index {@code top - k} was received. {@link #check} is done before authentication and
 * {@link #accept} only after it, so forged packets never move the window.
 */
final class ReplayWindow {
    static final int SIZE = 128;

    private long top = -1;
    private long low;
    private long high;

    /** Null if {@code index} may be accepted, else why not. */
    SrtpRejection check(long index) {
        if (top < 0 || index > top) {
            return null;
        }
        long delta = top - index;
        if (delta >= SIZE) {
            return SrtpRejection.TOO_OLD;
        }
        return isSet((int) delta) ? SrtpRejection.REPLAY : null;
    }

    void accept(long index) {
        if (index > top) {
            long shift = top < 0 ? SIZE : index - top;
            shiftLeft(shift);
            top = index;
            low |= 1L;
        } else {
            long delta = top - index;
            if (delta < SIZE) {
                set((int) delta);
            }
        }
    }

    long top() {
        return top;
    }

    private boolean isSet(int k) {
        return k < 64 ? (low & (1L << k)) != 0 : (high & (1L << (k - 64))) != 0;
    }

    private void set(int k) {
        if (k < 64) {
            low |= 1L << k;
        } else {
            high |= 1L << (k - 64);
        }
    }

    private void shiftLeft(long n) {
        if (n >= SIZE) {
            low = 0;
            high = 0;
        } else if (n >= 64) {
            high = low << (n - 64);
            low = 0;
        } else if (n > 0) {
            high = (high << n) | (low >>> (64 - n));
            low <<= n;
        }
    }
}
