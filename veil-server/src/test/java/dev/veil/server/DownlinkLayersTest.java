package dev.veil.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.veil.webrtc.cc.DownlinkEstimator;
import dev.veil.webrtc.cc.ProbeController;
import dev.veil.webrtc.cc.Prober;
import dev.veil.webrtc.cc.SendHistory;
import dev.veil.webrtc.router.ConsumerParams;
import dev.veil.webrtc.router.ProducerParams;
import dev.veil.webrtc.router.Router;
import dev.veil.webrtc.router.RouterConfig;
import dev.veil.webrtc.router.RouterOutput;
import dev.veil.webrtc.router.SimulcastLayer;
import dev.veil.webrtc.rtp.HeaderExtension;
import dev.veil.webrtc.rtp.RtpCodec;
import dev.veil.webrtc.rtp.RtpHeader;
import dev.veil.webrtc.rtp.RtpPacket;
import dev.veil.webrtc.sdp.MediaKind;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The downlink estimate choosing a subscriber's simulcast layer, on an in-memory {@link Router} with a manual clock:
 * layers measured from what the publisher sends (150 kbit/s, 500 kbit/s, 1.5 Mbit/s at 320x180, 640x360,
 * 1280x720), congestion lowers the layer at its next key frame, recovery steps back up with a hold.
 */
class DownlinkLayersTest {

    private static final int RID_EXT = 4;
    private static final List<String> RIDS = List.of("q", "h", "f");
    private static final long[] SSRC = {0xA0L, 0xB0L, 0xC0L};
    private final int[] frameBytes = {625, 2083, 6250}; // at 30 fps: 150k, 500k, 1.5M
    /** Which layers the publisher sends (a CPU-starved encoder may skip a layer's frames for a while). */
    private final boolean[] layerOn = {true, true, true};
    private final int[] seq = {1, 1, 1};
    private final long[] ts = {0, 0, 0};
    private Router router;
    private long now = 100_000;
    private ProbeController controller = new ProbeController(ProbeController.Config.defaults(), null, null);
    private DownlinkLayers layers = new DownlinkLayers(controller);
    private long congestionAt = Long.MIN_VALUE;
    /** Whether the subscriber sends REMB (each apply then follows a fresh one: the estimate is its value). */
    private boolean remb;
    /** With probes: the prober, whose clusters are "sent" (drained) as time passes. */
    private Prober prober;
    private boolean keyRequested;
    private boolean answerKeyFrameRequests = true;
    /** A second subscriber that joins later (the first-layer test), applied with its own estimate. */
    private DownlinkLayers late;
    private long lateEstimateBps;

    @BeforeEach
    void setUp() {
        router = new Router(RouterConfig.defaults(), new Random(3));
        router.createSimulcastProducer("cam", "pub", new ProducerParams(MediaKind.VIDEO, RtpCodec.VP8, 96, 90000, 0,
                "1"), RIDS, RID_EXT);
        router.createProducer("mic", "pub", new ProducerParams(MediaKind.AUDIO, RtpCodec.OPUS, 111, 48000, 0x11L, "0"));
        router.createConsumer("sub/cam", "sub", "cam", new ConsumerParams(0x5001L, 100, "cn", 0, null), now);
        router.createConsumer("sub/mic", "sub", "mic", new ConsumerParams(0x5002L, 111, "cn", 0, null), now);
    }

