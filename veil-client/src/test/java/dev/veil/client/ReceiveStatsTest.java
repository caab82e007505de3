package dev.veil.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * {@link Connection#receiveStats()} over a real server, real UDP and SRTP, end-to-end encrypted (sender keys): the
 * audio track of a member counts the packets, bytes and frames that arrived (every frame the listener got, held ones
 * included once their key came), nothing lost, NACKed or dropped; when the member leaves, its track leaves the list
 * and the total keeps its counts. (Video loss, NACK, PLI and dropped frames: {@link KeyFrameRecoveryTest}; RTX
 * repair: {@link SubscriberFeedbackTest}.)
 */
class ReceiveStatsTest extends ServerFixture.PerTest {
    @Test
    void audioCountsMoveWithTheFramesReceived_andAnEndedTrackStaysInTheTotal() throws Exception {
        Options mode = Options.e2ee().withKeyMode("sender-keys");
        TestPeer a = fixture.join("a", "stats", mode);
        TestPeer b = fixture.join("b", "stats", mode);
        assertEquals(ReceiveStats.Counts.ZERO, b.connection.receiveStats().total(), "nothing before any frame");
        TestPeer.exchangeUntil("b got 30 frames of a", List.of(a), () -> b.receivedFrom(a) >= 30);
        // (held frames whose key came late count as not decrypted until they are delivered; on a loaded machine some
        // may never be, if more than the hold limit arrive before the key)
        TestPeer.await("b's counts caught up with its listener", () -> b.connection.receiveStats()
                .track(a.id(), "audio").map(t -> t.counts().framesDelivered() == b.receivedFrom(a)).orElse(false));
        b.assertReceivedExactly(a);
        ReceiveStats s = b.connection.receiveStats();
        ReceiveStats.TrackStats t = s.track(a.id(), "audio").orElseThrow();
        assertEquals(a.id(), t.track().connectionId());
        ReceiveStats.Counts c = t.counts();
        assertTrue(c.framesDelivered() >= 30, c.toString());
        assertTrue(c.framesDelivered() + c.decryptFailures() <= a.sent.size(), "each frame sent counts once: " + c);
        assertTrue(c.packetsReceived() >= c.framesDelivered(), "a packet per frame: " + c);
        assertTrue(c.bytesReceived() >= 12 * c.packetsReceived(), "an RTP header at least per packet: " + c);
        assertEquals(0, c.packetsLost() + c.nacksSent() + c.rtxReceived() + c.plisSent() + c.framesDropped(),
                "audio is not NACKed, nothing dropped: " + c);
        assertEquals(0, a.connection.receiveStats().total().framesDelivered(), "b sent nothing: " + a.connection
                .receiveStats());

        // a leaves: its track goes from b's list, the total keeps what it received
        a.connection.disconnect().get(TestPeer.DEADLINE_MS, TimeUnit.MILLISECONDS);
        TestPeer.await("a's track ended at b", () -> b.connection.receiveStats().track(a.id(), "audio").isEmpty());
        ReceiveStats after = b.connection.receiveStats();
        assertTrue(after.total().framesDelivered() >= c.framesDelivered(), after.toString());
        assertTrue(after.total().packetsReceived() >= c.packetsReceived(), after.toString());
        assertTrue(after.total().bytesReceived() >= c.bytesReceived(), after.toString());
    }
}
