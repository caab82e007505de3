package dev.veil.e2ee.codec;

import java.util.Objects;

/** Argument checks shared by the frame encryptors and decryptors (caller errors, not wire errors). */
public final class FrameBuffers {
    private FrameBuffers() {
    }

    /** Throws IndexOutOfBoundsException unless {@code [off, off + len)} lies inside {@code b}. */
    public static void checkRange(byte[] b, int off, int len) {
        Objects.requireNonNull(b, "buffer");
        Objects.checkFromIndexSize(off, len, b.length);
    }

    /**
     * Throws IllegalArgumentException unless {@code out} has room for {@code need} bytes at {@code outOff} and that
     * region does not overlap {@code in[inOff, inOff + inLen)}.
     */
    public static void checkOutput(byte[] in, int inOff, int inLen, byte[] out, int outOff, int need) {
        Objects.requireNonNull(out, "out");
        if (outOff < 0 || need < 0 || outOff > out.length - need) {
            throw new IllegalArgumentException("output buffer too small: need " + need + " bytes at offset " + outOff
                    + ", have " + (out.length - outOff));
        }
        if (in == out && outOff < inOff + inLen && inOff < outOff + need) {
            throw new IllegalArgumentException("output must not overlap the input");
        }
    }

    /** Applies a clear-prefix policy and checks it kept its contract ({@code 0 <= n <= len}). */
    public static int prefix(ClearPrefixPolicy policy, byte[] frame, int off, int len, FrameType type) {
        int n = policy.clearPrefixLength(frame, off, len, type == null ? FrameType.UNSPECIFIED : type);
        if (n < 0 || n > len) {
            throw new IllegalStateException("clear-prefix policy returned " + n + " for a " + len + "-byte frame");
        }
        return n;
    }
}
