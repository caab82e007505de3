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
    /** Each layer's bitrates over the last {@link #RATE_HISTORY} completed windows (a ring, {@link #historyPos}). */
    private final long[][] history;
    private int historyPos;
    /** Each layer's cost: the highest of its last windows' bitrates, 0 if the last window measured 0. */
    private final long[] peaks;
    private long windowStartMillis = Long.MIN_VALUE;
    /** The measurement window: long enough to cover a key frame and the frames after it. */
    static final long RATE_WINDOW_MILLIS = 1000;
    /**
     * Windows a layer's cost looks back on. One window's rate swings by a factor of 3 on a CPU-starved publisher (a
     * layer's encoder skips frames, a key frame lands in one window and not the next: 174 and 558 kbit/s for the
     * same 640x360 layer a few seconds apart, measured on the 400 kbit/s netlab test); costing a layer by its last
     * window alone made a congested subscriber step down to a layer that "fit" and could not be carried (and step up
     * to one on a probe sized for the dip), so layers cost their peak over a few seconds.
     */
    static final int RATE_HISTORY = 5;

    SimulcastGroup(Producer group, List<String> rids, int ridExtensionId, LayerSwitcher switcher) {
        this.group = group;
        this.rids = List.copyOf(rids);
        this.ridExtensionId = ridExtensionId;
        this.layers = new Producer[rids.size()];
        this.heights = new int[rids.size()];
        this.widths = new int[rids.size()];
        this.windowBytes = new long[rids.size()];
        this.bitrates = new long[rids.size()];
        this.history = new long[rids.size()][RATE_HISTORY];
        this.peaks = new long[rids.size()];
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
            boolean gap = elapsed > 2 * RATE_WINDOW_MILLIS;
            for (int i = 0; i < bitrates.length; i++) {
                bitrates[i] = gap ? 0 : windowBytes[i] * 8000 / elapsed;
                windowBytes[i] = 0;
                if (gap) {
                    java.util.Arrays.fill(history[i], 0);
                }
                history[i][historyPos] = bitrates[i];
                long peak = 0;
                for (long b : history[i]) {
                    peak = Math.max(peak, b);
                }
                peaks[i] = bitrates[i] == 0 ? 0 : peak;
            }
            historyPos = (historyPos + 1) % RATE_HISTORY;
            windowStartMillis = nowMillis;
            closed = true;
        }
        windowBytes[layer] += bytes;
        return closed;
    }

    /**
     * What layer {@code layer} costs, bits per second: the highest bitrate of its last {@link #RATE_HISTORY}
     * measurement windows; 0 if it sent nothing in the last one (not running) or nothing has been measured yet.
     */
    long bitrateBps(int layer) {
        return peaks[layer];
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
