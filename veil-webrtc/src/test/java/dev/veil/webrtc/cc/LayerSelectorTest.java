package dev.veil.webrtc.cc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.veil.webrtc.cc.LayerSelector.Allocation;
import dev.veil.webrtc.cc.LayerSelector.Layer;
import dev.veil.webrtc.cc.LayerSelector.Track;
import java.util.List;
import org.junit.jupiter.api.Test;

class LayerSelectorTest {

    private static final List<Layer> SIMULCAST = List.of(new Layer(320, 180, 150_000), new Layer(640, 360, 500_000),
            new Layer(1280, 720, 1_500_000));

    private static Track track(String id) {
        return new Track(id, SIMULCAST, 0, 0, false);
    }

    private static int layer(Allocation a, int i) {
        return a.choices().get(i).layer();
    }

    @Test
    void picksTheHighestLayerTheBudgetCovers() {
        LayerSelector s = new LayerSelector(LayerSelector.Config.defaults());
        assertEquals(2, layer(s.allocate(3_000_000, 64_000, List.of(track("a")), 0), 0));
        LayerSelector t = new LayerSelector(LayerSelector.Config.defaults());
        Allocation a = t.allocate(1_000_000, 64_000, List.of(track("a")), 0);
        assertEquals(1, layer(a, 0));
        assertTrue(a.choices().get(0).limitedByBandwidth());
        assertEquals(936_000, a.videoBudgetBps());
        assertEquals(500_000, a.videoAllocatedBps());
    }

    @Test
    void thePreferredResolutionCapsTheLayerWhateverTheBudget() {
        LayerSelector s = new LayerSelector(LayerSelector.Config.defaults());
        Allocation a = s.allocate(10_000_000, 0, List.of(new Track("a", SIMULCAST, 640, 360, false),
                new Track("b", SIMULCAST, 200, 100, false)), 0);
        assertEquals(1, layer(a, 0));
        assertFalse(a.choices().get(0).limitedByBandwidth());
        assertEquals(0, layer(a, 1), "nothing fits 200x100: the lowest layer");
    }

    @Test
    void audioIsReservedBeforeVideo() {
        LayerSelector s = new LayerSelector(LayerSelector.Config.defaults());
        // 200 kbit/s - 64 kbit/s of audio leaves 136 kbit/s: not even the 150 kbit/s layer
        Allocation a = s.allocate(200_000, 64_000, List.of(track("a")), 0);
        assertEquals(-1, layer(a, 0));
        assertEquals(0, a.videoAllocatedBps());
        assertEquals(0, layer(s.allocate(260_000, 64_000, List.of(track("a")), 100), 0));
        Allocation none = s.allocate(50_000, 64_000, List.of(track("a")), 200);
        assertEquals(0, none.videoBudgetBps(), "audio above the estimate leaves video nothing");
        assertEquals(-1, layer(none, 0));
    }

    @Test
    void doesNotFlapWhenTheEstimateWobblesAroundALayer() {
        LayerSelector s = new LayerSelector(LayerSelector.Config.defaults());
        s.allocate(2_000_000, 0, List.of(track("a")), 0); // layer 2
        long before = s.switches();
        // 1.5 Mbit/s +-10%: covers layer 2 part of the time
        int changes = 0;
        int last = 2;
        for (int i = 0; i < 200; i++) {
            long estimate = 1_500_000 + (i % 2 == 0 ? 150_000 : -150_000);
            int l = layer(s.allocate(estimate, 0, List.of(track("a")), 100L * i), 0);
            changes += l != last ? 1 : 0;
            last = l;
        }
        assertEquals(1, changes, "one downgrade, then held down by the headroom and the hold time");
        assertEquals(1, last);
        assertEquals(before + 1, s.switches());
    }

    @Test
    void downgradesAtOnceAndUpgradesOnlyAfterTheHold() {
        LayerSelector s = new LayerSelector(new LayerSelector.Config(0.2, 3000));
        assertEquals(2, layer(s.allocate(2_000_000, 0, List.of(track("a")), 0), 0));
        assertEquals(0, layer(s.allocate(400_000, 0, List.of(track("a")), 1000), 0), "at once");
        assertEquals(0, layer(s.allocate(5_000_000, 0, List.of(track("a")), 3999), 0), "held");
        assertEquals(2, layer(s.allocate(5_000_000, 0, List.of(track("a")), 4000), 0), "after the hold");
    }

