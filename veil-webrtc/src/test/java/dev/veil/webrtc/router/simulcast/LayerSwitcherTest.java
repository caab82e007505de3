package dev.veil.webrtc.router.simulcast;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The layer-switching stage, driven packet by packet on a manual clock. */
class LayerSwitcherTest {

    /** A publisher's three layers: own sequence numbers and timestamps per layer (as Chromium's SSRCs have). */
    private final int[] seq = {100, 30_000, 65_530};
    private final long[] ts = {1_000, 2_000_000_000L, 4_294_960_000L};
    private long now = 10_000;
    private LayerSwitcher sw;

    @BeforeEach
    void setUp() {
        sw = new LayerSwitcher(3, 90_000, LayerSwitcherConfig.defaults());
    }

    /** One frame (of {@code packets} packets) on every layer, 33 ms apart; returns the outputs. */
    private List<LayerOutput> frame(boolean[] key, int packets) {
        List<LayerOutput> out = new ArrayList<>();
        for (int l = 0; l < 3; l++) {
            for (int p = 0; p < packets; p++) {
                sw.onPacket(l, seq[l]++, ts[l], key[l] && p == 0, now);
                drain(out);
            }
            ts[l] = (ts[l] + 2970) & 0xFFFF_FFFFL;
        }
        now += 33;
        return out;
    }

    private List<LayerOutput> frame() {
        return frame(new boolean[3], 2);
    }

    private List<LayerOutput> keyFrame(int layer) {
        boolean[] k = new boolean[3];
        k[layer] = true;
        return frame(k, 2);
    }

    private void drain(List<LayerOutput> out) {
        LayerOutput o;
        while ((o = sw.pollOutput()) != null) {
            out.add(o);
        }
    }

    private List<LayerOutput> drain() {
        List<LayerOutput> out = new ArrayList<>();
        drain(out);
        return out;
    }

    private static List<LayerOutput.Forward> forwards(List<LayerOutput> out, String consumer) {
        return out.stream().filter(o -> o instanceof LayerOutput.Forward f && f.consumerId().equals(consumer))
                .map(o -> (LayerOutput.Forward) o).toList();
    }

    private static List<Integer> requests(List<LayerOutput> out) {
        return out.stream().filter(o -> o instanceof LayerOutput.RequestKeyFrame)
                .map(o -> ((LayerOutput.RequestKeyFrame) o).layer()).toList();
    }

    /** Starts a consumer on {@code layer} at a key frame; returns its last forward. */
    private LayerOutput.Forward started(String id, int layer) {
        frame(); // all layers running
        sw.addConsumer(id, layer, 5000, 77_000, now);
        drain();
        List<LayerOutput.Forward> f = forwards(keyFrame(layer), id);
        assertFalse(f.isEmpty());
        return f.get(f.size() - 1);
    }

    @Test
    void aNewConsumerAsksForAKeyFrameAndStartsThereWithItsInitialValues() {
        frame();
        sw.addConsumer("c", 2, 5000, 77_000, now);
        assertEquals(List.of(2), requests(drain()));
        assertEquals(-1, sw.currentLayer("c"));
        assertTrue(forwards(frame(), "c").isEmpty(), "nothing before a key frame");
        assertTrue(forwards(keyFrame(1), "c").isEmpty(), "a key frame of another layer does not start it");
        List<LayerOutput.Forward> f = forwards(keyFrame(2), "c");
        assertEquals(2, f.size());
        assertEquals(new LayerOutput.Forward("c", 2, 5000, 77_000, true), f.get(0));
        assertEquals(new LayerOutput.Forward("c", 2, 5001, 77_000, false), f.get(1));
        assertEquals(2, sw.currentLayer("c"));
        assertEquals(0, sw.switches(), "a start is not a switch");
    }

