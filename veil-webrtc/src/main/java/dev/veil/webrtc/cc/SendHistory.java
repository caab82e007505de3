package dev.veil.webrtc.cc;

/**
 * What the server sent on one transport, by transport-wide sequence number: size and send time of the last {@link
 * #capacity()} packets, in a ring, so that transport-wide feedback from the subscriber can be matched against it
 * ({@link DownlinkEstimator}). The ring starts at {@link #INITIAL_CAPACITY} slots and doubles (up to its maximum)
 * whenever a packet would overwrite one sent less than {@link #KEEP_MICROS} before that feedback has not reported
 * yet: a subscriber at a few hundred packets per second keeps 12 KiB of history instead of 100 KiB, and a fast one
 * still keeps the last 2 s (a join storm of 200 subscribers allocated 20 MiB of rings up front). Sequence numbers are kept extended (64 bits, never wrapping); the 16-bit
 * numbers of feedback are unwrapped against the newest sent ({@link #unwrap}). Not thread-safe: the send path and the
 * estimator run on the same event loop.
 *
 * <p>Each slot also keeps what feedback said about the packet (nothing yet, received, reported lost), so a packet
 * reported twice is counted once and a packet reported lost then received is counted as received.
 */
public final class SendHistory {

    /** Nothing reported yet. */
    public static final int UNREPORTED = 0;
    /** Reported received. */
    public static final int RECEIVED = 1;
    /** Reported lost (may still be reported received later). */
    public static final int LOST = 2;

    /** Slots a new ring starts with. */
    public static final int INITIAL_CAPACITY = 256;
    /** A packet sent this recently and not yet reported is not overwritten while the ring may still grow. */
    public static final long KEEP_MICROS = 2_000_000;

    private final int maxCapacity;
    private int mask;
    private long[] slotSeq;
    private int[] slotBytes;
    private long[] slotSendMicros;
    private byte[] slotState;
    private int[] slotCluster;
    private long next;
    private long lastSendMicros = Long.MIN_VALUE;
    private long bytesSent;

    /**
     * @param maxCapacity most packets remembered, a power of two in 256..32768 (4096 is about 15 s of a 2.5 Mbit/s
     *     subscriber at 1200-byte packets, 1.8 s of one at 20 Mbit/s); the ring grows to it only as the send rate needs
     * @param firstSequence the first transport-wide sequence number to hand out (16 bits)
     */
    public SendHistory(int maxCapacity, int firstSequence) {
        if (maxCapacity < INITIAL_CAPACITY || maxCapacity > 32768 || Integer.bitCount(maxCapacity) != 1) {
            throw new IllegalArgumentException("capacity must be a power of two in 256..32768");
        }
        if (firstSequence < 0 || firstSequence > 0xFFFF) {
            throw new IllegalArgumentException("sequence numbers are 16 bits");
        }
        this.maxCapacity = maxCapacity;
        allocate(INITIAL_CAPACITY);
        this.next = firstSequence;
    }

    private void allocate(int capacity) {
        this.mask = capacity - 1;
        this.slotSeq = new long[capacity];
        this.slotBytes = new int[capacity];
        this.slotSendMicros = new long[capacity];
        this.slotState = new byte[capacity];
        this.slotCluster = new int[capacity];
        java.util.Arrays.fill(slotSeq, -1);
        java.util.Arrays.fill(slotCluster, -1);
    }

    /** Slots in the ring now (the packets it remembers at most). */
    public int capacity() {
        return mask + 1;
    }

    /** Doubles the ring, keeping every packet it remembers (they are consecutive, so none collide). */
    private void grow() {
        long[] seq = slotSeq;
        int[] bytes = slotBytes;
        long[] send = slotSendMicros;
        byte[] state = slotState;
        int[] cluster = slotCluster;
        allocate(seq.length * 2);
        for (int i = 0; i < seq.length; i++) {
            if (seq[i] >= 0) {
                int j = (int) (seq[i] & mask);
                slotSeq[j] = seq[i];
                slotBytes[j] = bytes[i];
                slotSendMicros[j] = send[i];
                slotState[j] = state[i];
                slotCluster[j] = cluster[i];
            }
        }
    }

    /**
     * Records a packet about to be sent and returns its extended transport-wide sequence number (the low 16 bits go
     * on the wire).
     */
    public long add(int bytes, long sendMicros) {
        return add(bytes, sendMicros, -1);
    }

    /** As {@link #add(int, long)}, for a packet of probe cluster {@code cluster} (-1: not a probe). */
    public long add(int bytes, long sendMicros, int cluster) {
        long ext = next++;
        int slot = (int) (ext & mask);
        while (slotSeq[slot] >= 0 && slotState[slot] == UNREPORTED && sendMicros - slotSendMicros[slot] < KEEP_MICROS
                && capacity() < maxCapacity) {
            grow(); // the packet in this slot may still be reported: keep it
            slot = (int) (ext & mask);
        }
        slotSeq[slot] = ext;
        slotBytes[slot] = Math.max(0, bytes);
        slotSendMicros[slot] = sendMicros;
        slotState[slot] = UNREPORTED;
        slotCluster[slot] = cluster;
        lastSendMicros = sendMicros;
        bytesSent += Math.max(0, bytes);
        return ext;
    }

    /** The extended number of the next packet (one past the newest sent). */
    public long nextSequence() {
        return next;
    }

    /** When the newest packet was sent ({@link Long#MIN_VALUE} before the first). */
    public long lastSendMicros() {
        return lastSendMicros;
    }

    /** Bytes recorded since creation. */
    public long bytesSent() {
        return bytesSent;
    }

    /** The extended number nearest the newest sent whose low 16 bits are {@code seq16} (RFC 1982 style). */
    public long unwrap(int seq16) {
        long newest = next - 1;
        return newest + (short) ((seq16 & 0xFFFF) - (int) (newest & 0xFFFF));
    }

    /** Whether packet {@code ext} is still remembered. */
    public boolean contains(long ext) {
        return ext >= 0 && ext < next && slotSeq[(int) (ext & mask)] == ext;
    }

    /** Its size in bytes (only if {@link #contains}). */
    public int bytes(long ext) {
        return slotBytes[(int) (ext & mask)];
    }

    /** Its send time (only if {@link #contains}). */
    public long sendMicros(long ext) {
        return slotSendMicros[(int) (ext & mask)];
    }

    /** Its probe cluster, -1 if it is not a probe (only if {@link #contains}). */
    public int cluster(long ext) {
        return slotCluster[(int) (ext & mask)];
    }

    /** What feedback said about it so far (only if {@link #contains}). */
    public int state(long ext) {
        return slotState[(int) (ext & mask)];
    }

    /** Records what feedback said about it (only if {@link #contains}). */
    public void setState(long ext, int state) {
        slotState[(int) (ext & mask)] = (byte) state;
    }
}
