package dev.veil.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.veil.signaling.DownlinkStats;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;

/**
 * Simulcast from the Java SDK through a real server, end-to-end encrypted: a publisher with {@link
 * Options#withSimulcast()} sends three VP8 layers (its own test frames: 320x180, 640x360 and 1280x720 key frames, a
 * key frame on every layer at the start, then only
 * when the server asks for one: the SDK reports its PLIs per layer); two Java subscribers each receive one continuous stream (every frame
 * decrypts to one the publisher sent, RTP sequence numbers continue frame to frame on one SSRC): the one without a
 * limit the top layer, the one that asked for at most 200 pixels ({@link Connection#setReceiveMaxHeight}) the low
 * one; when it lifts the limit it moves to the top layer at a key frame of it, its sequence numbers going on. The
 * server knows the three layers. The test paces the frames itself (20 ms a round, pacing, not synchronisation) and
 * waits on counts and states with generous deadlines.
 */
class SimulcastCallTest extends ServerFixture.PerTest {
    private static final long DEADLINE_MS = 60_000;
    private static final int[] SIZES = {200, 500, 1500};

    private TestPeer pub;
    private final Set<String> sent = Collections.newSetFromMap(new ConcurrentHashMap<>());
    private int round;
    /** Key frames the server asked for, per layer; the next round's frame of a requested layer is a key frame. */
    private final AtomicIntegerArray requests = new AtomicIntegerArray(3);
    private final AtomicIntegerArray wanted = new AtomicIntegerArray(3);

    /** A subscriber and the video frames it got, in order. */
    private record Sub(TestPeer peer, List<VideoFrame> frames) {
        /** The layer a received frame came from (the first body byte, after the 10- or 3-byte VP8 header). */
        static int layer(VideoFrame f) {
            return f.frame()[f.keyFrame() ? 10 : 3];
        }

        int lastLayer() {
            return frames.isEmpty() ? -1 : layer(frames.get(frames.size() - 1));
        }

        /** Whether its last {@code n} frames are all of {@code layer}. */
        boolean settledOn(int layer, int n) {
            // a snapshot first: a sub-list of the live list fails (ConcurrentModificationException) when the
            // connection's thread adds a frame meanwhile
            List<VideoFrame> snap = new ArrayList<>(frames);
            int size = snap.size();
            return size >= n && snap.subList(size - n, size).stream().allMatch(f -> layer(f) == layer);
        }

        /** The layer the server reports it forwards on the publisher's video track, or -2 without a report. */
        int reportedLayer(String trackId) {
            DownlinkStats s = peer.connection.downlinkStats();
            if (s == null) {
                return -2;
            }
            return s.tracks().stream().filter(t -> t.trackId().equals(trackId)).mapToInt(DownlinkStats.Track::layer)
                    .findFirst().orElse(-2);
        }
    }

    private Sub subscriber(String name) throws Exception {
        // without congestion feedback: the layers follow the subscribers' height wishes alone (what this test is
        // about), not a downlink estimate that CPU load on a shared test machine could push down
        TestPeer p = fixture.peer(name, "sim", Options.e2eeSenderKeys().withoutCongestionFeedback()
                .withConnectTimeoutMillis(DEADLINE_MS));
        List<VideoFrame> frames = new CopyOnWriteArrayList<>();
        p.connection.addListener(new Connection.Listener() {
            @Override
            public void onVideoFrame(VideoFrame frame) {
                if (frame.senderConnectionId().equals(pub.id())) {
                    frames.add(frame);
                }
            }
        });
        p.connection.connect().get(DEADLINE_MS, TimeUnit.MILLISECONDS);
        return new Sub(p, frames);
    }

    /** The frame of layer {@code layer} of this round: a VP8 key frame header (or a delta frame tag), then a body. */
    private static byte[] frame(int layer, int round, boolean key) {
        byte[] f = new byte[SIZES[layer]];
        int at;
        if (key) {
            int w = 320 << layer;
            int h = 180 << layer;
            byte[] head = {0x50, 0x42, 0x00, (byte) 0x9d, 0x01, 0x2a, (byte) w, (byte) (w >> 8), (byte) h,
                (byte) (h >> 8)};
            System.arraycopy(head, 0, f, 0, head.length);
            at = head.length;
        } else {
            f[0] = 0x51;
            f[1] = 0x42;
            at = 3;
        }
        f[at] = (byte) layer;
        f[at + 1] = (byte) (round >> 24);
        f[at + 2] = (byte) (round >> 16);
        f[at + 3] = (byte) (round >> 8);
        f[at + 4] = (byte) round;
        for (int i = at + 5; i < f.length; i++) {
            f[i] = (byte) (i * 31 + layer);
        }
        return f;
    }

