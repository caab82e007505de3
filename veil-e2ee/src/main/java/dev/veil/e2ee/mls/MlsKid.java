package dev.veil.e2ee.mls;

/**
 * SFrame key ids in MLS mode, RFC 9605 §5.2:
 *
 * <pre>
 *   KID = (context &lt;&lt; (S + E)) + (sender_index &lt;&lt; E) + (epoch mod 2^E)
 *
 *     64-S-E bits   S bits   E bits
 *   +-------------+--------+-------+
 *   | context     | index  | epoch |
 *   +-------------+--------+-------+
 * </pre>
 *
 * E is fixed by the application (Veil: {@link #EPOCH_BITS} = 8); S is the number of bits needed for a member index
 * of the epoch, the smallest S with {@code group_size < 2^S}, where Veil takes group_size = the epoch's ratchet-tree
 * leaf count (which every member of the epoch agrees on). Veil senders use context 0 only.
 */
public final class MlsKid {
    /** E: the low bits of the epoch carried in every KID; at most 2^E epochs can be told apart. */
    public static final int EPOCH_BITS = 8;

    private MlsKid() {
    }

    /** S for a group of {@code groupSize} (&gt;= 1): the smallest S with groupSize &lt; 2^S. */
    public static int indexBits(long groupSize) {
        if (groupSize < 1) {
            throw new IllegalArgumentException("groupSize < 1");
        }
        return 64 - Long.numberOfLeadingZeros(groupSize);
    }

    /** The KID of ({@code context}, {@code senderIndex}, {@code epoch}) with S = {@code indexBits}, E = {@code epochBits}. */
    public static long kid(long context, long senderIndex, long epoch, int indexBits, int epochBits) {
        if (indexBits < 1 || epochBits < 1 || indexBits + epochBits > 63) {
            throw new IllegalArgumentException("bad S/E: " + indexBits + "/" + epochBits);
        }
        if (senderIndex < 0 || senderIndex >= 1L << indexBits) {
            throw new IllegalArgumentException("sender index " + senderIndex + " does not fit " + indexBits + " bits");
        }
        if (context < 0 || context >= 1L << (64 - indexBits - epochBits)) {
            throw new IllegalArgumentException("context does not fit");
        }
        return (context << (indexBits + epochBits)) + (senderIndex << epochBits) + (epoch & ((1L << epochBits) - 1));
    }

    /** Veil's KID: context 0, E = {@link #EPOCH_BITS}. */
    public static long kid(long senderIndex, long epoch, int indexBits) {
        return kid(0, senderIndex, epoch, indexBits, EPOCH_BITS);
    }

    /** The low E bits of the epoch in {@code kid}. */
    public static int epochBits(long kid) {
        return (int) (kid & ((1L << EPOCH_BITS) - 1));
    }

    /** The sender index in {@code kid} given the epoch's S. */
    public static long senderIndex(long kid, int indexBits) {
        return (kid >>> EPOCH_BITS) & ((1L << indexBits) - 1);
    }

    /** The context in {@code kid} given the epoch's S. */
    public static long context(long kid, int indexBits) {
        return kid >>> (EPOCH_BITS + indexBits);
    }
}