    @Test
    void switchesDownOnlyAtAKeyFrameOfTheTargetWithContinuousSequenceAndTimestamp() {
        LayerOutput.Forward last = started("c", 2);
        sw.setTargetLayer("c", 0, now);
        assertEquals(List.of(0), requests(drain()), "asks the publisher for a key frame of the new layer at once");
        // until that key frame, the old layer keeps flowing (no freeze) and the new one is not forwarded
        for (int i = 0; i < 3; i++) {
            List<LayerOutput.Forward> f = forwards(frame(), "c");
            assertEquals(2, f.size());
            assertTrue(f.stream().allMatch(x -> x.layer() == 2));
            last = f.get(1);
        }
        long lastMillis = now - 33; // when the last layer-2 packet went out
        List<LayerOutput.Forward> f = forwards(keyFrame(0), "c");
        assertEquals(2, f.size(), "only the new layer from its key frame on");
        LayerOutput.Forward first = f.get(0);
        assertEquals(0, first.layer());
        assertTrue(first.switched());
        assertEquals((last.outSeq() + 1) & 0xFFFF, first.outSeq(), "sequence number + 1: no gap across the switch");
        long expectTs = (last.outTimestamp() + (now - 33 - lastMillis) * 90) & 0xFFFF_FFFFL;
        assertEquals(expectTs, first.outTimestamp(), "timestamp advanced by the time elapsed");
        assertEquals((first.outSeq() + 1) & 0xFFFF, f.get(1).outSeq());
        assertEquals(1, sw.switches());
        // later frames: layer 0 only, sequence numbers still consecutive, timestamps +2970 a frame
        List<LayerOutput.Forward> g = forwards(frame(), "c");
        assertEquals(List.of(0, 0), g.stream().map(LayerOutput.Forward::layer).toList());
        assertEquals((f.get(1).outSeq() + 1) & 0xFFFF, g.get(0).outSeq());
        assertEquals((first.outTimestamp() + 2970) & 0xFFFF_FFFFL, g.get(0).outTimestamp());
    }

    @Test
    void switchesUpTooAndSequenceNumbersWrap() {
        started("c", 0);
        sw.setTargetLayer("c", 2, now);
        drain();
        // layer 2's sequence numbers wrap (65530 + ...): the mapping follows them
        int prev = -1;
        boolean up = false;
        for (int i = 0; i < 6; i++) {
            List<LayerOutput> out = i == 2 ? keyFrame(2) : frame();
            for (LayerOutput.Forward f : forwards(out, "c")) {
                if (prev >= 0) {
                    assertEquals((prev + 1) & 0xFFFF, f.outSeq());
                }
                prev = f.outSeq();
                up |= f.switched();
                assertEquals(up ? 2 : 0, f.layer());
            }
        }
        assertTrue(up);
        assertEquals(2, sw.currentLayer("c"));
    }

    @Test
    void keyFrameRequestsAreLimitedPerLayerAndRetriedWhileWaiting() {
        frame();
        sw.addConsumer("a", 1, 1, 1, now);
        sw.addConsumer("b", 1, 1, 1, now);
        assertEquals(List.of(1), requests(drain()), "one request for both");
        assertEquals(1, sw.keyFrameRequestsSuppressed());
        long deadline = sw.poll(now);
        assertEquals(now + 250, deadline);
        now += 250;
        sw.poll(now);
        assertEquals(List.of(), requests(drain()), "retry due, but within the 500 ms per-layer limit");
        now += 250;
        sw.poll(now);
        assertEquals(List.of(1), requests(drain()));
        keyFrame(1);
        assertEquals(Long.MAX_VALUE, sw.poll(now), "nobody waits any more");
        assertEquals(1, sw.currentLayer("a"));
        assertEquals(1, sw.currentLayer("b"));
    }

