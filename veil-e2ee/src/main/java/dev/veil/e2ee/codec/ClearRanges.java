package dev.veil.e2ee.codec;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;

/**
 * The ranged frame layout (docs/PROTOCOL.md §2.9), as veil-js's src/e2ee/ranges.js:
 * {@code I ‖ H ‖ R ‖ T ‖ r} where I is the laid-out frame with every byte outside the clear ranges replaced by
 * ciphertext, H the SFrame header, R the ranges as unsigned LEB128 (offset, length) pairs, T the tag and r one byte
 * {@code |H| + |R|}. AAD = {@code H ‖ R ‖ clear bytes}; plaintext = the bytes outside the ranges.
 */
public final class ClearRanges {
    /** CTRs a sender tries before it refuses a frame whose every output held an emulated start code. */
    public static final int MAX_ATTEMPTS = 32;
    /** The largest {@code |H| + |R|}. */
    public static final int MAX_META = 255;

    private ClearRanges() {
    }

    /** The ranges as LEB128 pairs. */
    public static byte[] encode(List<int[]> ranges) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int[] r : ranges) {
            leb(out, r[0]);
            leb(out, r[1]);
        }
        return out.toByteArray();
    }

    private static void leb(ByteArrayOutputStream out, int v) {
        do {
            int b = v & 0x7f;
            v >>>= 7;
            out.write(v != 0 ? b | 0x80 : b);
        } while (v != 0);
    }

    /** Decodes LEB128 pairs, or null if they are malformed, out of order, empty or beyond {@code limit}. */
    public static List<int[]> decode(byte[] b, int off, int len, int limit) {
        List<int[]> ranges = new ArrayList<>();
        int[] pos = {off};
        int end = 0;
        while (pos[0] < off + len) {
            long o = read(b, pos, off + len);
            long l = read(b, pos, off + len);
            if (o < 0 || l <= 0 || o < end || o + l > limit) {
                return null;
            }
            ranges.add(new int[] {(int) o, (int) l});
            end = (int) (o + l);
        }
        return ranges;
    }

    private static long read(byte[] b, int[] pos, int end) {
        long v = 0;
        for (int k = 0; k < 5; k++) {
            if (pos[0] >= end) {
                return -1;
            }
            int x = b[pos[0]++] & 0xff;
            v |= (long) (x & 0x7f) << (7 * k);
            if ((x & 0x80) == 0) {
                return v;
            }
        }
        return -1;
    }

    /** Total clear bytes. */
    public static int clearLength(List<int[]> ranges) {
        int n = 0;
        for (int[] r : ranges) {
            n += r[1];
        }
        return n;
    }

    /** Copies the clear bytes (in order) to {@code clear} and the others to {@code other}. */
    public static void split(byte[] frame, int off, int len, List<int[]> ranges, byte[] clear, byte[] other) {
        int c = 0;
        int p = 0;
        int pos = 0;
        for (int[] r : ranges) {
            System.arraycopy(frame, off + pos, other, p, r[0] - pos);
            p += r[0] - pos;
            System.arraycopy(frame, off + r[0], clear, c, r[1]);
            c += r[1];
            pos = r[0] + r[1];
        }
        System.arraycopy(frame, off + pos, other, p, len - pos);
    }

    /** Writes {@code other[otherOff…]} into the gaps between the ranges of {@code frame[off, off + len)}. */
    public static void fill(byte[] frame, int off, int len, List<int[]> ranges, byte[] other, int otherOff) {
        int p = otherOff;
        int pos = 0;
        for (int[] r : ranges) {
            System.arraycopy(other, p, frame, off + pos, r[0] - pos);
            p += r[0] - pos;
            pos = r[0] + r[1];
        }
        System.arraycopy(other, p, frame, off + pos, len - pos);
    }

    /** True if {@code out} holds 00 00 0x (x &lt;= 3) with any of its bytes outside the ranges (trailer included). */
    public static boolean hasEmulatedStartCode(byte[] out, List<int[]> ranges) {
        boolean[] clear = new boolean[out.length];
        for (int[] r : ranges) {
            java.util.Arrays.fill(clear, r[0], r[0] + r[1], true);
        }
        for (int j = 0; j + 2 < out.length; j++) {
            if (out[j] == 0 && out[j + 1] == 0 && (out[j + 2] & 0xff) <= 3
                    && !(clear[j] && clear[j + 1] && clear[j + 2])) {
                return true;
            }
        }
        return false;
    }
}
