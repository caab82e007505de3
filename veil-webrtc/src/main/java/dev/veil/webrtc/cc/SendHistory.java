package dev.veil.webrtc.cc;

/**
 * What the server sent on one transport, by transport-wide sequence number: size and send time of the last {@link
 * #capacity()} packets, in a ring allocated once, so that transport-wide feedback from the subscriber can be matched
 * against it ({@link DownlinkEstimator}). Sequence numbers are kept extended (64 bits, never wrapping); the 16-bit
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

    private final int mask;
    private final long[] slotSeq;
    private final int[] slotBytes;
    private final long[] slotSendMicros;
    private final byte[] slotState;
    private final int[] slotCluster;
    private long next;
    private long lastSendMicros = Long.MIN_VALUE;
    private long bytesSent;

    /**
     * @param capacity packets remembered, a power of two in 256..32768 (4096 is about 15 s of a 2.5 Mbit/s
     *     subscriber at 1200-byte packets; feedback arrives every 100 ms, so a few hundred would do)
     * @param firstSequence the first transport-wide sequence number to hand out (16 bits)
     */
    public SendHistory(int capacity, int firstSequence) {
        if (capacity < 256 || capacity > 32768 || Integer.bitCount(capacity) != 1) {
            throw new IllegalArgumentException("capacity must be a power of two in 256..32768");
        }
        if (firstSequence < 0 || firstSequence > 0xFFFF) {
            throw new IllegalArgumentException("sequence numbers are 16 bits");
        }
        this.mask = capacity - 1;
        this.slotSeq = new long[capacity];
        this.slotBytes = new int[capacity];
        this.slotSendMicros = new long[capacity];
        this.slotState = new byte[capacity];
        this.slotCluster = new int[capacity];
        java.util.Arrays.fill(slotSeq, -1);
        java.util.Arrays.fill(slotCluster, -1);
        this.next = firstSequence;
    }

    /** Slots in the ring. */
    public int capacity() {
        return mask + 1;
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
