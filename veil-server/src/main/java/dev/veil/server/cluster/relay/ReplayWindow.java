package dev.veil.server.cluster.relay;

/**
 * A sliding anti-replay window over 64-bit datagram counters (as SRTP's and IPsec's): a counter is accepted once,
 * and only if it is newer than {@code highest - SIZE}. {@link #check} does not change the window; {@link #accept}
 * records a counter after its datagram authenticated (a forged datagram never moves the window).
 */
final class ReplayWindow {
  static final int SIZE = 1024;
  private final long[] bits = new long[SIZE / 64];
  private long highest; // 0: nothing accepted yet (counters start at 1)

  /** Whether {@code counter} is new: ahead of the window or inside it and not seen. */
  boolean check(long counter) {
    if (counter <= 0) {
      return false;
    }
    if (counter > highest) {
      return true;
    }
    if (highest - counter >= SIZE) {
      return false;
    }
    return !get(counter);
  }

  /** Records {@code counter} (which {@link #check} accepted). */
  void accept(long counter) {
    if (counter > highest) {
      long gap = counter - highest;
      if (gap >= SIZE) {
        java.util.Arrays.fill(bits, 0L);
      } else {
        for (long c = highest + 1; c < counter; c++) {
          clear(c);
        }
      }
      highest = counter;
    }
    set(counter);
  }

  long highest() {
    return highest;
  }

  private boolean get(long c) {
    int i = (int) (c % SIZE);
    return (bits[i >>> 6] & (1L << (i & 63))) != 0;
  }

  private void set(long c) {
    int i = (int) (c % SIZE);
    bits[i >>> 6] |= 1L << (i & 63);
  }

  private void clear(long c) {
    int i = (int) (c % SIZE);
    bits[i >>> 6] &= ~(1L << (i & 63));
  }
}