    @Test
    void whileWaitingTheOldLayerFlowsEveryFrameAndKeyFrameRequestsAreCoalesced() {
        started("c", 2);
        sw.setTargetLayer("c", 0, now);
        sw.onKeyFrameRequest("c", now); // the subscriber's own PLI at the same moment
        assertEquals(List.of(0), requests(drain()), "one request for the target layer");
        // 3 s without a key frame of layer 0 (a slow publisher); the target moves 0 -> 1 -> 0 meanwhile
        List<Integer> asked = new ArrayList<>();
        long waitStart = now;
        int frames = 0;
        while (now - waitStart < 3000) {
            if (frames == 30) {
                sw.setTargetLayer("c", 1, now);
            } else if (frames == 31) {
                sw.setTargetLayer("c", 0, now);
            }
            List<LayerOutput> out = frame();
            out.addAll(drain());
            asked.addAll(requests(out));
            sw.poll(now);
            asked.addAll(requests(drain()));
            List<LayerOutput.Forward> f = forwards(out, "c");
            assertEquals(2, f.size(), "the old layer's whole frame, every frame, until the switch");
            assertTrue(f.stream().allMatch(x -> x.layer() == 2 && !x.switched()));
            frames++;
        }
        assertEquals(2, sw.currentLayer("c"));
        // requests: at most one per layer per 500 ms (the per-layer limit), never one per frame
        long layer0 = asked.stream().filter(l -> l == 0).count();
        assertTrue(layer0 >= 4 && layer0 <= 7, "layer 0 asked " + layer0 + " times in 3 s: " + asked);
        assertTrue(asked.stream().filter(l -> l == 1).count() <= 1, "the brief wish for layer 1: " + asked);
        assertEquals(0, sw.switches());
        // the key frame arrives: the switch happens exactly there, no gap
        List<LayerOutput.Forward> f = forwards(keyFrame(0), "c");
        assertEquals(0, f.get(0).layer());
        assertTrue(f.get(0).switched());
        assertEquals(1, sw.switches());
    }

    @Test
    void aSubscriberPliAsksForItsCurrentLayer() {
        started("c", 1);
        now += 1000;
        sw.onKeyFrameRequest("c", now);
        assertEquals(List.of(1), requests(drain()));
        sw.onKeyFrameRequest("c", now + 10);
        assertEquals(List.of(), requests(drain()));
        sw.onKeyFrameRequest("nobody", now);
        assertEquals(List.of(), drain());
    }

    @Test
    void aStoppedLayerMovesConsumersToTheBestRunningOneAndBackWhenItReturns() {
        started("c", 2);
        // the publisher stops layer 2 (its uplink estimate fell): only layers 0 and 1 keep coming
        List<LayerOutput> out = new ArrayList<>();
        for (int i = 0; i < 40; i++) { // 1.3 s
            for (int l = 0; l < 2; l++) {
                sw.onPacket(l, seq[l]++, ts[l], false, now);
                drain(out);
                ts[l] += 2970;
            }
            now += 33;
        }
        assertFalse(sw.isLayerActive(2, now));
        assertEquals(1, sw.effectiveLayer("c", now));
        assertEquals(List.of(1), requests(out), "asks for a key frame of layer 1 once layer 2 is gone");
        sw.onPacket(1, seq[1]++, ts[1], true, now);
        List<LayerOutput.Forward> f = forwards(drain(), "c");
        assertEquals(1, f.size());
        assertTrue(f.get(0).switched());
        assertEquals(1, sw.currentLayer("c"));
        // layer 2 comes back: the consumer goes back up at its next key frame
        frame();
        assertEquals(2, sw.effectiveLayer("c", now));
        assertEquals(2, forwards(keyFrame(2), "c").stream().filter(x -> x.layer() == 2).count());
        assertEquals(2, sw.currentLayer("c"));
        assertEquals(2, sw.switches());
    }

