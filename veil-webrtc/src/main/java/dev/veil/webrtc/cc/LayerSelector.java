package dev.veil.webrtc.cc;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Chooses, for one subscriber, the simulcast layer of each video track it receives from the bandwidth estimate
 * ({@link DownlinkEstimator}), the subscriber's preferred maximum resolution per track and the layers' measured
 * bitrates. The answer is a target layer per consumer for the layer switcher (which switches at the next key frame),
 * or -1: do not send this video now.
 *
 * <h2>Policy</h2>
 * <ol>
 *   <li><b>Audio first</b>: the audio bitrate is taken off the estimate before video gets anything; audio is never
 *       paused by this policy.</li>
 *   <li>Each track's <b>ceiling</b> is the highest running layer (measured bitrate above 0) whose resolution fits the
 *       preferred maximum (width and height both within it; 0 means no preference); if none fits, the lowest
 *       running layer. A paused track gets -1 and no budget.</li>
 *   <li><b>Minimums first</b>: tracks in the caller's order (its priority) get their lowest running layer while the
 *       budget lasts; then <b>upgrades round-robin</b>, one layer per track per round, up to the ceilings, so two
 *       tracks share a tight link fairly instead of one getting its top layer and the other nothing.</li>
 *   <li><b>Hysteresis</b>: keeping what a track already has needs the budget to cover its cost; getting more than it
 *       has needs {@link Config#upgradeHeadroom()} of that extra layer's cost to spare on top, and not within {@link
 *       Config#upgradeHoldMillis()} of the track's last downgrade for bandwidth (a layer that stops running lowers
 *       the ceiling, which is no such downgrade: the track gets the layer back as soon as it runs again). A downgrade happens as soon as the budget no
 *       longer covers the current layer. An estimate wobbling around a layer's bitrate therefore does not flap.</li>
 * </ol>
 * A track whose layers have no measured bitrate yet (nothing received) costs nothing and gets its ceiling by
 * resolution alone.
 *
 * <p>Pure logic plus a small state per consumer (current layer, last downgrade), kept only for the tracks of the
 * last call. No clock: the caller passes {@code nowMillis}. Not thread-safe.
 */
public final class LayerSelector {

    /**
     * Tuning.
     *
     * @param upgradeHeadroom spare budget an upgrade needs, as a fraction of the new layer's cost (e.g. 0.2)
     * @param upgradeHoldMillis no upgrade of a track this soon after its downgrade
     */
    public record Config(double upgradeHeadroom, long upgradeHoldMillis) {
        public Config {
            if (!(upgradeHeadroom >= 0) || upgradeHoldMillis < 0) {
                throw new IllegalArgumentException("headroom and hold must not be negative");
            }
        }

        /** 20% headroom, 3 s hold. */
        public static Config defaults() {
            return new Config(0.2, 3000);
        }
    }

    /**
     * One simulcast layer as the server measures it.
     *
     * @param width its width (0 if unknown)
     * @param height its height (0 if unknown)
     * @param bitrateBps what it is received at now (0: not running)
     */
    public record Layer(int width, int height, long bitrateBps) {}

    /**
     * One video track the subscriber receives.
     *
     * @param consumerId the consumer
     * @param layers its layers, lowest first (a single entry for a track without simulcast)
     * @param maxWidth preferred maximum width (0: none)
     * @param maxHeight preferred maximum height (0: none)
     * @param paused whether the subscriber paused it
     */
    public record Track(String consumerId, List<Layer> layers, int maxWidth, int maxHeight, boolean paused) {
        public Track {
            Objects.requireNonNull(consumerId, "consumerId");
            layers = List.copyOf(layers);
        }
    }

    /**
     * The choice for one track.
     *
     * @param consumerId the consumer
     * @param layer the target layer, or -1 (do not send)
     * @param limitedByBandwidth whether the estimate (not the preference) kept it below its ceiling
     */
    public record Choice(String consumerId, int layer, boolean limitedByBandwidth) {}

    /**
     * The whole answer.
     *
     * @param choices one per track, in the order given
     * @param videoBudgetBps the estimate minus audio
     * @param videoAllocatedBps what the chosen layers cost
     */
    public record Allocation(List<Choice> choices, long videoBudgetBps, long videoAllocatedBps) {}

    private static final class State {
        int layer = -1;
        long lastDowngradeMillis = Long.MIN_VALUE;
    }

    private final Config config;
    private Map<String, State> states = new HashMap<>();
    private long switches;

    public LayerSelector(Config config) {
        this.config = Objects.requireNonNull(config, "config");
    }

    /** Layer changes decided so far (including starts and stops). */
    public long switches() {
        return switches;
    }

