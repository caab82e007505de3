package dev.veil.e2ee.key;

/**
 * A {@link ReplayWindow} over a counter that wraps modulo a small number, such as JFrame's IV counter
 * ({@code sendCount % 0xFFFF}, so values 0..65534). Each received value is mapped to an unwrapped 64-bit index
 * relative to the highest accepted one: a value up to {@code modulus / 2} ahead is ahead, anything else is behind
 * (RFC 3550 appendix A.1 style). The index then goes through the ordinary 128-counter window.
 *
 * Not thread-safe; allocation-free.
 */
public final class WrappingReplayWindow {
    private final int modulus;
    private final ReplayWindow window = new ReplayWindow();
    private long highestIndex;

    /** @param modulus the counter wraps from {@code modulus - 1} to 0; at least {@code 2 * ReplayWindow.SIZE} */
    public WrappingReplayWindow(int modulus) {
        if (modulus < 2 * ReplayWindow.SIZE) {
            throw new IllegalArgumentException("modulus too small: " + modulus);
        }
        this.modulus = modulus;
    }

    /** The unwrapped index of {@code value}, or -1 if it is outside {@code [0, modulus)}. */
    private long index(int value) {
        if (value < 0 || value >= modulus) {
            return -1;
        }
        if (window.isEmpty()) {
            // Start far from zero so that "behind" indices of the first epoch stay positive.
            return (long) modulus * 1024 + value;
        }
        long cur = Math.floorMod(highestIndex, (long) modulus);
        long ahead = Math.floorMod(value - cur, (long) modulus);
        return ahead <= modulus / 2 ? highestIndex + ahead : highestIndex - (modulus - ahead);
    }

    /** True if {@code value} would move the window forward (or the window is empty); false if out of range. */
    public boolean isAhead(int value) {
        long idx = index(value);
        return idx >= 0 && (window.isEmpty() || idx > highestIndex);
    }

    /** True if {@code value} was not accepted yet and is not older than the window. */
    public boolean isFresh(int value) {
        long idx = index(value);
        return idx >= 0 && window.isFresh(idx);
    }

    /** Marks {@code value} as accepted; call only after {@link #isFresh} and a successful decryption. */
    public void accept(int value) {
        long idx = index(value);
        if (idx < 0) {
            return;
        }
        window.accept(idx);
        highestIndex = window.highest();
    }
}
