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
 */
public record RouterConfig(long keyFrameRequestMinIntervalMillis, long keyFrameRetryMillis,
        long receiverReportIntervalMillis, int retransmissionCacheSize, long nackUpstreamHoldMillis) {

    public RouterConfig {
        if (keyFrameRequestMinIntervalMillis < 0 || keyFrameRetryMillis <= 0 || receiverReportIntervalMillis <= 0
                || nackUpstreamHoldMillis < 0) {
            throw new IllegalArgumentException("intervals must be positive");
        }
        if (retransmissionCacheSize < 16 || retransmissionCacheSize > 32768
                || Integer.bitCount(retransmissionCacheSize) != 1) {
            throw new IllegalArgumentException("retransmission cache size must be a power of two in 16..32768");
        }
    }

    /** 500 ms between key-frame requests, retry every 1 s, RR every 1 s, 512 cached packets, 100 ms NACK hold. */
    public static RouterConfig defaults() {
        return new RouterConfig(500, 1000, 1000, 512, 100);
    }
}
