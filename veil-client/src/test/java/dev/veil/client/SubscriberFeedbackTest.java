package dev.veil.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.veil.signaling.DownlinkStats;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
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
 * A Java subscriber under a real server over real UDP and SRTP, end-to-end encrypted: it answers the server's
 * transport-wide sequence numbers with transport-wide feedback, which the server's downlink estimator reads (its
 * counters, and a measured estimate in the {@code downlink-stats} it sends back), and a video packet lost on the
 * way (dropped by the subscriber itself before it is seen, once) is NACKed, resent by the server on the RTX stream,
 * unwrapped, and completes its frame, which decrypts to the one the publisher sent. The publisher is a Java screen
 * share (three packets a frame); the test paces its frames (20 ms, pacing, not synchronisation) and waits on counts
 * and states with generous deadlines.
 */
class SubscriberFeedbackTest extends ServerFixture.PerTest {
    private static final long DEADLINE_MS = 60_000;

    private final Set<String> sent = Collections.newSetFromMap(new ConcurrentHashMap<>());
    private final AtomicBoolean keyWanted = new AtomicBoolean(true);

    @Test
    void feedbackDrivesTheServersEstimate_andALostPacketIsRepairedByRtx() throws Exception {
        TestPeer pub = fixture.peer("pub", "fb", Options.e2eeSenderKeys().withScreenShare()
                .withConnectTimeoutMillis(DEADLINE_MS));
        pub.connection.addListener(new Connection.Listener() {
            @Override
            public void onKeyFrameRequest(String track, int layer) {
                keyWanted.set(true);
            }
        });
        pub.connection.connect().get(DEADLINE_MS, TimeUnit.MILLISECONDS);
        TestPeer sub = fixture.peer("sub", "fb", Options.e2eeSenderKeys().withConnectTimeoutMillis(DEADLINE_MS));
        List<VideoFrame> frames = new CopyOnWriteArrayList<>();
        // once five frames arrived, the next media packet that does not end a frame is "lost", once
        AtomicLong dropped = new AtomicLong(-1);
        AtomicInteger droppedSeq = new AtomicInteger(-1);
        AtomicLong droppedAt = new AtomicLong();
        AtomicLong repairedAt = new AtomicLong();
        sub.connection.addListener(new Connection.Listener() {
            @Override
            public void onVideoFrame(VideoFrame f) {
                frames.add(f);
                if (dropped.get() == f.ssrc() && ((droppedSeq.get() - f.firstSequence()) & 0xffff)
                        <= ((f.lastSequence() - f.firstSequence()) & 0xffff)) {
                    repairedAt.compareAndSet(0, System.nanoTime()); // (reported, not asserted)
                }
            }
        });
        sub.connection.setIncomingDropForTesting(h -> {
            if (dropped.get() < 0 && frames.size() >= 5 && h.payloadType() == 96 && !h.marker()) {
                droppedSeq.set(h.sequenceNumber());
                droppedAt.set(System.nanoTime());
                dropped.set(h.ssrc());
                return true;
            }
            return false;
        });
        sub.connection.connect().get(DEADLINE_MS, TimeUnit.MILLISECONDS);

        BooleanSupplier repaired = () -> frames.stream().anyMatch(f -> dropped.get() == f.ssrc()
                && ((droppedSeq.get() - f.firstSequence()) & 0xffff) <= ((f.lastSequence() - f.firstSequence()) & 0xffff));
        BooleanSupplier estimated = () -> {
            DownlinkStats s = sub.connection.downlinkStats();
            return s != null && s.estimateBps() > 0;
        };
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(DEADLINE_MS);
        int round = 0;
        while (!(repaired.getAsBoolean() && estimated.getAsBoolean()
                && fixture.counter("media.downlink.twcc_feedback_received") > 0)) {
            assertTrue(System.nanoTime() < deadline, "timed out: frames " + frames.size() + ", dropped "
                    + droppedSeq.get() + ", stats " + sub.connection.downlinkStats() + ", feedback "
                    + fixture.counter("media.downlink.twcc_feedback_received"));
            boolean key = keyWanted.getAndSet(false);
            byte[] f = TestPeer.numberedVp8Frame(round, key);
            sent.add(HexFormat.of().formatHex(f));
            pub.connection.sendScreenFrame(f, 3000L * round, key);
            round++;
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
        }

        // the server's estimator was fed by this subscriber's feedback (read before the client's own count, which only
        // grows: every feedback the server counted, the client sent)
        Map<String, Long> c = fixture.server.counters();
        long received = c.get("media.downlink.twcc_feedback_received");
        assertTrue(c.get("media.downlink.packets_reported") > 0, "packets reported: " + c);
        ReceiverFeedback.Stats rs = sub.connection.receiveStatsForTesting();
        assertTrue(rs.feedbackSent() >= received, rs + " vs " + received);
        assertEquals(0, rs.rembSent(), "transport-cc negotiated: no REMB");

        // the loss was NACKed and repaired on the RTX stream, and the repaired frame is one the publisher sent
        assertTrue(rs.sequenceNumbersNacked() >= 1, rs.toString());
        assertTrue(rs.repaired() >= 1, rs.toString());
        assertTrue(c.get("router.retransmitted_rtx") >= 1, "the server resent on RTX: " + c);
        VideoFrame fixed = frames.stream().filter(f -> dropped.get() == f.ssrc() && ((droppedSeq.get()
                - f.firstSequence()) & 0xffff) <= ((f.lastSequence() - f.firstSequence()) & 0xffff)).findFirst()
                .orElseThrow();
        assertTrue(sent.contains(HexFormat.of().formatHex(fixed.frame())), "the repaired frame decrypts to one sent");
        // the public receive stats of the track say the same
        ReceiveStats.Counts v = sub.connection.receiveStats().track(pub.id(), "video").orElseThrow().counts();
        assertTrue(v.nacksSent() >= 1 && v.rtxReceived() >= 1 && v.rtxRecovered() >= 1, v.toString());
        assertTrue(v.framesDelivered() >= 6 && v.packetsReceived() >= 3 * v.framesDelivered(), v.toString());
        for (VideoFrame f : frames) {
            assertTrue(sent.contains(HexFormat.of().formatHex(f.frame())), "a frame never sent: " + f);
        }
        assertTrue(sub.errors().isEmpty(), "no E2EE error: " + sub.errors());
        System.out.printf("SubscriberFeedbackTest: loss repaired %.1f ms after the drop (NACK, RTX, frame completed); "
                + "server's estimate %d bit/s from %d feedback packets (%d sent), %d packets reported%n",
                (repairedAt.get() - droppedAt.get()) / 1e6, sub.connection.downlinkStats().estimateBps(), received,
                rs.feedbackSent(), c.get("media.downlink.packets_reported"));
    }
}