    @Test
    void aLayerThatStopsRunningLowersTheCeilingWithoutStartingTheHold() {
        LayerSelector s = new LayerSelector(new LayerSelector.Config(0.2, 3000));
        assertEquals(2, layer(s.allocate(5_000_000, 0, List.of(track("a")), 0), 0));
        // the publisher's top layer sends nothing for a while (measured 0): the ceiling drops to layer 1
        Track stopped = new Track("a", List.of(SIMULCAST.get(0), SIMULCAST.get(1), new Layer(1280, 720, 0)), 0, 0,
                false);
        Allocation a = s.allocate(5_000_000, 0, List.of(stopped), 1000);
        assertEquals(1, layer(a, 0));
        assertFalse(a.choices().get(0).limitedByBandwidth());
        // it runs again: back at once, no upgrade hold (that is for downgrades the bandwidth forced)
        assertEquals(2, layer(s.allocate(5_000_000, 0, List.of(track("a")), 1100), 0));
    }

    @Test
    void anUpgradeNeedsHeadroomButKeepingDoesNot() {
        LayerSelector s = new LayerSelector(new LayerSelector.Config(0.2, 0));
        assertEquals(1, layer(s.allocate(1_400_000, 0, List.of(track("a")), 0), 0), "1.4 Mbit/s does not cover 1.5");
        LayerSelector t = new LayerSelector(new LayerSelector.Config(0.2, 0));
        assertEquals(1, layer(t.allocate(1_550_000, 0, List.of(track("a")), 0), 0), "1.55 < 1.5 + 20% of 1.5");
        assertEquals(2, layer(t.allocate(1_800_000, 0, List.of(track("a")), 10), 0));
        assertEquals(2, layer(t.allocate(1_500_000, 0, List.of(track("a")), 20), 0), "keeping needs no headroom");
        assertEquals(1, layer(t.allocate(1_499_999, 0, List.of(track("a")), 30), 0));
    }

    @Test
    void tracksShareFairly() {
        LayerSelector s = new LayerSelector(new LayerSelector.Config(0, 0));
        Allocation a = s.allocate(700_000, 0, List.of(track("a"), track("b")), 0);
        assertEquals(1, layer(a, 0), "priority order: a upgrades first");
        assertEquals(0, layer(a, 1), "b still gets its lowest layer");
        Allocation tight = new LayerSelector(new LayerSelector.Config(0, 0))
                .allocate(200_000, 0, List.of(track("a"), track("b")), 0);
        assertEquals(0, layer(tight, 0));
        assertEquals(-1, layer(tight, 1), "only one minimum fits");
    }

    @Test
    void pausedTracksAndStoppedLayersCostNothing() {
        LayerSelector s = new LayerSelector(new LayerSelector.Config(0, 0));
        List<Layer> highStopped = List.of(new Layer(320, 180, 150_000), new Layer(640, 360, 500_000),
                new Layer(1280, 720, 0));
        Allocation a = s.allocate(10_000_000, 0, List.of(new Track("a", highStopped, 0, 0, false),
                new Track("b", SIMULCAST, 0, 0, true)), 0);
        assertEquals(1, layer(a, 0), "the stopped top layer is skipped");
        assertEquals(-1, layer(a, 1), "paused");
        assertEquals(500_000, a.videoAllocatedBps());
        List<Layer> unmeasured = List.of(new Layer(320, 180, 0), new Layer(640, 360, 0));
        assertEquals(1, layer(s.allocate(0, 0, List.of(new Track("c", unmeasured, 0, 0, false)), 0), 0),
                "nothing measured yet: by resolution alone");
    }

    @Test
    void forgetsTracksNoLongerListed() {
        LayerSelector s = new LayerSelector(new LayerSelector.Config(0.2, 3000));
        s.allocate(2_000_000, 0, List.of(track("a")), 0);
        s.allocate(200_000, 0, List.of(track("a")), 10); // downgrade: hold armed
        s.allocate(200_000, 0, List.of(), 20); // a is gone
        assertEquals(2, layer(s.allocate(2_000_000, 0, List.of(track("a")), 30), 0), "a new a has no hold");
    }
}