    @Test
    void withNoLayerBelowRunningItTakesTheLowestAboveAndWithNoneTheTarget() {
        sw.addConsumer("c", 0, 1, 1, now);
        assertEquals(List.of(0), requests(drain()), "nothing runs yet: the target");
        sw.onPacket(2, seq[2]++, ts[2], false, now);
        assertEquals(2, sw.effectiveLayer("c", now));
        sw.onPacket(1, seq[1]++, ts[1], false, now);
        assertEquals(1, sw.effectiveLayer("c", now));
        sw.onPacket(0, seq[0]++, ts[0], false, now);
        assertEquals(0, sw.effectiveLayer("c", now));
    }

    @Test
    void sourceOfMapsNackedSequenceNumbersBackWithinTheCurrentMappingOnly() {
        LayerOutput.Forward beforeSwitch = started("c", 2);
        assertEquals(new LayerSwitcher.Source(2, (seq[2] - 1) & 0xFFFF), sw.sourceOf("c", beforeSwitch.outSeq()));
        sw.setTargetLayer("c", 1, now);
        List<LayerOutput.Forward> f = forwards(keyFrame(1), "c");
        LayerOutput.Forward first = f.get(0);
        assertEquals(new LayerSwitcher.Source(1, (seq[1] - 2) & 0xFFFF), sw.sourceOf("c", first.outSeq()));
        assertNull(sw.sourceOf("c", beforeSwitch.outSeq()), "sent from another layer's mapping");
        assertNull(sw.sourceOf("c", (f.get(1).outSeq() + 1) & 0xFFFF), "not sent yet");
        assertNull(sw.sourceOf("nobody", 1));
    }

    @Test
    void packetsFromBeforeTheSwitchPointAreDropped() {
        started("c", 1);
        int key = seq[1];
        keyFrame(1); // no switch: already on layer 1
        sw.setTargetLayer("c", 0, now);
        keyFrame(0);
        assertEquals(0, sw.currentLayer("c"));
        long droppedBefore = sw.dropped();
        sw.onPacket(0, seq[0] - 3, ts[0] - 2970, false, now); // a layer-0 packet from before its key frame, late
        assertTrue(forwards(drain(), "c").isEmpty());
        assertEquals(droppedBefore + 1, sw.dropped());
        sw.onPacket(1, key, ts[1], true, now); // the old layer: never again
        assertTrue(forwards(drain(), "c").isEmpty());
    }

    @Test
    void pauseStopsForwardingAndResumeContinuesSeamlesslyAtAKeyFrame() {
        LayerOutput.Forward last = started("c", 2);
        sw.setPaused("c", true, now);
        assertTrue(forwards(keyFrame(2), "c").isEmpty());
        assertEquals(List.of(), requests(drain()));
        now += 1000;
        sw.setPaused("c", false, now);
        assertEquals(List.of(2), requests(drain()));
        assertTrue(forwards(frame(), "c").isEmpty(), "waits for a key frame");
        List<LayerOutput.Forward> f = forwards(keyFrame(2), "c");
        assertEquals((last.outSeq() + 1) & 0xFFFF, f.get(0).outSeq());
        assertTrue(Long.compareUnsigned(f.get(0).outTimestamp(), last.outTimestamp()) > 0);
    }

    @Test
    void consumersAreIndependent() {
        frame();
        sw.addConsumer("low", 0, 10, 10, now);
        sw.addConsumer("high", 2, 20, 20, now);
        drain();
        List<LayerOutput> out = frame(new boolean[] {true, true, true}, 2);
        assertTrue(forwards(out, "low").stream().allMatch(f -> f.layer() == 0));
        assertTrue(forwards(out, "high").stream().allMatch(f -> f.layer() == 2));
        assertEquals(2, forwards(out, "low").size());
        assertEquals(2, forwards(out, "high").size());
        sw.removeConsumer("low");
        assertTrue(forwards(frame(), "low").isEmpty());
        assertThrows(IllegalArgumentException.class, () -> sw.currentLayer("low"));
    }

