package dev.veil.e2ee.key;

/**
 * A sliding replay window over unsigned 64-bit frame counters (the SFrame CTR), in the style of RFC 4303 section
 * 3.4.3 and RFC 3711 section 3.3.2: the highest counter accepted so far and a 128-bit bitmap of the 128 counters at
 * and below it.
 *
 * <pre>
 *   counter &gt; highest                       fresh (the window slides forward on accept)
 *   highest - 127 &lt;= counter &lt;= highest     fresh unless its bit is set
 *   counter &lt; highest - 127                 too old: rejected as a replay
 * </pre>
 *
 * Use: {@link #isFresh} before spending a decryption, {@link #accept} only once the frame has authenticated, so that
 * forged frames can never move the window. Not thread-safe; allocation-free.
 */
public final class ReplayWindow {
    /** Number of counters the window remembers. */
    public static final int SIZE = 128;

    private boolean empty = true;
    private long highest;
    /** Bit i: counter {@code highest - i} was accepted (i in 0..63). */
    private long low;
    /** Bit i: counter {@code highest - 64 - i} was accepted (i in 0..63). */
    private long high;

    /** True if {@code counter} (unsigned) has not been accepted and is not older than the window. */
    public boolean isFresh(long counter) {
        if (empty || Long.compareUnsigned(counter, highest) > 0) {
            return true;
        }
        long diff = highest - counter; // unsigned, counter <= highest
        if (Long.compareUnsigned(diff, SIZE) >= 0) {
            return false;
        }
        int d = (int) diff;
        long word = d < 64 ? low : high;
        return (word & (1L << (d & 63))) == 0;
    }

    /** Marks {@code counter} (unsigned) as accepted. Call only after {@link #isFresh} and a successful decryption. */
    public void accept(long counter) {
        if (empty) {
            empty = false;
            highest = counter;
            low = 1L;
            high = 0L;
            return;
        }
        if (Long.compareUnsigned(counter, highest) > 0) {
            long shift = counter - highest;
            if (Long.compareUnsigned(shift, SIZE) >= 0) {
                low = 0L;
                high = 0L;
            } else if (shift >= 64) {
                high = low << (shift - 64);
                low = 0L;
            } else {
                int s = (int) shift;
                high = (high << s) | (low >>> (64 - s));
                low = low << s;
            }
            low |= 1L;
            highest = counter;
            return;
        }
        long diff = highest - counter;
        if (Long.compareUnsigned(diff, SIZE) >= 0) {
            return;
        }
        int d = (int) diff;
        if (d < 64) {
            low |= 1L << d;
        } else {
            high |= 1L << (d - 64);
        }
    }

    /** The highest accepted counter (unsigned); 0 while {@link #isEmpty()}. */
    public long highest() {
        return highest;
    }

    /** True until the first {@link #accept}. */
    public boolean isEmpty() {
        return empty;
    }
}