    private void frame(boolean key) {
        key |= keyRequested;
        keyRequested = false;
        for (int l = 0; l < 3; l++) {
            if (!layerOn[l]) {
                ts[l] += 3000;
                continue;
            }
            byte[] payload = new byte[frameBytes[l]];
            byte[] head = key
                    ? new byte[] {0x10, 0x50, 0x42, 0x00, (byte) 0x9d, 0x01, 0x2a, (byte) (320 << l), (byte) ((320 << l) >> 8),
                        (byte) (180 << l), (byte) ((180 << l) >> 8)}
                    : new byte[] {0x10, 0x51, 0x42, 0x00, 0x01};
            System.arraycopy(head, 0, payload, 0, head.length);
            RtpHeader h = RtpHeader.of(true, 96, seq[l]++ & 0xFFFF, ts[l], SSRC[l]).withExtensions(List.of(
                    new HeaderExtension(RID_EXT, RIDS.get(l).getBytes(StandardCharsets.US_ASCII))));
            byte[] p = RtpPacket.build(h, payload, 0, payload.length);
            router.handleRtp("pub", p, 0, p.length, now);
            ts[l] += 3000;
        }
        for (RouterOutput o; (o = router.pollOutput()) != null; ) {
            // the publisher answers the router's key-frame requests with a key frame on its next frame
            keyRequested |= answerKeyFrameRequests && o instanceof RouterOutput.Rtcp r && r.peerId().equals("pub");
        }
        now += 33;
    }

    /** Runs {@code millis} of frames (a key frame on every layer first when {@code key}), applying every 100 ms. */
    private void run(long millis, long estimateBps, boolean key) {
        long end = now + millis;
        boolean first = key;
        long nextApply = now;
        while (now < end) {
            if (prober != null) {
                prober.poll(now);
                while (prober.pollOutput() != null) {
                    // (sent; the estimator's verdict is the test's to give)
                }
            }
            frame(first);
            first = false;
            if (now >= nextApply) {
                layers.apply(router, estimateBps, congestionAt, remb ? now : Long.MIN_VALUE, List.of("sub/cam", "sub/mic"),
                        List.of(0, 0), now);
                if (late != null) {
                    late.apply(router, lateEstimateBps, Long.MIN_VALUE, List.of("late/cam"), List.of(0), now);
                }
                nextApply = now + 100;
            }
        }
    }

    @Test
    void layersAreMeasuredAndTheGuessBeforeCongestionLowersNothing() {
        run(2500, 1_000_000, true); // the estimator's initial guess is below the top layer's 1.5 Mbit/s
        List<SimulcastLayer> l = router.simulcastLayers("sub/cam");
        assertEquals(180, l.get(0).height());
        assertEquals(1280, l.get(2).width());
        assertTrue(Math.abs(l.get(0).bitrateBps() - 150_000) < 20_000, "layer 0 at " + l.get(0).bitrateBps());
        assertTrue(Math.abs(l.get(2).bitrateBps() - 1_500_000) < 100_000, "layer 2 at " + l.get(2).bitrateBps());
        assertEquals(2, router.currentLayer("sub/cam"), "no congestion seen: the top layer stays");
    }

    @Test
    void congestionLowersTheLayerAtItsNextKeyFrameAndRecoveryStepsBackUp() {
        run(2500, 3_000_000, true);
        assertEquals(2, router.currentLayer("sub/cam"));
        // the estimator sees congestion: 300 kbit/s minus 64 kbit/s of audio fits only layer 0
        congestionAt = now;
        answerKeyFrameRequests = false;
        run(300, 300_000, false);
        assertEquals(2, router.currentLayer("sub/cam"), "no switch before a key frame of the new layer");
        answerKeyFrameRequests = true;
        run(100, 300_000, true);
        assertEquals(0, router.currentLayer("sub/cam"), "switched at layer 0's key frame");
        // congestion over: the estimate is application-limited (1.5 x 150k + audio); hold, then one step at a time
        run(3000, 300_000, false);
        assertEquals(0, router.currentLayer("sub/cam"), "held after the downgrade");
        run(3000, 300_000, true);
        assertEquals(1, router.currentLayer("sub/cam"), "a step up after the hold");
        run(5500, 900_000, true);
        assertEquals(2, router.currentLayer("sub/cam"), "and the next one after another hold");
    }

