package dev.veil.webrtc.cc;

/**
 * The delay-based half of the detector of draft-ietf-rmcat-gcc-02 §5 in libwebrtc's trendline form: packets are
 * grouped by send time into bursts, the one-way delay variation between consecutive groups is accumulated and
 * smoothed, a least-squares line is fitted through the last {@link #WINDOW} (arrival time, smoothed delay) points,
 * and its slope, scaled, is compared with an adaptive threshold to say whether the path's queue is growing
 * ({@link Usage#OVERUSE}), draining ({@link Usage#UNDERUSE}) or steady.
 *
 * <p>Constants are the published ones (draft §5.2-5.4 and libwebrtc's defaults): 5 ms bursts (by send time; on
 * arrival, packets arriving within 5 ms of each other, sooner than they were sent apart, up to 100 ms), a window of 20,
 * smoothing 0.9, a slope gain of 4 on at most 60 deltas, an initial threshold of 12.5 ms adapted with
 * K_u = 0.0087 / K_d = 0.039 per ms within 6..600 ms (not adapted on outliers more than 15 ms beyond it), and
 * overuse declared after 10 ms above the threshold over more than one update with a non-decreasing trend.
 *
 * <p>Fixed state (two arrays of {@link #WINDOW}); times in microseconds, send times on the server's clock and
 * arrival times on the subscriber's (only differences of each are used). Packets must come in send order; one sent
 * before the current group started (reordered in the history) is ignored. Not thread-safe.
 */
public final class DelayDetector {

    /** The detector's verdict. */
    public enum Usage { NORMAL, OVERUSE, UNDERUSE }

    static final int WINDOW = 20;
    static final long BURST_MICROS = 5_000;
    static final double SMOOTHING = 0.9;
    static final double GAIN = 4.0;
    static final int MAX_DELTAS = 60;
    static final double INITIAL_THRESHOLD_MS = 12.5;
    static final double K_UP = 0.0087;
    static final double K_DOWN = 0.039;
    static final double MAX_ADAPT_OFFSET_MS = 15.0;
    static final double OVERUSE_TIME_MS = 10.0;
    /** A burst on arrival never spans more than this. */
    static final long MAX_BURST_MICROS = 100_000;
    /** An arrival gap beyond this restarts the detector (the receiver's clock jumped or the path was gone). */
    static final long RESET_MICROS = 3_000_000;

    // the current and the previous complete group
    private boolean inGroup;
    private long groupFirstSend;
    private long groupLastSend;
    private long groupLastArrival;
    private long groupFirstArrival;
    private boolean havePrevious;
    private long prevLastSend;
    private long prevLastArrival;

    // trendline
    private final double[] xs = new double[WINDOW];
    private final double[] ys = new double[WINDOW];
    private int points;
    private int head;
    private long deltas;
    private double accumulatedMs;
    private double smoothedMs;
    private long firstArrival = Long.MIN_VALUE;
    private double prevTrend;

    // detector
    private double thresholdMs = INITIAL_THRESHOLD_MS;
    private double timeOverUsingMs = -1;
    private int overuseCount;
    private long lastThresholdUpdate = Long.MIN_VALUE;
    private Usage usage = Usage.NORMAL;
    private double lastModifiedTrend;

    /** The current verdict. */
    public Usage usage() {
        return usage;
    }

    /** The adaptive threshold, ms. */
    public double thresholdMs() {
        return thresholdMs;
    }

    /** The last scaled trend compared with the threshold. */
    public double modifiedTrend() {
        return lastModifiedTrend;
    }

    /**
     * Adds one packet reported received.
     *
     * @param sendMicros when the server sent it
     * @param arrivalMicros when the subscriber received it (its clock)
     * @return the verdict after it
     */
    public Usage onPacket(long sendMicros, long arrivalMicros) {
        if (!inGroup) {
            startGroup(sendMicros, arrivalMicros);
            return usage;
        }
        if (sendMicros < groupFirstSend) {
            return usage; // reordered: sent before the current group
        }
        if (belongsToGroup(sendMicros, arrivalMicros)) {
            groupLastSend = Math.max(groupLastSend, sendMicros);
            groupLastArrival = Math.max(groupLastArrival, arrivalMicros);
            return usage;
        }
        // the current group is complete: compare it with the previous one
        if (havePrevious) {
            long sendDelta = groupLastSend - prevLastSend;
            long arrivalDelta = groupLastArrival - prevLastArrival;
            if (Math.abs(arrivalDelta) > RESET_MICROS) {
                reset();
                startGroup(sendMicros, arrivalMicros);
                return usage;
            }
            update((arrivalDelta - sendDelta) / 1000.0, sendDelta / 1000.0, groupLastArrival);
        }
        havePrevious = true;
        prevLastSend = groupLastSend;
        prevLastArrival = groupLastArrival;
        startGroup(sendMicros, arrivalMicros);
        return usage;
    }

