package dev.veil.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.veil.server.ServerConfig;
import dev.veil.server.VeilServer;
import java.net.URI;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Issue 7 item 3 with the Java SDK: publishers join and leave a channel one by one past a long-lived member. The
 * member stays connected, gets a Track for each publisher (on a recycled m-line: a new mid each time) and its
 * removal, hears each one, and the offers it gets stay small (the server recycles the m-lines of gone tracks).
 */
class ChurnTest {
    private static final int PUBLISHERS = 30;

    @Test
    void publishersComeAndGo_memberStaysConnected_tracksFollow_offersStaySmall() throws Exception {
        try (VeilServer server = new VeilServer(ServerConfig.defaults().withPorts(0, 0))) {
            server.start();
            URI url = URI.create("ws://127.0.0.1:" + server.httpPort() + "/signaling");
            try (TestPeer member = new TestPeer("member", url, "churn", Options.plain()).connect()) {
                Set<String> mids = new HashSet<>();
                for (int i = 0; i < PUBLISHERS; i++) {
                    try (TestPeer pub = new TestPeer("pub" + i, url, "churn", Options.plain()).connect()) {
                        TestPeer.exchangeUntil("the member hears publisher " + i, List.of(pub),
                                () -> member.receivedFrom(pub) >= 3);
                        member.assertReceivedExactly(pub);
                        Track t = member.tracks.get(member.tracks.size() - 1);
                        assertEquals(pub.id(), t.connectionId());
                        assertTrue(mids.add(t.mid()), "mid " + t.mid() + " reused");
                        pub.connection.disconnect().get(TestPeer.DEADLINE_MS, java.util.concurrent.TimeUnit.MILLISECONDS);
                        TestPeer.await("the member hears that publisher " + i + " left",
                                () -> member.removedTracks.stream().anyMatch(r -> r.connectionId().equals(pub.id())));
                    }
                }
                assertTrue(member.connection.isConnected());
                assertEquals(List.of(), member.disconnects);
                assertEquals(PUBLISHERS, member.tracks.size());
                assertEquals(PUBLISHERS, member.removedTracks.size());
                assertEquals(member.tracks, member.removedTracks);
                // the member's own upload m-line, the live publisher's and one rejected (or recycled) slot: < 2 kB;
                // without recycling the last offers held one m-line per publisher that ever came (> 15 kB)
                int largest = member.connection.largestOfferLength();
                assertTrue(largest < 2_000, "largest offer " + largest);
                // and it still hears a newcomer
                try (TestPeer last = new TestPeer("last", url, "churn", Options.plain()).connect()) {
                    TestPeer.exchangeUntil("the member hears the last publisher", List.of(last),
                            () -> member.receivedFrom(last) >= 3);
                }
            }
        }
    }
}