    @Test
    void aStepUpThatMeetsCongestionDoublesTheHold() {
        run(2500, 3_000_000, true);
        congestionAt = now;
        run(400, 300_000, true);
        assertEquals(0, router.currentLayer("sub/cam"));
        run(6000, 300_000, true); // step up to layer 1 after the 5 s hold
        assertEquals(1, router.currentLayer("sub/cam"));
        congestionAt = now; // which the link cannot carry
        run(400, 300_000, true);
        assertEquals(0, router.currentLayer("sub/cam"));
        assertEquals(2 * ProbeController.Config.defaults().holdMinMillis(), layers.holdMillis());
        run(6000, 300_000, true);
        assertEquals(0, router.currentLayer("sub/cam"), "the doubled hold is not over yet");
        run(5000, 300_000, true);
        assertEquals(1, router.currentLayer("sub/cam"));
    }

    @Test
    void thePreferenceAndTheBandwidthCapTakeTheLowerOfTheTwo() {
        run(2500, 3_000_000, true);
        router.setPreferredMaxHeight("sub/cam", 360, now);
        run(100, 3_000_000, true);
        assertEquals(1, router.currentLayer("sub/cam"), "the preference alone");
        congestionAt = now;
        run(300, 300_000, true);
        assertEquals(0, router.currentLayer("sub/cam"), "the cap below the preference");
        router.setPreferredMaxHeight("sub/cam", 0, now); // lifting the preference does not lift the cap
        run(300, 300_000, true);
        assertEquals(0, router.currentLayer("sub/cam"));
    }

    @Test
    void theHoldAfterADowngradeCountsFromTheSwitchNotTheDecision() {
        run(2500, 3_000_000, true);
        congestionAt = now;
        answerKeyFrameRequests = false; // the publisher is slow to send the low layer's key frame
        run(4000, 300_000, false);
        assertEquals(2, router.currentLayer("sub/cam"), "still waiting for the key frame");
        answerKeyFrameRequests = true;
        run(100, 300_000, true);
        assertEquals(0, router.currentLayer("sub/cam"));
        run(4000, 300_000, false);
        assertEquals(0, router.currentLayer("sub/cam"), "9 s after the decision but 4 s after the switch: held");
        run(1500, 300_000, true);
        assertEquals(1, router.currentLayer("sub/cam"), "a step up 5 s after the switch");
    }

    @Test
    void withProbesTheLayerGoesUpOnlyOnceTheEstimateConfirmsTheRate() {
        prober = new Prober(Prober.Config.padding());
        controller = new ProbeController(ProbeController.Config.defaults(), prober,
                new DownlinkEstimator(new SendHistory(1024, 0), DownlinkEstimator.Config.defaults()));
        layers = new DownlinkLayers(controller);
        run(2500, 3_000_000, true);
        congestionAt = now;
        run(400, 300_000, true);
        assertEquals(0, router.currentLayer("sub/cam"));
        // congestion over, the app-limited estimate stays low: after the hold a probe goes out, no blind step
        run(8000, 300_000, true);
        assertEquals(0, router.currentLayer("sub/cam"), "no step without a confirmed rate");
        assertTrue(controller.probesStarted() >= 1, "probed for the next layer");
        assertEquals(0, controller.trials());
        // an app-limited estimate above the next layer's rate alone does not raise it either
        run(1000, 900_000, true);
        assertEquals(0, router.currentLayer("sub/cam"), "no step on an unconfirmed estimate");
        // a probe the estimator confirmed (and which raised the estimate): it goes up, one step
        for (int i = 0; i < 200 && controller.pendingProbe() == null; i++) {
            run(100, 900_000, true);
        }
        Prober.Cluster c = controller.pendingProbe();
        assertTrue(c != null, "a probe for the step");
        controller.onProbeResult(new DownlinkEstimator.ProbeResult(c.id(), 900_000, c.bps()), now);
        run(500, 900_000, true);
        assertEquals(1, router.currentLayer("sub/cam"), "stepped up on the confirmed estimate");
        assertEquals(1, controller.probesConfirmed());
    }

