package dev.veil.server;

import dev.veil.webrtc.cc.LayerSelector;
import dev.veil.webrtc.router.Consumer;
import dev.veil.webrtc.router.Router;
import dev.veil.webrtc.router.SimulcastLayer;
import java.util.ArrayList;
import java.util.List;

/**
 * One subscriber's layer choice from its downlink estimate: {@link DownlinkCc}'s estimate → {@link LayerSelector} →
 * {@link Router#setBandwidthLayer} per simulcast consumer (the router targets the lower of that cap and the
 * subscriber's preferred maximum height; a switch happens at the new layer's next key frame).
 *
 * <h2>Why not the raw estimate</h2>
 * The estimator is application-limited: it never rises above 1.5 × what the subscriber acknowledges, and before its
 * first feedback it is a guess. Feeding it straight to the selector would pull every subscriber down to the layer
 * the guess affords and keep it there. So the estimate only <b>lowers</b> layers when the estimator saw congestion
 * recently ({@link #CONGESTION_MEMORY_MILLIS}: delay overuse, a loss cut, a REMB, a feedback timeout); otherwise the
 * budget is at least what the current layers cost (keep them), and once no downgrade happened for a hold time the
 * budget allows one layer step up: the next layer itself is the probe. The hold after a downgrade counts from the
 * switch (the new layer's key frame), not from the decision, and no step is tried while a switch is pending. A step up that is followed by congestion and
 * a downgrade within {@link #PROBE_VERDICT_MILLIS} doubles the hold (from {@link #HOLD_MIN_MILLIS} to {@link
 * #HOLD_MAX_MILLIS}); one that holds resets it. Padding probes (cc.Prober) would let the estimate rise without
 * the risk of a step up; they are not sent yet.
 *
 * <p>Audio is reserved first ({@link #AUDIO_RESERVE_BPS} per audio consumer). Plain logic on the event loop, the
 * clock passed in; testable against an in-memory {@link Router}.
 */
final class DownlinkLayers {

    /** What each received audio track is assumed to cost (Opus at its usual WebRTC rates, with headers). */
    static final long AUDIO_RESERVE_BPS = 64_000;
    static final long CONGESTION_MEMORY_MILLIS = 2000;
    static final long HOLD_MIN_MILLIS = 5000;
    static final long HOLD_MAX_MILLIS = 20_000;
    static final long PROBE_VERDICT_MILLIS = 5000;

    private final LayerSelector selector = new LayerSelector(new LayerSelector.Config(0.2, 3000));
    private long holdMillis = HOLD_MIN_MILLIS;
    private long lastDowngradeMillis = Long.MIN_VALUE;
    private long lastUpgradeMillis = Long.MIN_VALUE;
    /** Consumer id → the layer chosen last time (what it gets or will get at the next key frame). */
    private java.util.Map<String, Integer> chosenLayers = new java.util.HashMap<>();
    private long downgrades;
    private long upgrades;