    /**
     * Chooses a layer for every track.
     *
     * @param estimateBps the subscriber's downlink estimate
     * @param audioBps the bitrate of the audio it receives (reserved first)
     * @param tracks its video tracks, in priority order
     * @param nowMillis now
     */
    public Allocation allocate(long estimateBps, long audioBps, List<Track> tracks, long nowMillis) {
        long budget = Math.max(0, estimateBps - Math.max(0, audioBps));
        int n = tracks.size();
        int[] ceiling = new int[n];
        int[] chosen = new int[n];
        Map<String, State> next = new HashMap<>();
        State[] st = new State[n];
        for (int i = 0; i < n; i++) {
            Track t = tracks.get(i);
            st[i] = states.getOrDefault(t.consumerId(), new State());
            next.put(t.consumerId(), st[i]);
            ceiling[i] = t.paused() ? -1 : ceiling(t);
            chosen[i] = -1;
        }
        long remaining = budget;
        // minimums, in priority order
        for (int i = 0; i < n; i++) {
            if (ceiling[i] < 0) {
                continue;
            }
            int lowest = nextRunning(tracks.get(i), -1, ceiling[i]);
            long cost = cost(tracks.get(i), lowest);
            if (affordable(st[i], lowest, cost, cost, remaining, nowMillis)) {
                chosen[i] = lowest;
                remaining -= cost;
            }
        }
        // upgrades, one layer per track per round
        boolean changed = true;
        while (changed) {
            changed = false;
            for (int i = 0; i < n; i++) {
                if (chosen[i] < 0 || chosen[i] >= ceiling[i]) {
                    continue;
                }
                Track t = tracks.get(i);
                int up = nextRunning(t, chosen[i], ceiling[i]);
                if (up < 0) {
                    continue;
                }
                long cost = cost(t, up);
                long extra = cost - cost(t, chosen[i]);
                if (affordable(st[i], up, cost, extra, remaining, nowMillis)) {
                    chosen[i] = up;
                    remaining -= extra;
                    changed = true;
                }
            }
        }
        List<Choice> choices = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            State s = st[i];
            if (chosen[i] != s.layer) {
                switches++;
                if (chosen[i] < s.layer && !tracks.get(i).paused() && chosen[i] < ceiling[i]) {
                    s.lastDowngradeMillis = nowMillis; // (a lower ceiling — a layer stopped — holds nothing back)
                }
                s.layer = chosen[i];
            }
            choices.add(new Choice(tracks.get(i).consumerId(), chosen[i], chosen[i] < ceiling[i]));
        }
        states = next;
        return new Allocation(List.copyOf(choices), budget, budget - remaining);
    }

    /**
     * Whether layer {@code layer} (costing {@code extra} more than what the track is given so far in this round)
     * fits: a layer at or below the track's current one only needs to fit; one above needs the headroom and no
     * recent downgrade.
     */
    private boolean affordable(State s, int layer, long cost, long extra, long remaining, long nowMillis) {
        if (layer <= s.layer) {
            return extra <= remaining;
        }
        if (s.lastDowngradeMillis != Long.MIN_VALUE && nowMillis - s.lastDowngradeMillis < config.upgradeHoldMillis()) {
            return false;
        }
        return extra + (long) (config.upgradeHeadroom() * cost) <= remaining;
    }

    private static long cost(Track t, int layer) {
        return layer < 0 ? 0 : Math.max(0, t.layers().get(layer).bitrateBps());
    }

    private static boolean anyRunning(Track t) {
        for (Layer l : t.layers()) {
            if (l.bitrateBps() > 0) {
                return true;
            }
        }
        return false;
    }

    /** The next layer above {@code from} up to {@code ceiling} that runs (any layer if none runs), or -1. */
    private static int nextRunning(Track t, int from, int ceiling) {
        boolean any = anyRunning(t);
        for (int i = from + 1; i <= ceiling; i++) {
            if (!any || t.layers().get(i).bitrateBps() > 0) {
                return i;
            }
        }
        return -1;
    }

    /** The highest running layer within the preferred resolution; the lowest running one if none fits. */
    private static int ceiling(Track t) {
        List<Layer> layers = t.layers();
        if (layers.isEmpty()) {
            return -1;
        }
        boolean any = anyRunning(t);
        int best = -1;
        int lowest = -1;
        for (int i = 0; i < layers.size(); i++) {
            Layer l = layers.get(i);
            if (any && l.bitrateBps() <= 0) {
                continue;
            }
            if (lowest < 0) {
                lowest = i;
            }
            boolean fits = (t.maxWidth() <= 0 || l.width() <= t.maxWidth())
                    && (t.maxHeight() <= 0 || l.height() <= t.maxHeight());
            if (fits) {
                best = i;
            }
        }
        return best >= 0 ? best : lowest;
    }
}