    /**
     * Sends one frame per layer each 20 ms until {@code cond}: a key frame on every layer in the first round, then on a
     * layer only when the server asked for one ({@link Connection.Listener#onKeyFrameRequest}), as an encoder would.
     */
    private void sendUntil(String what, BooleanSupplier cond) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(DEADLINE_MS);
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out sending simulcast frames until: " + what);
            }
            for (int layer = 0; layer < 3; layer++) {
                boolean key = round == 0 || wanted.getAndSet(layer, 0) != 0;
                byte[] f = frame(layer, round, key);
                sent.add(HexFormat.of().formatHex(f));
                pub.connection.sendVideoFrame(layer, f, 3000L * round, key);
            }
            round++;
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
        }
    }

    /** Frames {@code from..} of a subscriber: all sent by the publisher, one SSRC, sequence numbers continuous. */
    private void assertContinuous(String who, List<VideoFrame> frames) {
        assertTrue(frames.size() >= 2, who + ": too few frames " + frames.size());
        for (int i = 0; i < frames.size(); i++) {
            VideoFrame f = frames.get(i);
            assertTrue(sent.contains(HexFormat.of().formatHex(f.frame())), who + " got a frame never sent: " + f);
            if (i > 0) {
                VideoFrame prev = frames.get(i - 1);
                assertEquals(prev.ssrc(), f.ssrc(), who + ": one SSRC");
                assertEquals((prev.lastSequence() + 1) & 0xffff, f.firstSequence(),
                        who + ": sequence numbers continue from " + prev + " to " + f);
            }
        }
    }

    private static List<VideoFrame> since(List<VideoFrame> frames, int from) {
        List<VideoFrame> snap = new ArrayList<>(frames); // (a snapshot: see settledOn)
        return new ArrayList<>(snap.subList(from, snap.size()));
    }

    @Test
    void threeLayersWithE2ee_eachSubscriberGetsOneContinuousLayer_andALiftedLimitSwitchesUpAtAKeyFrame()
            throws Exception {
        // (generous connect deadlines: DTLS on a loaded 2-core machine can take longer than the default 15 s)
        pub = fixture.peer("pub", "sim",
                Options.e2eeSenderKeys().withSimulcast().withConnectTimeoutMillis(DEADLINE_MS));
        pub.connection.addListener(new Connection.Listener() {
            @Override
            public void onKeyFrameRequest(String track, int layer) {
                if (track.equals("video")) {
                    requests.incrementAndGet(layer);
                    wanted.set(layer, 1);
                }
            }
        });
        pub.connection.connect().get(DEADLINE_MS, TimeUnit.MILLISECONDS);
        Sub high = subscriber("high");
        Sub low = subscriber("low");
        low.peer().connection.setReceiveMaxHeight(200);
        String track = pub.id() + "-video";

        // each subscriber settles on its layer (and the server says so), the server knows the three layers
        sendUntil("high gets f, low gets q", () -> high.settledOn(2, 10) && low.settledOn(0, 10)
                && high.reportedLayer(track) == 2 && low.reportedLayer(track) == 0);
        assertEquals(3L, fixture.server.counters().get("router.simulcast_layers_known"));
        int highMark = high.frames().size();
        int lowMark = low.frames().size();
        int errorsMark = high.peer().errors().size() + low.peer().errors().size();

        sendUntil("40 more frames each", () -> high.frames().size() >= highMark + 40
                && low.frames().size() >= lowMark + 40);
        List<VideoFrame> highRun = since(high.frames(), highMark - 1);
        List<VideoFrame> lowRun = since(low.frames(), lowMark - 1);
        assertContinuous("high", highRun);
        assertContinuous("low", lowRun);
        assertTrue(highRun.stream().allMatch(f -> Sub.layer(f) == 2), "high stays on f");
        assertTrue(lowRun.stream().allMatch(f -> Sub.layer(f) == 0), "low stays on q");
        assertTrue(lowRun.stream().filter(VideoFrame::keyFrame).allMatch(f -> f.keyFrameSize() == (320 << 16 | 180)));
        assertTrue(highRun.stream().filter(VideoFrame::keyFrame).allMatch(f -> f.keyFrameSize() == (1280 << 16 | 720)));
        assertEquals(errorsMark, high.peer().errors().size() + low.peer().errors().size(),
                "no frame failed to decrypt once running: " + high.peer().errors() + low.peer().errors());

        // the low subscriber lifts its limit: it moves to f at a key frame of f, on the same SSRC, sequence going on
        int fRequestsBefore = requests.get(2);
        long switchesBefore = fixture.counter("router.simulcast_layer_switches");
        int liftMark = low.frames().size();
        low.peer().connection.setReceiveMaxHeight(0);
        sendUntil("low moves up to f", () -> low.settledOn(2, 20) && low.reportedLayer(track) == 2);
        List<VideoFrame> after = since(low.frames(), liftMark - 1);
        assertContinuous("low across the switch", after);
        int firstHigh = -1;
        for (int i = 0; i < after.size(); i++) {
            if (Sub.layer(after.get(i)) == 2) {
                firstHigh = i;
                break;
            }
        }
        assertTrue(firstHigh > 0, "the switch happened after the lift");
        assertTrue(after.get(firstHigh).keyFrame(), "the first frame of the new layer is its key frame");
        for (int i = 0; i < after.size(); i++) {
            assertEquals(i < firstHigh ? 0 : 2, Sub.layer(after.get(i)), "q until the switch, then f only");
        }
        assertTrue(fixture.server.counters().get("router.simulcast_layer_switches") > switchesBefore);
        assertTrue(requests.get(2) > fRequestsBefore, "the switch asked the publisher for a key frame of f");
        assertTrue(low.peer().connection.downlinkStats().tracks().stream()
                .anyMatch(t -> t.trackId().equals(track) && t.switches() >= 1));
        assertTrue(pub.disconnects.isEmpty() && high.peer().disconnects.isEmpty() && low.peer().disconnects.isEmpty());
    }
}