    @Test
    void aCongestedDowngradeCompletesTheFrameInFlightThenStopsTheOldLayerUntilTheNewKeyFrame() {
        started("c", 2);
        // the first of a layer-2 frame's three packets went out, then the estimator says the link is congested
        List<LayerOutput> out = new ArrayList<>();
        sw.onPacket(2, seq[2]++, ts[2], false, now);
        drain(out);
        sw.setTargetLayer("c", 0, true, now);
        drain(out);
        assertEquals(List.of(0), requests(out), "asks for the new layer's key frame at once");
        sw.onPacket(2, seq[2]++, ts[2], false, now);
        sw.onPacket(2, seq[2]++, ts[2], false, now);
        drain(out);
        ts[2] = (ts[2] + 2970) & 0xFFFF_FFFFL;
        List<LayerOutput.Forward> inFlight = forwards(out, "c");
        assertEquals(3, inFlight.size(), "the frame in flight is completed (a half frame is no use)");
        LayerOutput.Forward last = inFlight.get(2);
        // 300 ms until the publisher's key frame: no old-layer frame fills the congested link meanwhile
        for (int i = 0; i < 9; i++) {
            assertTrue(forwards(frame(), "c").isEmpty(), "frame " + i + " of the old layer is not forwarded");
        }
        assertEquals(1, sw.drains());
        List<LayerOutput.Forward> f = forwards(keyFrame(0), "c");
        assertEquals(2, f.size());
        assertEquals(0, f.get(0).layer());
        assertTrue(f.get(0).switched());
        assertEquals((last.outSeq() + 1) & 0xFFFF, f.get(0).outSeq(), "no gap: the subscriber sees no loss");
        assertTrue(((f.get(0).outTimestamp() - last.outTimestamp()) & 0xFFFF_FFFFL) >= 9 * 2970,
                "the timestamp moved on by the pause");
        assertEquals(1, sw.switches());
        assertEquals(List.of(0, 0), forwards(frame(), "c").stream().map(LayerOutput.Forward::layer).toList());
    }

    @Test
    void aCongestedDowngradeUndoneBeforeTheKeyFrameResumesTheOldLayerAtItsNextKeyFrame() {
        started("c", 2);
        sw.setTargetLayer("c", 0, true, now);
        drain();
        for (int i = 0; i < 18; i++) {
            assertTrue(forwards(frame(), "c").isEmpty());
        }
        sw.setTargetLayer("c", 2, now); // the estimate recovered before layer 0's key frame came
        assertEquals(List.of(2), requests(drain()), "the old layer is asked for a key frame: frames were skipped");
        assertTrue(forwards(frame(), "c").isEmpty(), "not from a delta frame whose references were not sent");
        List<LayerOutput.Forward> f = forwards(keyFrame(2), "c");
        assertEquals(2, f.size());
        assertEquals(2, f.get(0).layer());
        assertEquals(0, sw.switches(), "back on the same layer: no switch");
        assertEquals(2, forwards(frame(), "c").size());
    }

    @Test
    void aDowngradeWithoutCongestionKeepsTheOldLayerFlowing() {
        started("c", 2);
        sw.setTargetLayer("c", 0, false, now);
        drain();
        assertEquals(2, forwards(frame(), "c").size());
        assertEquals(0, sw.drains());
    }

    @Test
    void badArgumentsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new LayerSwitcher(0, 90_000, LayerSwitcherConfig.defaults()));
        assertThrows(IllegalArgumentException.class, () -> sw.addConsumer("c", 3, 0, 0, now));
        sw.addConsumer("c", 1, 0, 0, now);
        assertThrows(IllegalArgumentException.class, () -> sw.addConsumer("c", 1, 0, 0, now));
        assertThrows(IllegalArgumentException.class, () -> sw.setTargetLayer("c", -1, now));
        assertThrows(IllegalArgumentException.class, () -> sw.onPacket(5, 0, 0, true, now));
        assertThrows(IllegalArgumentException.class, () -> sw.setTargetLayer("x", 0, now));
    }
}
