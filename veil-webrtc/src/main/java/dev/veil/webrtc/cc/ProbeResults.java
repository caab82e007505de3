package dev.veil.webrtc.cc;

/**
 * Measures what a {@link Prober} cluster got through (libwebrtc's probe bitrate estimator, from its published
 * behaviour): once at least 80% of a cluster's packets are reported received, its send rate is the bytes sent
 * (without the last packet) over the send span and its receive rate the bytes received (without the first packet)
 * over the arrival span; the result is the smaller of the two, or 95% of the receive rate if that is under 90% of
 * the send rate (the path was saturated: the receive rate is what it carries). A cluster spanning over a second on
 * either side is discarded. The last {@link #SLOTS} clusters are tracked; each gives at most one result. Not
 * thread-safe.
 */
final class ProbeResults {

    static final int SLOTS = 4;
    static final double MIN_RECEIVED = 0.8;
    static final long MAX_SPAN_MICROS = 1_000_000;

    private static final class Slot {
        int id = -1;
        long bps;
        int planned;
        int received;
        boolean done;
        long bytes;
        long firstSend;
        long lastSend;
        int lastSendBytes;
        long firstArrival;
        long lastArrival;
        int firstArrivalBytes;
    }

    private final Slot[] slots = new Slot[SLOTS];

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
        s.planned = c.packets();
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
        if (s.id != id || s.done) {
            return -1;
        }
        if (s.received == 0) {
            s.firstSend = s.lastSend = sendMicros;
            s.firstArrival = s.lastArrival = arrivalMicros;
            s.lastSendBytes = bytes;
            s.firstArrivalBytes = bytes;
        } else {
            if (sendMicros < s.firstSend) {
                s.firstSend = sendMicros;
            }
            if (sendMicros >= s.lastSend) {
                s.lastSend = sendMicros;
                s.lastSendBytes = bytes;
            }
            if (arrivalMicros < s.firstArrival) {
                s.firstArrival = arrivalMicros;
                s.firstArrivalBytes = bytes;
            }
            s.lastArrival = Math.max(s.lastArrival, arrivalMicros);
        }
        s.received++;
        s.bytes += bytes;
        if (s.received < Math.max(2, Math.ceil(MIN_RECEIVED * s.planned))) {
            return -1;
        }
        s.done = true;
        long sendSpan = s.lastSend - s.firstSend;
        long arrivalSpan = s.lastArrival - s.firstArrival;
        if (sendSpan <= 0 || arrivalSpan <= 0 || sendSpan > MAX_SPAN_MICROS || arrivalSpan > MAX_SPAN_MICROS) {
            return -1;
        }
        double sendBps = (s.bytes - s.lastSendBytes) * 8.0 * 1e6 / sendSpan;
        double receiveBps = (s.bytes - s.firstArrivalBytes) * 8.0 * 1e6 / arrivalSpan;
        double result = receiveBps < 0.9 * sendBps ? 0.95 * receiveBps : Math.min(sendBps, receiveBps);
        return (long) result;
    }
}
