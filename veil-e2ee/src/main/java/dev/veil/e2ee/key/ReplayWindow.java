package dev.veil.e2ee.key;

import java.util.Arrays;

/**
 * A sliding replay window over unsigned 64-bit frame counters (the SFrame CTR), in the style of RFC 4303 section
 * 3.4.3, RFC 3711 section 3.3.2 and RFC 6479 (a ring bitmap): the highest counter accepted so far and a bitmap of the
 * {@link #size()} counters at and below it.
 *
 * <pre>
 *   counter &gt; highest                          fresh (the window slides forward on accept)
 *   highest - size + 1 &lt;= counter &lt;= highest    fresh unless its bit is set, and not older than the age floor
 *   counter &lt;= highest - size                   too old: rejected as a replay
 * </pre>
 *
 * <p><b>Age floor</b> (with a {@code maxAgeMillis}, using the {@code nowMillis} variants): the window keeps one
 * checkpoint per {@code maxAgeMillis / 8} period, the last (time, highest accepted counter) of that period. A
 * counter at or below a checkpoint's counter was sent before a frame that had arrived by the checkpoint's time; once
 * that time is more than {@code maxAgeMillis} ago, the counter is rejected even if its bit is clear. So a frame
 * behind the highest is accepted only if a frame sent after it arrived less than {@code maxAgeMillis} (plus at most
 * one period, {@code maxAgeMillis / 8}) ago, however few frames the sender sends; no frame is rejected by the floor
 * before it is {@code maxAgeMillis} old. A counter above the highest is always fresh (it cannot be a replay: counters
 * never repeat under one key).
 *
 * <p>Use: {@link #isFresh} before spending a decryption, {@link #accept} only once the frame has authenticated, so
 * that forged frames can never move the window. Not thread-safe; allocation-free after construction.
 */
public final class ReplayWindow {
    /** Default number of counters the window remembers. */
    public static final int SIZE = 128;
    private static final int CHECKPOINTS = 10;

    private final int size;
    private final long[] bits;
    private final long maxAgeMillis;
    private final long[] cpStart = new long[CHECKPOINTS];
    private final long[] cpTime = new long[CHECKPOINTS];
    private final long[] cpCounter = new long[CHECKPOINTS];
    private int cpHead;
    private int cpCount;
    private boolean hasFloor;
    private long floor;
    private long lastAcceptAt;
    private boolean empty = true;
    private long highest;

    /** A 128-counter window without an age floor. */
    public ReplayWindow() {
        this(SIZE, 0);
    }

    /**
     * @param size counters remembered, a positive multiple of 64
     * @param maxAgeMillis the age floor's bound (see the class comment), 0 for none
     */
    public ReplayWindow(int size, long maxAgeMillis) {
        if (size < 64 || size % 64 != 0 || maxAgeMillis < 0) {
            throw new IllegalArgumentException("window size must be a positive multiple of 64");
        }
        this.size = size;
        this.bits = new long[size / 64];
        this.maxAgeMillis = maxAgeMillis;
    }

    public int size() {
        return size;
    }

    /** True if {@code counter} (unsigned) has not been accepted and is not older than the window. */
    public boolean isFresh(long counter) {
        if (empty || Long.compareUnsigned(counter, highest) > 0) {
            return true;
        }
        long diff = highest - counter; // unsigned, counter <= highest
        if (Long.compareUnsigned(diff, size) >= 0) {
            return false;
        }
        int slot = (int) Long.remainderUnsigned(counter, size);
        return (bits[slot >>> 6] & (1L << (slot & 63))) == 0;
    }

    /** As {@link #isFresh(long)}, and not at or below the age floor at {@code nowMillis}. */
    public boolean isFresh(long counter, long nowMillis) {
        if (!isFresh(counter)) {
            return false;
        }
        if (empty || Long.compareUnsigned(counter, highest) > 0 || maxAgeMillis == 0) {
            return true;
        }
        advanceFloor(nowMillis);
        return !hasFloor || Long.compareUnsigned(counter, floor) > 0;
    }

    /** Marks {@code counter} (unsigned) as accepted. Call only after {@link #isFresh} and a successful decryption. */
    public void accept(long counter) {
        if (empty) {
            empty = false;
            highest = counter;
            set(counter);
            return;
        }
        if (Long.compareUnsigned(counter, highest) > 0) {
            long shift = counter - highest;
            if (Long.compareUnsigned(shift, size) >= 0) {
                Arrays.fill(bits, 0L);
            } else {
                for (long c = highest + 1; c != counter; c++) {
                    clear(c);
                }
            }
            clear(counter);
            highest = counter;
            set(counter);
            return;
        }
        long diff = highest - counter;
        if (Long.compareUnsigned(diff, size) < 0) {
            set(counter);
        }
    }

    /** As {@link #accept(long)}, noting the highest counter for the age floor at {@code nowMillis}. */
    public void accept(long counter, long nowMillis) {
        accept(counter);
        if (maxAgeMillis == 0) {
            return;
        }
        lastAcceptAt = nowMillis;
        advanceFloor(nowMillis);
        int last = (cpHead + cpCount - 1) % CHECKPOINTS;
        if (cpCount > 0 && nowMillis - cpStart[last] < Math.max(1, maxAgeMillis / 8)) {
            cpTime[last] = nowMillis; // one checkpoint per period: the latest (time, highest) of that period
            cpCounter[last] = highest;
            return;
        }
        if (cpCount == CHECKPOINTS) {
            promote(cpHead);
        }
        int slot = (cpHead + cpCount) % CHECKPOINTS;
        if (cpCount < CHECKPOINTS) {
            cpCount++;
        }
        cpStart[slot] = nowMillis;
        cpTime[slot] = nowMillis;
        cpCounter[slot] = highest;
    }

    private void advanceFloor(long nowMillis) {
        while (cpCount > 0 && nowMillis - cpTime[cpHead] > maxAgeMillis) {
            promote(cpHead);
        }
        if (!empty && nowMillis - lastAcceptAt > maxAgeMillis
                && (!hasFloor || Long.compareUnsigned(highest, floor) > 0)) {
            floor = highest; // nothing accepted for maxAge: every counter up to the highest is too old
            hasFloor = true;
        }
    }

    /** Drops the oldest checkpoint into the floor. */
    private void promote(int i) {
        if (!hasFloor || Long.compareUnsigned(cpCounter[i], floor) > 0) {
            floor = cpCounter[i];
            hasFloor = true;
        }
        cpHead = (cpHead + 1) % CHECKPOINTS;
        cpCount--;
    }

    private void set(long c) {
        int slot = (int) Long.remainderUnsigned(c, size);
        bits[slot >>> 6] |= 1L << (slot & 63);
    }

    private void clear(long c) {
        int slot = (int) Long.remainderUnsigned(c, size);
        bits[slot >>> 6] &= ~(1L << (slot & 63));
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
