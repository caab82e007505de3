package dev.veil.server;

import dev.veil.webrtc.cc.LayerSelector;
import dev.veil.webrtc.cc.ProbeController;
import dev.veil.webrtc.router.Consumer;
import dev.veil.webrtc.router.Router;
import dev.veil.webrtc.router.SimulcastLayer;
import java.util.ArrayList;
import java.util.List;

/**
 * One subscriber's layer choice from its downlink estimate: {@link DownlinkCc}'s estimate → {@link ProbeController}
 * (the budget) → {@link LayerSelector} → {@link Router#setBandwidthLayer} per simulcast consumer (the router targets
 * the lower of that cap and the subscriber's preferred maximum height; a switch happens at the new layer's next key
 * frame, the old layer flowing until then — except on a congested downgrade, where the old layer stops after its
 * frame in flight: its packets would fill the bottleneck's queue ahead of the new layer's key frame).
 *
 * <h2>Why not the raw estimate</h2>
 * The estimator is application-limited: it never rises above 1.5 × what the subscriber acknowledges, and before its
 * first feedback it is a guess. Feeding it straight to the selector would pull every subscriber down to the layer
 * the guess affords and keep it there. So the estimate only <b>lowers</b> layers when the estimator saw congestion
 * recently ({@link #CONGESTION_MEMORY_MILLIS}: delay overuse, a heavy-loss sample, a feedback timeout — or, for a
 * subscriber that sends REMB, a REMB below what its current layers cost); otherwise the budget is at least what the
 * current layers cost (keep them). The way up is the {@link ProbeController}'s: with transport-cc and an RTX stream
 * to pad on, a padding probe at the next layer's rate must be confirmed by the estimator before the layer goes up;
 * without (REMB only), the REMB value is the estimate and, once the hold is over, the next layer itself is the trial.
 * Holds: no step while a switch is pending, none within the hold after a downgrade (counted from the switch) or an
 * upgrade; a step up followed by a downgrade doubles the hold.
 *
 * <p>Audio is reserved first ({@link #AUDIO_RESERVE_BPS} per audio consumer). Plain logic on the event loop, the
 * clock passed in; testable against an in-memory {@link Router}.
 */
final class DownlinkLayers {

    /** What each received audio track is assumed to cost (Opus at its usual WebRTC rates, with headers). */
    static final long AUDIO_RESERVE_BPS = 64_000;
    static final long CONGESTION_MEMORY_MILLIS = 2000;

    private final LayerSelector selector = new LayerSelector(new LayerSelector.Config(0.2, 3000));
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(DownlinkLayers.class);
    private final ProbeController probes;
    private final String label;
    /** Consumer id → the layer chosen last time (what it gets or will get at the next key frame). */
    private java.util.Map<String, Integer> chosenLayers = new java.util.HashMap<>();
    private long downgrades;
    private long upgrades;
    /** Consumer id → when its last layer change was decided (until the switch at the key frame is seen). */
    private final java.util.Map<String, Long> decidedAt = new java.util.HashMap<>();

    /**
     * @param probes the subscriber's way up (probing or trial mode)
     * @param label names the subscriber in the log line of each layer change (rare: a few per minute at most)
     */
    DownlinkLayers(ProbeController probes, String label) {
        this.probes = probes;
        this.label = label;
    }

    DownlinkLayers(ProbeController probes) {
        this(probes, "test");
    }

    /** As {@link #apply(Router, long, long, long, List, List, long)} for a subscriber that sends no REMB. */
    void apply(Router router, long estimateBps, long lastCongestionMillis, List<String> consumerIds,
            List<Integer> maxHeights, long nowMillis) {
        apply(router, estimateBps, lastCongestionMillis, Long.MIN_VALUE, consumerIds, maxHeights, nowMillis);
    }

