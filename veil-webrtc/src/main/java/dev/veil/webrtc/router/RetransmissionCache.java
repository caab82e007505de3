package dev.veil.webrtc.router;

/**
 * The last N packets of a producer by sequence number (a ring indexed by {@code seq mod N}); a slot holds a copy of
 * the packet as the publisher sent it (already SRTP-decrypted).
 */
final class RetransmissionCache {
    private final byte[][] packets;
    private final int[] lengths;
    private final int[] seqs;
    private final long[] arrivedAt;
    private final int mask;

    RetransmissionCache(int size) {
        packets = new byte[size][];
        lengths = new int[size];
        seqs = new int[size];
        arrivedAt = new long[size];
        mask = size - 1;
    }

    void put(int seq, byte[] buf, int off, int len, long nowMillis) {
        int i = seq & mask;
        byte[] copy = packets[i];
        if (copy == null || copy.length < len) {
            // slots keep their capacity (rounded up) so that packets of varying sizes reuse them: no allocation per
            // packet once the ring has seen the stream's largest packets
            copy = new byte[(len + 255) & ~255];
        }
        System.arraycopy(buf, off, copy, 0, len);
        packets[i] = copy;
        lengths[i] = len;
        seqs[i] = seq;
        arrivedAt[i] = nowMillis;
    }

    /** When the packet now cached with {@code seq} arrived (call only after {@link #get} found it). */
    long arrivedAt(int seq) {
        return arrivedAt[seq & mask];
    }

    /** The length of the packet now cached with {@code seq} (call only after {@link #get} found it). */
    int length(int seq) {
        return lengths[seq & mask];
    }

    /**
     * The slot holding the packet with this sequence number (its first {@link #length} bytes), or null (never cached
     * or overwritten).
     */
    byte[] get(int seq) {
        int i = seq & mask;
        return packets[i] != null && seqs[i] == seq ? packets[i] : null;
    }
}
