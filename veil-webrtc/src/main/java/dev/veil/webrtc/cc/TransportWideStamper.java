package dev.veil.webrtc.cc;

import java.util.Objects;

/**
 * The send side of transport-wide congestion control for one transport (one subscriber's bundle): puts the server's
 * own transport-wide sequence number ({@link TransportSequence#URI}) on every RTP packet it sends there, in the
 * order they leave, and remembers each packet's number, size and send time in a {@link SendHistory} for {@link
 * DownlinkEstimator}.
 *
 * <p>The header element is reserved when the packet is built (a 2-byte element under the negotiated id; the
 * consumer writes it with the other extensions) and filled here in place just before SRTP protection, so stamping
 * costs a short header walk and three array stores. A packet without the element (the subscriber did not negotiate
 * the extension, or a packet built elsewhere) is left alone and not recorded. Sans-IO, no clock: the caller passes
 * the send time. Not thread-safe.
 */
public final class TransportWideStamper {

    private final int extensionId;
    private final SendHistory history;
    private long stamped;
    private long skipped;
    private long added;

    /**
     * @param extensionId the subscriber's extmap id of the transport-wide sequence number (1..255)
     * @param history where sent packets are recorded (shared with the transport's {@link DownlinkEstimator})
     */
    public TransportWideStamper(int extensionId, SendHistory history) {
        if (extensionId < 1 || extensionId > 255) {
            throw new IllegalArgumentException("extension id must be 1..255");
        }
        this.extensionId = extensionId;
        this.history = Objects.requireNonNull(history, "history");
    }

    /** The extmap id written. */
    public int extensionId() {
        return extensionId;
    }

    /** The history it records into. */
    public SendHistory history() {
        return history;
    }

    /**
     * Stamps the RTP packet {@code buf[off..off+len)} (clear, before SRTP) with the next transport-wide sequence
     * number and records it as sent at {@code sendMicros} (microseconds, the clock whose milliseconds the estimator
     * gets as {@code nowMillis}).
     *
     * @return the 16-bit sequence number written, or -1 if the packet has no element to write it in
     */
    public int stamp(byte[] buf, int off, int len, long sendMicros) {
        return stamp(buf, off, len, sendMicros, -1);
    }

    /** As {@link #stamp(byte[], int, int, long)}, for a packet of probe cluster {@code cluster} ({@link Prober}). */
    public int stamp(byte[] buf, int off, int len, long sendMicros, int cluster) {
        int seq = (int) (history.nextSequence() & 0xFFFF);
        if (!TransportSequence.write(buf, off, len, extensionId, seq)) {
            skipped++;
            return -1;
        }
        history.add(len, sendMicros, cluster);
        stamped++;
        return seq;
    }

    /**
     * Stamps a whole packet, adding the element first if the packet lacks it ({@link TransportSequence#withElement}:
     * one copy of the packet, 4 or 8 bytes longer). Returns the packet to send (the same array when the element was
     * already there), or the packet unchanged if no element could be added (then it is not recorded).
     */
    public byte[] stampOrAdd(byte[] packet, long sendMicros) {
        if (stamp(packet, 0, packet.length, sendMicros) >= 0) {
            return packet;
        }
        byte[] grown = TransportSequence.withElement(packet, 0, packet.length, extensionId);
        if (grown == null) {
            return packet;
        }
        skipped--;
        added++;
        stamp(grown, 0, grown.length, sendMicros);
        return grown;
    }

    /**
     * {@link #stampOrAdd} in place (the forwarding path): stamps {@code buf[off..off+len)}, first adding the element
     * where the packet is ({@link TransportSequence#withElementInPlace}) if it lacks one; {@code capacity} bytes from
     * {@code off} are the room it may grow into. Returns the packet's length now (unchanged, and not recorded, if no
     * element could be added).
     */
    public int stampOrAddInPlace(byte[] buf, int off, int len, int capacity, long sendMicros) {
        if (stamp(buf, off, len, sendMicros) >= 0) {
            return len;
        }
        int grown = TransportSequence.withElementInPlace(buf, off, len, capacity, extensionId);
        if (grown < 0) {
            return len;
        }
        skipped--;
        added++;
        stamp(buf, off, grown, sendMicros);
        return grown;
    }

    /** Packets that got the element added by {@link #stampOrAdd}. */
    public long added() {
        return added;
    }

    /** Packets stamped. */
    public long stamped() {
        return stamped;
    }

    /** Packets passed without an element to stamp. */
    public long skipped() {
        return skipped;
    }
}
