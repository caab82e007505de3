package dev.veil.webrtc.cc;

import java.util.List;

/**
 * The SFU side of a closed loop over a {@link LinkSim}: every 100 ms the {@link ProbeController}'s budget goes through
 * a {@link LayerSelector} for one simulcast track of 150 kbit/s, 500 kbit/s and 1.5 Mbit/s layers; the sender is
 * application-limited (it sends the layer chosen, nothing more). A step up needs a confirmed probe, as in the server's
 * {@code DownlinkLayers}.
 */
final class ProbeLoop {

    static final long[] COST = {150_000, 500_000, 1_500_000};
    static final DownlinkEstimator.Config CONFIG = new DownlinkEstimator.Config(300_000, 50_000, 5_000_000,
            1500, 500);

    final LinkSim sim;
    final ProbeController controller;
    final LayerSelector selector = new LayerSelector(new LayerSelector.Config(0.2, 3000));
    int layer;
    int ups;
    int downs;
    int maxLayer;
    long upsWithoutConfirmedProbe;

    ProbeLoop(long capacityBps, long seed, boolean probing) {
        sim = new LinkSim(capacityBps, 0, seed, CONFIG);
        Prober prober = probing ? new Prober(Prober.Config.padding()) : null;
        sim.prober = prober;
        controller = new ProbeController(ProbeController.Config.defaults(), prober, sim.estimator);
        sim.appRateBps = COST[0];
        sim.listener = o -> {
            if (o instanceof DownlinkEstimator.ProbeResult r) {
                controller.onProbeResult(r, sim.nowMillis);
            }
        };
        sim.onTick = this::tick;
    }

    private void tick(long now) {
        if (now % 100 != 0) {
            return;
        }
        long congestionAt = sim.estimator.lastCongestionMillis();
        boolean congested = congestionAt != Long.MIN_VALUE && now - congestionAt < 2000;
        long step = layer < 2 ? COST[layer + 1] - COST[layer] + COST[layer + 1] / 4 : ProbeController.NO_STEP;
        long confirmedBefore = controller.probesConfirmed();
        long budget = controller.budget(sim.estimate(), congested, COST[layer], step, false, now);
        List<LayerSelector.Layer> layers = List.of(new LayerSelector.Layer(320, 180, COST[0]),
                new LayerSelector.Layer(640, 360, COST[1]), new LayerSelector.Layer(1280, 720, COST[2]));
        int chosen = Math.max(0, selector.allocate(budget, 0,
                List.of(new LayerSelector.Track("c", layers, 0, 0, false)), now).choices().get(0).layer());
        if (chosen > layer && !controller.mayStepUp(now)) {
            chosen = layer; // as DownlinkLayers: up only on a confirmed probe
        }
        controller.onChoice(chosen > layer, chosen < layer, now);
        if (chosen > layer) {
            ups++;
            if (controller.probing() && confirmedBefore == 0) {
                upsWithoutConfirmedProbe++;
            }
        } else if (chosen < layer) {
            downs++;
        }
        layer = chosen;
        maxLayer = Math.max(maxLayer, layer);
        sim.appRateBps = COST[layer];
    }
}
