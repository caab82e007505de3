package dev.veil.webrtc.cc;

/**
 * The loss-based controller of draft-ietf-rmcat-gcc-02 §6 (libwebrtc's classic send-side loss controller): the loss
 * fraction over at least {@link #MIN_PACKETS} reported packets moves a loss-based limit.
 *
 * <ul>
 *   <li>loss above 10%: the limit becomes {@code estimate × (1 − 0.5 × loss)}, at most once per 300 ms + RTT, but
 *       not below 0.85 × the acknowledged rate (a deliberate divergence for an SFU: the server does not slow down
 *       when the estimate falls — until the layer choice acts, it keeps sending what publishers send, and the loss
 *       stays high — so without this floor the limit would fall to the minimum although the link demonstrably
 *       delivers the acknowledged rate; measured on a 400 kbit/s subscriber link: 100 kbit/s without it). Under
 *       sustained heavy loss the limit so follows 0.85 × what gets through, up or down, instead of ratcheting down
 *       to 0.85 × the lowest acknowledged rate seen (161 kbit/s on that link);</li>
 *   <li>loss below 2%: the limit becomes {@code 1.08 × estimate + 1 kbit/s}, at most once per second (it follows
 *       the estimate up instead of holding it back);</li>
 *   <li>in between: the limit holds. A few per cent of random loss (a wireless hop) therefore neither raises nor
 *       cuts the rate; repair is the job of retransmission.</li>
 * </ul>
 * Times in microseconds. Not thread-safe.
 */
public final class LossBasedControl {

    static final double LOW_LOSS = 0.02;
    static final double HIGH_LOSS = 0.10;
    static final int MIN_PACKETS = 20;
    static final long INCREASE_INTERVAL_MICROS = 1_000_000;
    static final long DECREASE_INTERVAL_MICROS = 300_000;

    private final long minBps;
    private final long maxBps;
    private double limit;
    private int lost;
    private int total;
    private double lastLossFraction;
    private long lastIncrease = Long.MIN_VALUE;
    private long lastDecrease = Long.MIN_VALUE;
    private long samples;

    public LossBasedControl(long initialBps, long minBps, long maxBps) {
        this.minBps = minBps;
        this.maxBps = maxBps;
        this.limit = Math.max(minBps, Math.min(maxBps, initialBps));
    }

    /** The loss-based limit, bits per second. */
    public long limit() {
        return (long) limit;
    }

    /** The loss fraction of the last complete sample (0..1). */
    public double lossFraction() {
        return lastLossFraction;
    }

    /** Complete samples so far (each sets {@link #lossFraction()}). */
    public long samples() {
        return samples;
    }

    /**
     * Adds the packets one feedback reported and, once enough are counted, moves the limit.
     *
     * @param lostPackets packets newly reported lost (net of earlier "lost" that are now received)
     * @param reported packets newly reported at all
     * @param estimateBps the current overall estimate (what an increase or cut starts from)
     * @param rttMs the round-trip time
     * @param ackedBps the acknowledged rate ({@code <= 0}: unknown), floor of a cut
     * @return whether the limit changed
     */
    public boolean onReport(int lostPackets, int reported, double estimateBps, double rttMs, double ackedBps,
            long nowMicros) {
        lost += Math.max(0, lostPackets);
        total += Math.max(0, reported);
        if (total < MIN_PACKETS) {
            return false;
        }
        double loss = Math.min(1.0, (double) lost / total);
        lost = 0;
        total = 0;
        lastLossFraction = loss;
        samples++;
        double before = limit;
        if (loss > HIGH_LOSS) {
            long interval = DECREASE_INTERVAL_MICROS + (long) (rttMs * 1000);
            if (lastDecrease == Long.MIN_VALUE || nowMicros - lastDecrease >= interval) {
                double cut = Math.min(limit, estimateBps) * (1 - 0.5 * loss);
                limit = clamp(Math.max(cut, AimdRateControl.BETA * ackedBps));
                lastDecrease = nowMicros;
            }
        } else if (loss < LOW_LOSS) {
            if (lastIncrease == Long.MIN_VALUE || nowMicros - lastIncrease >= INCREASE_INTERVAL_MICROS) {
                limit = clamp(Math.max(limit, 1.08 * estimateBps + 1000));
                lastIncrease = nowMicros;
            }
        }
        return limit != before;
    }

    /** Raises the limit from outside (a probe measured more). */
    void raise(double bps) {
        limit = clamp(Math.max(limit, bps));
    }

    /** Lowers the limit from outside (a feedback timeout). */
    void cap(double bps) {
        limit = clamp(Math.min(limit, bps));
    }

    private double clamp(double bps) {
        return Math.max(minBps, Math.min(maxBps, bps));
    }
}
