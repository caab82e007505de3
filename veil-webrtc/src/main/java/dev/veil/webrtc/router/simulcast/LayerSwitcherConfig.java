package dev.veil.webrtc.router.simulcast;

/**
 * Tuning of a {@link LayerSwitcher}.
 *
 * @param keyFrameRequestMinIntervalMillis at most one key-frame request per layer per this interval
 * @param keyFrameRetryMillis while a consumer waits for a key frame of the layer it should switch to, ask again
 *     this often (still within the per-layer limit)
 * @param layerInactiveMillis a layer that sent no packet for this long counts as stopped (a publisher whose uplink
 *     estimate drops stops its top layers): consumers move to the best layer still running
 */
public record LayerSwitcherConfig(long keyFrameRequestMinIntervalMillis, long keyFrameRetryMillis,
        long layerInactiveMillis) {

    public LayerSwitcherConfig {
        if (keyFrameRequestMinIntervalMillis < 0 || keyFrameRetryMillis <= 0 || layerInactiveMillis <= 0) {
            throw new IllegalArgumentException("intervals must be positive");
        }
    }

    /** 500 ms between key-frame requests per layer, retry every 250 ms, a layer silent for 1 s has stopped. */
    public static LayerSwitcherConfig defaults() {
        return new LayerSwitcherConfig(500, 250, 1000);
    }
}