    private boolean belongsToGroup(long sendMicros, long arrivalMicros) {
        if (sendMicros - groupFirstSend <= BURST_MICROS) {
            return true;
        }
        // a burst on arrival: arrived within 5 ms of the group and earlier than its send spacing would say
        long arrivalDelta = arrivalMicros - groupLastArrival;
        long sendDelta = sendMicros - groupLastSend;
        return arrivalDelta >= 0 && arrivalDelta < sendDelta && arrivalDelta <= BURST_MICROS
                && arrivalMicros - groupFirstArrival < MAX_BURST_MICROS;
    }

    private void startGroup(long sendMicros, long arrivalMicros) {
        inGroup = true;
        groupFirstSend = sendMicros;
        groupLastSend = sendMicros;
        groupLastArrival = arrivalMicros;
        groupFirstArrival = arrivalMicros;
    }

    private void reset() {
        havePrevious = false;
        points = 0;
        head = 0;
        deltas = 0;
        accumulatedMs = 0;
        smoothedMs = 0;
        firstArrival = Long.MIN_VALUE;
        prevTrend = 0;
        timeOverUsingMs = -1;
        overuseCount = 0;
        usage = Usage.NORMAL;
    }

    /** One delay variation sample between groups (ms), the send spacing (ms) and the group's arrival time. */
    private void update(double delayVariationMs, double sendDeltaMs, long arrivalMicros) {
        deltas = Math.min(deltas + 1, 1000);
        if (firstArrival == Long.MIN_VALUE) {
            firstArrival = arrivalMicros;
        }
        accumulatedMs += delayVariationMs;
        smoothedMs = SMOOTHING * smoothedMs + (1 - SMOOTHING) * accumulatedMs;
        int slot = (head + points) % WINDOW;
        if (points == WINDOW) {
            slot = head;
            head = (head + 1) % WINDOW;
        } else {
            points++;
        }
        xs[slot] = (arrivalMicros - firstArrival) / 1000.0;
        ys[slot] = smoothedMs;
        double trend = prevTrend;
        if (points == WINDOW) {
            double slope = slope();
            if (!Double.isNaN(slope)) {
                trend = slope;
            }
        }
        detect(trend, sendDeltaMs, arrivalMicros);
        prevTrend = trend;
    }

    /** Least-squares slope of the window, NaN if the x values do not vary. */
    private double slope() {
        double sx = 0;
        double sy = 0;
        for (int i = 0; i < WINDOW; i++) {
            sx += xs[i];
            sy += ys[i];
        }
        double mx = sx / WINDOW;
        double my = sy / WINDOW;
        double num = 0;
        double den = 0;
        for (int i = 0; i < WINDOW; i++) {
            double dx = xs[i] - mx;
            num += dx * (ys[i] - my);
            den += dx * dx;
        }
        return den == 0 ? Double.NaN : num / den;
    }

    private void detect(double trend, double sendDeltaMs, long nowMicros) {
        if (deltas < 2) {
            usage = Usage.NORMAL;
            return;
        }
        double modified = Math.min(deltas, MAX_DELTAS) * trend * GAIN;
        lastModifiedTrend = modified;
        if (modified > thresholdMs) {
            if (timeOverUsingMs < 0) {
                timeOverUsingMs = sendDeltaMs / 2; // assume half the interval was already over
            } else {
                timeOverUsingMs += sendDeltaMs;
            }
            overuseCount++;
            if (timeOverUsingMs > OVERUSE_TIME_MS && overuseCount > 1 && trend >= prevTrend) {
                timeOverUsingMs = 0;
                overuseCount = 0;
                usage = Usage.OVERUSE;
            }
        } else if (modified < -thresholdMs) {
            timeOverUsingMs = -1;
            overuseCount = 0;
            usage = Usage.UNDERUSE;
        } else {
            timeOverUsingMs = -1;
            overuseCount = 0;
            usage = Usage.NORMAL;
        }
        adaptThreshold(modified, nowMicros);
    }

    private void adaptThreshold(double modified, long nowMicros) {
        if (lastThresholdUpdate == Long.MIN_VALUE) {
            lastThresholdUpdate = nowMicros;
        }
        double abs = Math.abs(modified);
        if (abs > thresholdMs + MAX_ADAPT_OFFSET_MS) {
            lastThresholdUpdate = nowMicros; // an outlier (e.g. a reroute): do not adapt to it
            return;
        }
        double k = abs < thresholdMs ? K_DOWN : K_UP;
        double dtMs = Math.min(Math.max(0, nowMicros - lastThresholdUpdate) / 1000.0, 100.0);
        thresholdMs += k * (abs - thresholdMs) * dtMs;
        thresholdMs = Math.max(6.0, Math.min(600.0, thresholdMs));
        lastThresholdUpdate = nowMicros;
    }
}
