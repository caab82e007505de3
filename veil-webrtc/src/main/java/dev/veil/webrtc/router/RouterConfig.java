package dev.veil.webrtc.router;

/**
 * Tuning of a {@link Router}. {@link #defaults()} is what a browser call needs.
 *
 * @param keyFrameRequestMinIntervalMillis at most one PLI/FIR per producer per this interval (subscribers' requests
 *     in between are dropped and counted)
 * @param keyFrameRetryMillis while a video consumer waits for its first key frame, ask again this often
 * @param receiverReportIntervalMillis send receiver reports to each publisher this often
 * @param retransmissionCacheSize packets kept per producer to answer NACKs (a power of two)
 * @param nackUpstreamHoldMillis do not NACK the same sequence number upstream again within this time (several
 *     subscribers usually miss the same packet)
 * @param upstreamNackReorderMillis a sequence number missing from a publisher's video stream is NACKed after this
 *     long (a reordered packet arrives before)
 * @param upstreamNackRetryMillis then NACKed again after this long, doubled after each try
 * @param upstreamNackMaxRetries NACKs per missing packet at most (0: no gap detection)
 * @param retransmitMinIntervalMillis a packet is resent to the same consumer at most once per this interval (about
 *     one round trip: a subscriber repeats its NACK before the first retransmission can arrive)
 * @param retransmitMaxAgeMillis packets that arrived longer ago than this are not resent (the subscriber's jitter
 *     buffer has given up on them; resending only adds load to a link that is probably congested)
 */
public record RouterConfig(long keyFrameRequestMinIntervalMillis, long keyFrameRetryMillis,
        long receiverReportIntervalMillis, int retransmissionCacheSize, long nackUpstreamHoldMillis,
        long upstreamNackReorderMillis, long upstreamNackRetryMillis, int upstreamNackMaxRetries,
        long retransmitMinIntervalMillis, long retransmitMaxAgeMillis) {

    /**
     * With the default upstream NACK timing (10 ms reorder wait, 40 ms first retry, 4 tries) and retransmission
     * bounds (once per 100 ms per packet and consumer, packets up to 2 s old).
     */
    public RouterConfig(long keyFrameRequestMinIntervalMillis, long keyFrameRetryMillis,
            long receiverReportIntervalMillis, int retransmissionCacheSize, long nackUpstreamHoldMillis) {
        this(keyFrameRequestMinIntervalMillis, keyFrameRetryMillis, receiverReportIntervalMillis,
                retransmissionCacheSize, nackUpstreamHoldMillis, 10, 40, 4, 100, 2000);
    }

    /** These settings with another {@link #keyFrameRetryMillis()}. */
    public RouterConfig withKeyFrameRetryMillis(long millis) {
        return new RouterConfig(keyFrameRequestMinIntervalMillis, millis, receiverReportIntervalMillis,
                retransmissionCacheSize, nackUpstreamHoldMillis, upstreamNackReorderMillis, upstreamNackRetryMillis,
                upstreamNackMaxRetries, retransmitMinIntervalMillis, retransmitMaxAgeMillis);
    }

    public RouterConfig {
        if (retransmitMinIntervalMillis < 0 || retransmitMaxAgeMillis <= 0) {
            throw new IllegalArgumentException("bad retransmission bounds");
        }
        if (upstreamNackReorderMillis < 0 || upstreamNackRetryMillis <= 0 || upstreamNackMaxRetries < 0
                || upstreamNackMaxRetries > 16) {
            throw new IllegalArgumentException("bad upstream NACK timing");
        }
        if (keyFrameRequestMinIntervalMillis < 0 || keyFrameRetryMillis <= 0 || receiverReportIntervalMillis <= 0
                || nackUpstreamHoldMillis < 0) {
            throw new IllegalArgumentException("intervals must be positive");
        }
        if (retransmissionCacheSize < 16 || retransmissionCacheSize > 32768
                || Integer.bitCount(retransmissionCacheSize) != 1) {
            throw new IllegalArgumentException("retransmission cache size must be a power of two in 16..32768");
        }
    }

    /**
     * 500 ms between key-frame requests, retry every 1 s, RR every 1 s, 512 cached packets, 100 ms NACK hold; upstream
     * gap NACKs after 10 ms, retried after 40, 80, 160 ms; a packet resent to a consumer at most once per 100 ms,
     * and only within 2 s of its arrival.
     */
    public static RouterConfig defaults() {
        return new RouterConfig(500, 1000, 1000, 512, 100);
    }
}
