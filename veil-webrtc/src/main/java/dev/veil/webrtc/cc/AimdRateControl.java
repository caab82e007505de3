package dev.veil.webrtc.cc;

import dev.veil.webrtc.cc.DelayDetector.Usage;

/**
 * The rate controller of draft-ietf-rmcat-gcc-02 §5.5 (libwebrtc's AIMD rate control): a three-state machine
 * (increase, hold, decrease) driven by the {@link DelayDetector}'s verdicts.
 *
 * <ul>
 *   <li><b>Increase</b>: multiplicative, 8% per second ({@code 1.08^min(dt, 1 s)}), while the link's capacity is
 *       unknown; additive, about one packet per response time (RTT + 100 ms), once the rate is near the capacity
 *       estimated at past overuses. Never above 1.5 × the acknowledged rate + 10 kbit/s, so an application-limited
 *       sender does not inflate it.</li>
 *   <li><b>Decrease</b> on overuse: to β = 0.85 × the acknowledged rate (at most once per RTT clamped to 10..200 ms,
 *       unless the acknowledged rate fell below half the estimate), then hold. The acknowledged rates seen at
 *       overuse feed an exponentially averaged link capacity (α = 0.05) with a normalised variance; a sample
 *       beyond 3 standard deviations resets it.</li>
 *   <li><b>Hold</b> on underuse (the queue is draining; increasing now would refill it).</li>
 * </ul>
 * Bounded by {@code [minBps, maxBps]}. Times in microseconds. Not thread-safe.
 */
public final class AimdRateControl {

    enum State { HOLD, INCREASE, DECREASE }

    static final double BETA = 0.85;
    static final double INCREASE_PER_SECOND = 1.08;
    static final double CAPACITY_ALPHA = 0.05;
    static final double ACKED_CAP_FACTOR = 1.5;
    static final double ACKED_CAP_OFFSET_BPS = 10_000;
    static final double MIN_ADDITIVE_BPS_PER_SECOND = 4_000;
    static final double FRAME_RATE = 30;
    static final double PACKET_BITS = 1200 * 8;

    private final long minBps;
    private final long maxBps;
    private double current;
    private State state = State.INCREASE;
    private long lastChange = Long.MIN_VALUE;
    private boolean capacityKnown;
    private double capacityKbps;
    private double capacityVar = 0.4;

    public AimdRateControl(long initialBps, long minBps, long maxBps) {
        if (minBps < 1 || maxBps < minBps) {
            throw new IllegalArgumentException("need 1 <= min <= max");
        }
        this.minBps = minBps;
        this.maxBps = maxBps;
        this.current = clamp(initialBps);
    }

    /** The current rate, bits per second. */
    public long bitrate() {
        return (long) current;
    }

    State state() {
        return state;
    }

    /** Whether the link capacity has been estimated (the controller increases additively near it). */
    public boolean nearMaxKnown() {
        return capacityKnown;
    }

    /**
     * Whether an overuse verdict may decrease the rate now: once per RTT (10..200 ms), or at once if the
     * acknowledged rate fell below half the current rate.
     */
    public boolean timeToReduceFurther(long nowMicros, double ackedBps, double rttMs) {
        double intervalMs = Math.max(10, Math.min(200, rttMs));
        if (lastChange == Long.MIN_VALUE || (nowMicros - lastChange) / 1000.0 >= intervalMs) {
            return true;
        }
        return ackedBps > 0 && ackedBps < 0.5 * current;
    }

    /**
     * Applies one verdict.
     *
     * @param usage the detector's verdict
     * @param ackedBps the acknowledged (received) rate, or a value {@code <= 0} if not known yet
     * @param rttMs the round-trip time
     * @param nowMicros now
     * @return the new rate
     */
    public long update(Usage usage, double ackedBps, double rttMs, long nowMicros) {
        switch (usage) {
            case OVERUSE -> state = State.DECREASE;
            case UNDERUSE -> state = State.HOLD;
            case NORMAL -> {
                if (state == State.HOLD) {
                    state = State.INCREASE;
                }
            }
        }
        if (lastChange == Long.MIN_VALUE) {
            lastChange = nowMicros;
        }
        double dtSeconds = Math.min(1.0, Math.max(0, nowMicros - lastChange) / 1e6);
        boolean known = ackedBps > 0;
        switch (state) {
            case HOLD -> lastChange = nowMicros;
            case INCREASE -> {
                if (known && capacityKnown && ackedBps / 1000 > capacityKbps + 3 * deviationKbps()) {
                    capacityKnown = false; // the link got faster: search multiplicatively again
                }
                double next = capacityKnown
                        ? current + Math.max(MIN_ADDITIVE_BPS_PER_SECOND, additivePerSecond(rttMs)) * dtSeconds
                        : current + Math.max(1000, current * (Math.pow(INCREASE_PER_SECOND, dtSeconds) - 1));
                if (known) {
                    double cap = ACKED_CAP_FACTOR * ackedBps + ACKED_CAP_OFFSET_BPS;
                    if (next > cap) {
                        next = Math.max(current, cap);
                    }
                }
                current = clamp(next);
                lastChange = nowMicros;
            }
            case DECREASE -> {
                double next;
                if (known) {
                    next = BETA * ackedBps;
                    if (next > current && capacityKnown) {
                        next = BETA * capacityKbps * 1000;
                    }
                    if (capacityKnown && ackedBps / 1000 < capacityKbps - 3 * deviationKbps()) {
                        capacityKnown = false; // the link got slower
                    }
                    addCapacitySample(ackedBps / 1000);
                } else {
                    next = BETA * current;
                }
                if (next < current) {
                    current = clamp(next);
                }
                lastChange = nowMicros;
                state = State.HOLD;
            }
        }
        return (long) current;
    }

    /** Sets the rate from outside (a loss-based cut or a feedback timeout), keeping the state. */
    void setBitrate(double bps, long nowMicros) {
        if (capacityKnown && bps / 1000 > capacityKbps + 3 * deviationKbps()) {
            capacityKnown = false; // measured beyond the capacity seen at past overuses: search again
        }
        current = clamp(bps);
        lastChange = nowMicros;
    }

    private double additivePerSecond(double rttMs) {
        double frameBits = current / FRAME_RATE;
        double packetsPerFrame = Math.ceil(frameBits / PACKET_BITS);
        double packetBits = frameBits / Math.max(1, packetsPerFrame);
        double responseSeconds = (rttMs + 100) / 1000.0;
        return packetBits / responseSeconds;
    }

    private void addCapacitySample(double kbps) {
        if (!capacityKnown) {
            capacityKbps = kbps;
            capacityKnown = true;
        } else {
            capacityKbps = (1 - CAPACITY_ALPHA) * capacityKbps + CAPACITY_ALPHA * kbps;
        }
        double norm = Math.max(capacityKbps, 1.0);
        double err = capacityKbps - kbps;
        capacityVar = (1 - CAPACITY_ALPHA) * capacityVar + CAPACITY_ALPHA * err * err / norm;
        capacityVar = Math.max(0.4, Math.min(2.5, capacityVar));
    }

    private double deviationKbps() {
        return Math.sqrt(capacityVar * capacityKbps);
    }

    private double clamp(double bps) {
        return Math.max(minBps, Math.min(maxBps, bps));
    }
}
