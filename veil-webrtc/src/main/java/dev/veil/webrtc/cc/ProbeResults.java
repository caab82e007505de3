package dev.veil.webrtc.cc;

import java.util.Arrays;

/**
 * Measures what a {@link Prober} cluster got through (libwebrtc's probe bitrate estimator, from its published
 * behaviour, hardened against bunched timestamps): once at least 80% of a cluster's packets are reported received,
 * <ul>
 *   <li>its <b>send rate</b> is the bytes sent (without the last packet) over the send span; a cluster whose send span
 *       is under half of what its rate and size plan (sent as a burst: the measurement would be the burst's) gives no
 *       result;</li>
 *   <li>its <b>receive rate</b> is measured on the subscriber's arrival times (from the feedback, never the time the
 *       feedback reached the server): the bytes that arrived <em>after</em> the start of the span (every packet
 *       stamped at the first arrival instant is left out, not only the first packet: a receiver that read a burst of
 *       them at once — its thread was busy — gives them one time stamp, as if they had come in no time) over the
 *       span to the last arrival; taken over the whole cluster and over its later half (from the median arrival),
 *       the smaller of the two counts — the later half has met the queue once a shaper's bucket, which lets the start
 *       of a cluster through at the rate it is sent, is empty;</li>
 *   <li>the result is the smaller of the two rates, or 95% of the receive rate if that is under 90% of the send rate
 *       (the path was saturated: the receive rate is what it carries). A receive rate over twice the send rate is not
 *       a measurement (libwebrtc's limit), nor a span over a second on either side.</li>
 * </ul>
 * The last {@link #SLOTS} clusters are tracked in fixed arrays; each gives at most one result. Not thread-safe.
 */
final class ProbeResults {

    static final int SLOTS = 4;
    static final double MIN_RECEIVED = 0.8;
    static final long MAX_SPAN_MICROS = 1_000_000;
    /** The send span must be at least this share of the planned one. */
    static final double MIN_SEND_SPAN = 0.5;
    static final double MAX_RECEIVE_TO_SEND = 2.0;

    private static final class Slot {
        int id = -1;
        long bps;
        int planned;
        int packetBytes;
        int received;
        boolean done;
        long bytes;
        long firstSend;
        long lastSend;
        int lastSendBytes;
        final long[] arrivals = new long[Prober.MAX_PACKETS];
        final int[] sizes = new int[Prober.MAX_PACKETS];
    }

    private final Slot[] slots = new Slot[SLOTS];
    private final long[] order = new long[Prober.MAX_PACKETS];

    ProbeResults() {
        for (int i = 0; i < SLOTS; i++) {
            slots[i] = new Slot();
        }
    }

    /** A cluster was started (before its packets are reported). */
    void onCluster(Prober.Cluster c) {
        Slot s = slots[Math.floorMod(c.id(), SLOTS)];
        s.id = c.id();
        s.bps = c.bps();
        s.planned = Math.min(c.packets(), Prober.MAX_PACKETS);
        s.packetBytes = c.packetBytes();
        s.received = 0;
        s.done = false;
        s.bytes = 0;
    }

    /** The rate cluster {@code id} was sent at, or -1 if it is not tracked. */
    long probeBps(int id) {
        Slot s = slots[Math.floorMod(id, SLOTS)];
        return s.id == id ? s.bps : -1;
    }

    /**
     * One of its packets was reported received.
     *
     * @return a result in bits per second when this packet completes the cluster, else -1 (also for an invalid one)
     */
    long onReceived(int id, long sendMicros, long arrivalMicros, int bytes) {
        Slot s = slots[Math.floorMod(id, SLOTS)];
        if (s.id != id || s.done || s.received >= s.planned) {
            return -1;
        }
        if (s.received == 0) {
            s.firstSend = s.lastSend = sendMicros;
            s.lastSendBytes = bytes;
        } else {
            s.firstSend = Math.min(s.firstSend, sendMicros);
            if (sendMicros >= s.lastSend) {
                s.lastSend = sendMicros;
                s.lastSendBytes = bytes;
            }
        }
        s.arrivals[s.received] = arrivalMicros;
        s.sizes[s.received] = bytes;
        s.received++;
        s.bytes += bytes;
        if (s.received < Math.max(2, Math.ceil(MIN_RECEIVED * s.planned))) {
            return -1;
        }
        s.done = true;
        long sendSpan = s.lastSend - s.firstSend;
        double plannedSpan = (s.planned - 1) * s.packetBytes * 8.0 * 1e6 / Math.max(1, s.bps);
        if (sendSpan <= 0 || sendSpan > MAX_SPAN_MICROS || sendSpan < MIN_SEND_SPAN * plannedSpan) {
            return -1;
        }
        double sendBps = (s.bytes - s.lastSendBytes) * 8.0 * 1e6 / sendSpan;
        double receiveBps = receiveBps(s);
        if (receiveBps <= 0 || receiveBps > MAX_RECEIVE_TO_SEND * sendBps) {
            return -1;
        }
        double result = receiveBps < 0.9 * sendBps ? 0.95 * receiveBps : Math.min(sendBps, receiveBps);
        return (long) result;
    }

    /** The smaller of the whole cluster's and its later half's receive rates; -1 if either has no span. */
    private double receiveBps(Slot s) {
        int n = s.received;
        for (int i = 0; i < n; i++) {
            order[i] = s.arrivals[i] << 20 | s.sizes[i] & 0xFFFFF; // arrival order (packets are at most 1 MB)
        }
        Arrays.sort(order, 0, n);
        double whole = rateFrom(0, n);
        double half = rateFrom(n / 2, n);
        return whole < 0 || half < 0 ? -1 : Math.min(whole, half);
    }

    /** Bytes arriving after {@code order[from]}'s instant over the span from it to the last arrival. */
    private double rateFrom(int from, int n) {
        long start = order[from] >> 20;
        long span = (order[n - 1] >> 20) - start;
        if (span <= 0 || span > MAX_SPAN_MICROS) {
            return -1;
        }
        long bytes = 0;
        for (int i = from; i < n; i++) {
            if (order[i] >> 20 > start) {
                bytes += order[i] & 0xFFFFF;
            }
        }
        return bytes * 8.0 * 1e6 / span;
    }
}
