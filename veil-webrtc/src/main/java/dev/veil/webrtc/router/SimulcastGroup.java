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
    /** Consumer id → the largest picture height its subscriber wants (only consumers that set one). */
    final Map<String, Integer> maxHeights = new LinkedHashMap<>();

    SimulcastGroup(Producer group, List<String> rids, int ridExtensionId, LayerSwitcher switcher) {
        this.group = group;
        this.rids = List.copyOf(rids);
        this.ridExtensionId = ridExtensionId;
        this.layers = new Producer[rids.size()];
        this.heights = new int[rids.size()];
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
}