    @Test
    void aRembOnlySubscriberStepsUpFromItsRembValueAndByTrial() {
        remb = true;
        run(2500, 3_000_000, true);
        assertEquals(2, router.currentLayer("sub/cam"), "a REMB above what the layers cost is no congestion");
        run(400, 300_000, true);
        assertEquals(0, router.currentLayer("sub/cam"), "a REMB below what they cost is");
        run(6000, 900_000, true);
        assertEquals(1, router.currentLayer("sub/cam"), "after the hold the REMB value itself allows layer 1");
        assertEquals(0, controller.trials());
        // no REMB can show room for the top layer (the receiver's estimate follows what it gets): a trial step,
        // which fails while the REMB stays below the top layer's cost
        int max = 0;
        for (int i = 0; i < 60; i++) {
            run(100, 900_000, true);
            max = Math.max(max, router.currentLayer("sub/cam"));
        }
        assertEquals(2, max, "a trial step to the top layer");
        assertEquals(1, controller.trials());
        assertEquals(1, router.currentLayer("sub/cam"), "the REMB stayed below its cost: back down");
        assertEquals(2 * ProbeController.Config.defaults().holdMinMillis(), layers.holdMillis(), "the trial failed");
        // the next trial (after the doubled hold) on a link that carries it: the REMB rises with what it receives
        for (int i = 0; i < 150; i++) {
            run(100, router.currentLayer("sub/cam") == 2 ? 2_200_000 : 900_000, true);
        }
        assertEquals(2, router.currentLayer("sub/cam"), "the trial held");
        assertEquals(2, controller.trials());
        assertEquals(ProbeController.Config.defaults().holdMinMillis(), layers.holdMillis(), "and reset the hold");
    }

    @Test
    void aCongestedDowngradeCostsLayersAtTheirPeakNotTheirLastSecond() {
        run(2500, 3_000_000, true);
        assertEquals(2, router.currentLayer("sub/cam"));
        // the publisher's CPU-starved encoder: layer 1 sends a third of its frames' bytes for two seconds (~170 kbit/s
        // in its last window, 500 kbit/s just before)
        frameBytes[1] = 2083 / 3;
        run(2100, 3_000_000, false);
        assertTrue(router.simulcastLayers("sub/cam").get(1).bitrateBps() > 450_000,
                "layer 1 costs its peak: " + router.simulcastLayers("sub/cam"));
        // congestion at 360 kbit/s (400 kbit/s link): 296 kbit/s for video after audio; layer 1 "fits" its dip but not
        // what it sends again a moment later: straight to layer 0, not 2 -> 1 -> 0 (a second detection, seconds)
        congestionAt = now;
        run(100, 360_000, false);
        assertEquals(0, router.targetLayer("sub/cam"), "layer 0 at once: " + router.simulcastLayers("sub/cam"));
        frameBytes[1] = 2083;
        run(300, 360_000, true);
        assertEquals(0, router.currentLayer("sub/cam"));
        Map<String, Long> c = new HashMap<>();
        layers.addCounters(c);
        assertEquals(1L, c.get("media.downlink.layer_downgrades"), "one downgrade");
    }

    @Test
    void noStepUpWhileCongestedEvenWhenAStalledPublisherMakesEveryLayerLookFree() {
        run(2500, 3_000_000, true);
        congestionAt = now;
        run(300, 300_000, true);
        assertEquals(0, router.currentLayer("sub/cam"));
        // the publisher's machine stalls for 2.5 s: every layer measures 0 ("not measured": cost nothing)
        layerOn[0] = layerOn[1] = layerOn[2] = false;
        for (int i = 0; i < 25; i++) {
            congestionAt = now;
            run(100, 300_000, false);
        }
        layerOn[0] = layerOn[1] = layerOn[2] = true;
        congestionAt = now;
        run(100, 300_000, true);
        assertEquals(0, router.simulcastLayers("sub/cam").get(2).bitrateBps(), "the gap measures 0");
        run(200, 300_000, true);
        assertEquals(0, router.targetLayer("sub/cam"), "still congested: no step up");
        assertEquals(0, router.currentLayer("sub/cam"));
    }