    /**
     * Re-chooses the layers of {@code consumerIds} (the subscriber's consumers, any kind) in {@code router}.
     *
     * @param estimateBps the downlink estimate
     * @param lastCongestionMillis when the estimator last saw congestion (MIN_VALUE: never)
     * @param lastRembMillis when the subscriber last sent a REMB (MIN_VALUE: never)
     * @param maxHeights the subscriber's preferred maximum height per consumer id (0: none), same order
     */
    void apply(Router router, long estimateBps, long lastCongestionMillis, long lastRembMillis,
            List<String> consumerIds, List<Integer> maxHeights, long nowMillis) {
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
        // a switch still waiting for its key frame: no step up while one is pending
        boolean pending = false;
        for (int i = 0; i < tracks.size(); i++) {
            Integer chosen = chosenLayers.get(tracks.get(i).consumerId());
            pending |= !tracks.get(i).paused() && chosen != null
                    && router.currentLayer(tracks.get(i).consumerId()) != chosen;
        }
        boolean congested = recent(lastCongestionMillis, nowMillis)
                || recent(lastRembMillis, nowMillis) && estimateBps < keep;
        long budget = probes.budget(estimateBps, congested, keep, step, pending, nowMillis); // (MAX_VALUE: NO_STEP)
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
            if (layer > cur && cur >= 0 && tracks.get(i).layers().get(cur).bitrateBps() > 0
                    && !probes.mayStepUp(nowMillis)) {
                layer = cur; // up only on a confirmed probe (a layer not started or not measured yet is free)
            }
            if (congested && layer > cur && cur >= 0) {
                layer = cur; // never up while congested (a publisher that stalled for 2 s measures 0 everywhere: free)
            }
            router.setBandwidthLayer(ch.consumerId(), ch.limitedByBandwidth() || ch.layer() < 0 || layer != ch.layer()
                    ? layer : -1, congested, nowMillis);
            // without a cap the router targets the preference, which may be above the selector's choice (a layer that
            // sent nothing in the last second is not "running" for the selector): what counts is where it is headed
            int target = router.targetLayer(ch.consumerId());
            layer = target >= 0 ? target : layer;
            chosen.put(ch.consumerId(), layer);
            up |= cur >= 0 && layer > cur;
            down |= cur >= 0 && layer < cur;
        }
        if (up || down) {
            LOG.info("{} layers {} -> {}: estimate {} bit/s, budget {}, keep {}, congested {}, probes {}/{} confirmed"
                    + " ({} spoiled), layer rates {}", label, chosenLayers, chosen, estimateBps, budget, keep,
                    congested, probes.probesConfirmed(), probes.probesStarted(), probes.probesSpoiled(), rates(tracks));
            for (var e : chosen.entrySet()) {
                if (!e.getValue().equals(chosenLayers.get(e.getKey()))) {
                    decidedAt.put(e.getKey(), nowMillis);
                }
            }
        }
        // the switch itself happens at the new layer's key frame: logged when first seen here (timeline of a change)
        for (var it = decidedAt.entrySet().iterator(); it.hasNext();) {
            var e = it.next();
            Integer want = chosen.get(e.getKey());
            if (want == null) {
                it.remove();
            } else if (router.currentLayer(e.getKey()) == want) {
                LOG.info("{} layers switched: layer {} {} ms after the decision", label, want, nowMillis - e.getValue());
                it.remove();
            }
        }
        chosenLayers = chosen;
        if (down) {
            downgrades++;
        } else if (up) {
            upgrades++;
        }
        probes.onChoice(up, down, nowMillis);
    }

    /** The tracks' measured layer rates in kbit/s, for the log line of a change. */
    private static String rates(List<LayerSelector.Track> tracks) {
        StringBuilder b = new StringBuilder();
        for (LayerSelector.Track t : tracks) {
            b.append('[');
            for (int i = 0; i < t.layers().size(); i++) {
                b.append(i == 0 ? "" : " ").append(t.layers().get(i).bitrateBps() / 1000);
            }
            b.append(']');
        }
        return b.toString();
    }

    private static boolean recent(long atMillis, long nowMillis) {
        return atMillis != Long.MIN_VALUE && nowMillis - atMillis < CONGESTION_MEMORY_MILLIS;
    }

    /** The current hold before a step up (for tests and metrics). */
    long holdMillis() {
        return probes.holdMillis();
    }

    void addCounters(java.util.Map<String, Long> out) {
        out.merge("media.downlink.layer_downgrades", downgrades, Long::sum);
        out.merge("media.downlink.layer_upgrades", upgrades, Long::sum);
        out.merge("media.downlink.probes_started", probes.probesStarted(), Long::sum);
        out.merge("media.downlink.probes_confirmed", probes.probesConfirmed(), Long::sum);
        out.merge("media.downlink.probes_failed", probes.probesFailed(), Long::sum);
        out.merge("media.downlink.probes_spoiled", probes.probesSpoiled(), Long::sum);
        out.merge("media.downlink.step_trials", probes.trials(), Long::sum);
    }
}