    /**
     * Re-chooses the layers of {@code consumerIds} (the subscriber's consumers, any kind) in {@code router}.
     *
     * @param estimateBps the downlink estimate
     * @param lastCongestionMillis when the estimator last saw congestion (MIN_VALUE: never)
     * @param maxHeights the subscriber's preferred maximum height per consumer id (0: none), same order
     */
    void apply(Router router, long estimateBps, long lastCongestionMillis, List<String> consumerIds,
            List<Integer> maxHeights, long nowMillis) {
        long audio = 0;
        List<LayerSelector.Track> tracks = new ArrayList<>();
        List<Integer> current = new ArrayList<>();
        for (int i = 0; i < consumerIds.size(); i++) {
            Consumer c = router.findConsumer(consumerIds.get(i));
            if (c == null || c.closed() || c.producer() == null) {
                continue;
            }
            if (!c.simulcast()) {
                audio += c.producer().kind() == dev.veil.webrtc.sdp.MediaKind.AUDIO && !c.paused() ? AUDIO_RESERVE_BPS : 0;
                continue;
            }
            List<LayerSelector.Layer> layers = new ArrayList<>();
            for (SimulcastLayer l : router.simulcastLayers(c.id())) {
                layers.add(new LayerSelector.Layer(l.width(), l.height(), l.bitrateBps()));
            }
            tracks.add(new LayerSelector.Track(c.id(), layers, 0, maxHeights.get(i), c.paused()));
            Integer chosen = chosenLayers.get(c.id());
            current.add(chosen != null ? chosen : router.currentLayer(c.id()));
        }
        if (tracks.isEmpty()) {
            return;
        }
        long keep = audio;
        long step = Long.MAX_VALUE;
        for (int i = 0; i < tracks.size(); i++) {
            LayerSelector.Track t = tracks.get(i);
            int cur = current.get(i);
            if (t.paused() || cur < 0) {
                continue;
            }
            keep += t.layers().get(cur).bitrateBps();
            for (int up = cur + 1; up < t.layers().size(); up++) {
                long b = t.layers().get(up).bitrateBps();
                if (b > 0) {
                    step = Math.min(step, b - t.layers().get(cur).bitrateBps() + b / 4);
                    break;
                }
            }
        }
        // a switch still waiting for its key frame: the hold after a downgrade starts once the subscriber gets the
        // lower layer (until then the old layer keeps filling its link), and no step up while one is pending
        boolean pending = false;
        for (int i = 0; i < tracks.size(); i++) {
            Integer chosen = chosenLayers.get(tracks.get(i).consumerId());
            pending |= !tracks.get(i).paused() && chosen != null
                    && router.currentLayer(tracks.get(i).consumerId()) != chosen;
        }
        if (pending && lastDowngradeMillis != Long.MIN_VALUE && lastDowngradeMillis >= lastUpgradeMillis) {
            lastDowngradeMillis = nowMillis;
        }
        boolean congested = lastCongestionMillis != Long.MIN_VALUE
                && nowMillis - lastCongestionMillis < CONGESTION_MEMORY_MILLIS;
        long budget = estimateBps;
        if (!congested) {
            budget = Math.max(budget, keep + 1);
            boolean holdOver = (lastDowngradeMillis == Long.MIN_VALUE || nowMillis - lastDowngradeMillis >= holdMillis)
                    && (lastUpgradeMillis == Long.MIN_VALUE || nowMillis - lastUpgradeMillis >= holdMillis);
            if (holdOver && !pending && step != Long.MAX_VALUE) {
                budget = Math.max(budget, keep + step);
            }
        }
        LayerSelector.Allocation a = selector.allocate(budget, audio, tracks, nowMillis);
        boolean up = false;
        boolean down = false;
        java.util.Map<String, Integer> chosen = new java.util.HashMap<>();
        for (int i = 0; i < tracks.size(); i++) {
            LayerSelector.Choice ch = a.choices().get(i);
            if (tracks.get(i).paused()) {
                continue;
            }
            int layer = Math.max(0, ch.layer()); // bandwidth never pauses a track: the lowest layer at worst
            int cur = current.get(i);
            chosen.put(ch.consumerId(), layer);
            up |= cur >= 0 && layer > cur;
            down |= cur >= 0 && layer < cur;
            router.setBandwidthLayer(ch.consumerId(), ch.limitedByBandwidth() || ch.layer() < 0 ? layer : -1,
                    nowMillis);
        }
        chosenLayers = chosen;
        if (down) {
            downgrades++;
            if (lastUpgradeMillis != Long.MIN_VALUE && nowMillis - lastUpgradeMillis < PROBE_VERDICT_MILLIS) {
                holdMillis = Math.min(HOLD_MAX_MILLIS, holdMillis * 2); // the step up failed
            }
            lastDowngradeMillis = nowMillis;
        } else if (up) {
            upgrades++;
            lastUpgradeMillis = nowMillis;
        } else if (lastUpgradeMillis != Long.MIN_VALUE && nowMillis - lastUpgradeMillis >= PROBE_VERDICT_MILLIS
                && lastUpgradeMillis > lastDowngradeMillis) {
            holdMillis = HOLD_MIN_MILLIS; // the last step up held
        }
    }

    /** The current hold before a step up (for tests and metrics). */
    long holdMillis() {
        return holdMillis;
    }

    void addCounters(java.util.Map<String, Long> out) {
        out.merge("media.downlink.layer_downgrades", downgrades, Long::sum);
        out.merge("media.downlink.layer_upgrades", upgrades, Long::sum);
    }
}