    @Test
    void aLayerThatStopsForAMomentIsNoDowngradeAndStartsNoHold() {
        prober = new Prober(Prober.Config.padding());
        controller = new ProbeController(ProbeController.Config.defaults(), prober,
                new DownlinkEstimator(new SendHistory(1024, 0), DownlinkEstimator.Config.defaults()));
        layers = new DownlinkLayers(controller);
        run(2500, 3_000_000, true);
        assertEquals(2, router.currentLayer("sub/cam"));
        // the top layer sends nothing for 2.2 s (its last window measures 0: "not running" for the selector), no
        // congestion: the router keeps targeting the top layer (the preference), and that is what counts as chosen
        layerOn[2] = false;
        run(2200, 3_000_000, false);
        assertEquals(0, router.simulcastLayers("sub/cam").get(2).bitrateBps(), "not running");
        layerOn[2] = true;
        run(2500, 3_000_000, true);
        assertEquals(2, router.currentLayer("sub/cam"));
        Map<String, Long> c = new HashMap<>();
        layers.addCounters(c);
        assertEquals(0L, c.get("media.downlink.layer_downgrades"), "no phantom downgrade");
        assertEquals(0L, c.get("media.downlink.layer_upgrades"), "nor upgrade");
        assertEquals(ProbeController.Config.defaults().holdMinMillis(), layers.holdMillis());
        // a real congestion afterwards is handled at once (no stale 'pending' switch blocks it)
        congestionAt = now;
        run(300, 300_000, true);
        assertEquals(0, router.currentLayer("sub/cam"));
    }

    @Test
    void aNewSubscriberStartsOnTheLayerTheInitialEstimateAffordsAndStepsUpOnAProbe() {
        run(2500, 3_000_000, true); // the publisher runs; the first subscriber gets the top layer
        assertEquals(2, router.currentLayer("sub/cam"));
        // a second subscriber joins: the estimator's initial guess (1 Mbit/s) affords layer 1, not the top's 1.5 Mbit/s
        Prober p = new Prober(Prober.Config.padding());
        ProbeController pc = new ProbeController(ProbeController.Config.defaults(), p,
                new DownlinkEstimator(new SendHistory(1024, 0), DownlinkEstimator.Config.defaults()));
        late = new DownlinkLayers(pc);
        lateEstimateBps = DownlinkEstimator.Config.defaults().initialBps();
        router.createConsumer("late/cam", "late", "cam", new ConsumerParams(0x6001L, 100, "cn", 0, null), now);
        late.apply(router, lateEstimateBps, Long.MIN_VALUE, List.of("late/cam"), List.of(0), now); // at once
        assertEquals(1, router.targetLayer("late/cam"), "the first target is the affordable layer");
        run(300, 3_000_000, false);
        assertEquals(1, router.currentLayer("late/cam"), "started on layer 1 (its key frame was asked for)");
        // the probe for the step up goes out once it runs; the estimator confirms 2.5 Mbit/s: the top layer
        Prober.Cluster cl = null;
        for (int i = 0; i < 50 && (cl = pc.pendingProbe()) == null; i++) {
            p.poll(now);
            while (p.pollOutput() != null) {
                // (sent)
            }
            run(100, 3_000_000, false);
        }
        assertTrue(cl != null, "a probe for the top layer");
        assertTrue(cl.bps() >= 1_500_000, "sized for the top layer: " + cl.bps());
        pc.onProbeResult(new DownlinkEstimator.ProbeResult(cl.id(), 2_500_000, cl.bps()), now);
        lateEstimateBps = 2_500_000;
        run(500, 3_000_000, true);
        assertEquals(2, router.currentLayer("late/cam"), "stepped up on the confirmed probe");
        assertEquals(2, router.currentLayer("sub/cam"), "the first subscriber kept the top layer");
    }
}
