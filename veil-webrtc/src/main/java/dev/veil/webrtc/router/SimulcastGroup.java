package dev.veil.webrtc.router;

import dev.veil.webrtc.router.simulcast.LayerSwitcher;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The layers of one simulcast producer, inside a {@link Router}. The producer the server made (the group) has no
 * SSRC of its own: each layer becomes an internal {@link Producer} (own SSRC, retransmission cache, receive
 * statistics, key-frame rate limit) when its first packet names its RID in the RtpStreamId header extension. Each
 * consumer of the group is fed by the group's {@link LayerSwitcher} and is attached to the layer it currently gets,
 * so NACKs, PLIs and sender reports are about that layer.
 */
final class SimulcastGroup {
    final Producer group;
    /** The rids, lowest layer first (layer i = rids.get(i)). */
    final List<String> rids;
    /** The publisher's extmap id of the RtpStreamId extension. */
    final int ridExtensionId;
    /** The internal producer of each layer, null until its first packet. */
    final Producer[] layers;
    final LayerSwitcher switcher;
    final Map<String, Consumer> consumers = new LinkedHashMap<>();
    /** Each layer's picture height from its last key frame (VP8), 0 if unknown. */
    final int[] heights;
    /** Each layer's picture width from its last key frame (VP8), 0 if unknown. */
    final int[] widths;
    /** Consumer id → the largest picture height its subscriber wants (only consumers that set one). */
    final Map<String, Integer> maxHeights = new LinkedHashMap<>();
    /**
     * Consumer id → the highest layer its downlink estimate allows (set by the bandwidth policy through {@link
     * Router#setBandwidthLayer}; absent: no bandwidth cap). Independent of {@link #maxHeights}: the target is the
     * lower of the two, so a preference never lifts a bandwidth cap.
     */
    final Map<String, Integer> bandwidthCaps = new LinkedHashMap<>();
    /** Bytes received on each layer in the current measurement window. */
    private final long[] windowBytes;
    /** Each layer's bitrate over the last completed window, 0 if it sent nothing then (or nothing yet). */
    private final long[] bitrates;
    private long windowStartMillis = Long.MIN_VALUE;
    /** The measurement window: long enough to cover a key frame and the frames after it. */
    static final long RATE_WINDOW_MILLIS = 1000;

    SimulcastGroup(Producer group, List<String> rids, int ridExtensionId, LayerSwitcher switcher) {
        this.group = group;
        this.rids = List.copyOf(rids);
        this.ridExtensionId = ridExtensionId;
        this.layers = new Producer[rids.size()];
        this.heights = new int[rids.size()];
        this.widths = new int[rids.size()];
        this.windowBytes = new long[rids.size()];
        this.bitrates = new long[rids.size()];
        this.switcher = switcher;
    }

    /**
     * The target layer for a subscriber that wants pictures at most {@code maxHeight} high: the highest layer whose
     * height (from its key frames) fits; layers of unknown height do not count; the lowest layer if none fits.
     */
    int layerForMaxHeight(int maxHeight) {
        int best = 0;
        for (int i = 0; i < heights.length; i++) {
            if (heights[i] > 0 && heights[i] <= maxHeight) {
                best = i;
            }
        }
        return best;
    }

    /**
     * Counts a packet of layer {@code layer} ({@code bytes} long, headers included); closes the window when it is
     * over. A window that ends more than twice its length after it started (the publisher paused) measures 0 for
     * every layer rather than a diluted rate. Returns whether the window closed (the bitrates changed).
     */
    boolean countPacket(int layer, int bytes, long nowMillis) {
        boolean closed = false;
        if (windowStartMillis == Long.MIN_VALUE) {
            windowStartMillis = nowMillis;
        } else if (nowMillis - windowStartMillis >= RATE_WINDOW_MILLIS) {
            long elapsed = nowMillis - windowStartMillis;
            for (int i = 0; i < bitrates.length; i++) {
                bitrates[i] = elapsed > 2 * RATE_WINDOW_MILLIS ? 0 : windowBytes[i] * 8000 / elapsed;
                windowBytes[i] = 0;
            }
            windowStartMillis = nowMillis;
            closed = true;
        }
        windowBytes[layer] += bytes;
        return closed;
    }

    /** Layer {@code layer}'s measured bitrate (last completed window), bits per second; 0 if not measured. */
    long bitrateBps(int layer) {
        return bitrates[layer];
    }

    /** The highest layer a consumer should get: its preference (height), capped by its bandwidth cap. */
    int targetFor(String consumerId) {
        int top = rids.size() - 1;
        Integer maxHeight = maxHeights.get(consumerId);
        int pref = maxHeight == null ? top : layerForMaxHeight(maxHeight);
        Integer cap = bandwidthCaps.get(consumerId);
        return cap == null ? pref : Math.max(0, Math.min(pref, cap));
    }
}
