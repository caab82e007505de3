package dev.veil.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;

/**
 * A loss the NACKs cannot repair, over a real server, real UDP and SRTP, end-to-end encrypted (sender keys): once
 * five frames arrived, the Java subscriber drops one video packet, every copy of it and every RTX packet before it
 * sees them, so the frame is abandoned. The subscriber sends a PLI (RFC 4585) naming the stream, the server asks the
 * publisher for a key frame, the publisher (a Java screen share that sends key frames only when asked, as an encoder
 * would) sends one, and the subscriber hands on nothing between the lost frame and that key frame. Its {@link
 * ReceiveStats} show the loss, the NACKs, the PLI and the dropped frames. The test paces its frames (20 ms, pacing,
 * not synchronisation) and waits on counts and states with generous deadlines.
 */
class KeyFrameRecoveryTest extends ServerFixture.PerTest {
    private static final long DEADLINE_MS = 60_000;

    private final Set<String> sent = Collections.newSetFromMap(new ConcurrentHashMap<>());
    private final AtomicBoolean keyWanted = new AtomicBoolean(true);

    @Test
    void aLossPastTheNackBudgetSendsAPli_andFramesResumeAtTheKeyFrame() throws Exception {
        Options mode = Options.e2ee().withKeyMode("sender-keys").withConnectTimeoutMillis(DEADLINE_MS);
        TestPeer pub = fixture.peer("pub", "kf", Options.e2ee().withKeyMode("sender-keys").withScreenShare()
                .withConnectTimeoutMillis(DEADLINE_MS));
        AtomicBoolean dropped = new AtomicBoolean();
        AtomicInteger requestsAfterDrop = new AtomicInteger();
        pub.connection.addListener(new Connection.Listener() {
            @Override
            public void onKeyFrameRequest(String track, int layer) {
                keyWanted.set(true);
                if (dropped.get()) {
                    requestsAfterDrop.incrementAndGet();
                }
            }
        });
        pub.connection.connect().get(DEADLINE_MS, TimeUnit.MILLISECONDS);
        TestPeer sub = fixture.peer("sub", "kf", mode);
        List<VideoFrame> frames = new CopyOnWriteArrayList<>();
        sub.connection.addListener(new Connection.Listener() {
            @Override
            public void onVideoFrame(VideoFrame f) {
                frames.add(f);
            }
        });
        AtomicLong lostSsrc = new AtomicLong(-1);
        AtomicInteger lostSeq = new AtomicInteger(-1);
        AtomicLong lostTs = new AtomicLong(-1);
        AtomicInteger rtxBlocked = new AtomicInteger();
        sub.connection.setIncomingDropForTesting(h -> {
            if (!dropped.get()) {
                if (frames.size() >= 5 && h.payloadType() == 96 && !h.marker()) {
                    lostSeq.set(h.sequenceNumber());
                    lostTs.set(h.timestamp());
                    lostSsrc.set(h.ssrc());
                    dropped.set(true);
                    return true;
                }
                return false;
            }
            if (h.ssrc() != lostSsrc.get()) {
                rtxBlocked.incrementAndGet(); // a retransmission (RTX) or padding: never repairs
                return true;
            }
            return h.sequenceNumber() == lostSeq.get(); // a retransmission on the media SSRC
        });
        sub.connection.connect().get(DEADLINE_MS, TimeUnit.MILLISECONDS);

        // resumed: a frame newer than the lost one came, and the publisher was asked for a key frame after the loss
        BooleanSupplier resumed = () -> dropped.get() && requestsAfterDrop.get() > 0
                && frames.stream().anyMatch(f -> f.rtpTimestamp() > lostTs.get());
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(DEADLINE_MS);
        int round = 0;
        while (!resumed.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "timed out: frames " + frames.size() + ", dropped " + dropped
                    + ", requests after " + requestsAfterDrop + ", stats " + sub.connection.receiveStats());
            boolean key = keyWanted.getAndSet(false);
            byte[] f = TestPeer.numberedVp8Frame(round, key);
            sent.add(HexFormat.of().formatHex(f));
            pub.connection.sendScreenFrame(f, 3000L * round, key);
            round++;
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
        }
        // the delivered count matches the frames the listener got (at one moment: frames still in flight may follow)
        AtomicLong matched = new AtomicLong(-1);
        TestPeer.await("the delivered count matches the frames seen", () -> {
            ReceiveStats.TrackStats t = sub.connection.receiveStats().track(pub.id(), "video").orElse(null);
            int n = frames.size();
            if (t != null && t.counts().framesDelivered() == n) {
                matched.set(n);
                return true;
            }
            return false;
        });

        // nothing of the lost frame was delivered, and the first frame after it is a key frame (the deltas between
        // them refer to a picture the decoder never had)
        List<VideoFrame> got = List.copyOf(frames);
        assertFalse(got.stream().anyMatch(f -> f.rtpTimestamp() == lostTs.get()), "the lost frame never came out");
        VideoFrame next = got.stream().filter(f -> f.rtpTimestamp() > lostTs.get()).findFirst().orElseThrow();
        assertTrue(next.keyFrame(), "the first frame after the loss is a key frame: " + next);
        for (int i = 1; i < got.size(); i++) {
            assertTrue(got.get(i).rtpTimestamp() > got.get(i - 1).rtpTimestamp(), "frames in order: " + got);
        }
        for (VideoFrame f : got) {
            assertTrue(sent.contains(HexFormat.of().formatHex(f.frame())), "a frame never sent: " + f);
        }
        assertTrue(fixture.counter("router.pli_sent") + fixture.counter("router.key_frame_requests_sent") > 0,
                "the server asked the publisher for a key frame");

        ReceiveStats stats = sub.connection.receiveStats();
        ReceiveStats.Counts v = stats.track(pub.id(), "video").orElseThrow().counts();
        assertTrue(v.plisSent() >= 1, "a PLI: " + v);
        assertTrue(v.packetsLost() >= 1, "the dropped packet stays lost: " + v);
        assertTrue(v.nacksSent() >= 1, "it was NACKed first: " + v);
        assertEquals(0, v.rtxReceived(), "no retransmission got through: " + v);
        assertEquals(0, v.rtxRecovered(), v.toString());
        assertTrue(v.framesDropped() >= 1, "the lost frame at least: " + v);
        assertTrue(v.framesDelivered() >= matched.get() && matched.get() >= 2, v + " vs " + matched);
        assertTrue(v.packetsReceived() >= 3L * got.size(), "three packets a frame: " + v);
        assertTrue(v.bytesReceived() > 2500L * got.size(), "2500-byte frames and their headers: " + v);
        assertEquals(sumOf(stats), stats.total(), "the total is the sum of the tracks (none ended)");
        System.out.printf("KeyFrameRecoveryTest: %d frames, subscriber stats %s; server PLIs to the publisher %d, "
                + "%d retransmissions kept from the subscriber%n", got.size(), v, fixture.counter("router.pli_sent"),
                rtxBlocked.get());
    }

    private static ReceiveStats.Counts sumOf(ReceiveStats s) {
        ReceiveStats.Counts c = ReceiveStats.Counts.ZERO;
        for (ReceiveStats.TrackStats t : s.tracks()) {
            c = c.plus(t.counts());
        }
        return c;
    }
}
