package dev.veil.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Data messages between Java SDKs over a real in-process veil-server (docs/PROTOCOL.md §1.7): E2EE broadcast and
 * direct text and bytes, and a burst whose latency and throughput over the signaling relay are printed (a
 * measurement for docs/PROTOCOL.md, never asserted on).
 */
class DataCallTest extends ServerFixture.PerTest {
    private static List<DataMessage> collect(TestPeer p) {
        List<DataMessage> out = new CopyOnWriteArrayList<>();
        p.connection.onData(out::add);
        return out;
    }

    private static void awaitKeys(List<TestPeer> ps) {
        TestPeer.await("every peer holds a key of every other", () -> {
            for (TestPeer p : ps) {
                for (TestPeer q : ps) {
                    if (p != q && p.e2ee.stream().noneMatch(e -> e instanceof E2eeEvent.KeyInstalled k
                            && k.senderConnectionId().equals(q.id()))) {
                        return false;
                    }
                }
            }
            return true;
        });
    }

    @Test
    void e2eeChat_broadcastAndDirect_betweenThreeJavaClients_andABurst() throws Exception {
        Options o = Options.e2eeSenderKeys();
        TestPeer a = fixture.join("alice", "chat", o);
        TestPeer b = fixture.join("bob", "chat", o);
        TestPeer c = fixture.join("carol", "chat", o);
        List<DataMessage> atB = collect(b);
        List<DataMessage> atC = collect(c);
        List<DataMessage> atA = collect(a);
        awaitKeys(List.of(a, b, c));
        a.connection.sendData("hello, everyone", null).get(5, TimeUnit.SECONDS);
        TestPeer.await("bob and carol got alice's broadcast", () -> atB.size() == 1 && atC.size() == 1);
        for (DataMessage m : List.of(atB.get(0), atC.get(0))) {
            assertEquals(a.id(), m.from());
            assertNull(m.to());
            assertTrue(m.isText());
            assertEquals("hello, everyone", m.text());
        }
        b.connection.sendData(new byte[] {1, 2, 3, (byte) 0xff}, a.id()).get(5, TimeUnit.SECONDS);
        TestPeer.await("alice got bob's bytes", () -> atA.size() == 1);
        assertEquals(b.id(), atA.get(0).from());
        assertEquals(a.id(), atA.get(0).to());
        assertFalse(atA.get(0).isText());
        assertArrayEquals(new byte[] {1, 2, 3, (byte) 0xff}, atA.get(0).bytes());
        c.connection.sendData("ping", null).get(5, TimeUnit.SECONDS); // ordered after bob's direct message
        TestPeer.await("alice and bob got carol's broadcast", () -> atA.size() == 2 && atB.size() == 2);
        assertEquals(1, atC.size(), "carol never saw bob's message to alice");
        assertEquals(c.id(), atB.get(1).from());
        assertEquals("ping", atB.get(1).text());

        // a burst (150 messages, under the relay's burst allowance of 200) of 1 KiB messages alice → bob (bob's
        // list is cleared only once carol's "ping" is in it: a late "ping" would read as message 'p' = 112)
        int n = 150;
        byte[] body = new byte[1024];
        atB.clear();
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            body[0] = (byte) i;
            a.connection.sendData(body, b.id());
        }
        TestPeer.await("bob got the burst", () -> atB.size() == n);
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        for (int i = 0; i < n; i++) {
            assertEquals(a.id(), atB.get(i).from());
            assertEquals((byte) i, atB.get(i).bytes()[0], "in order");
        }
        long t1 = System.nanoTime();
        a.connection.sendData("rtt", b.id());
        TestPeer.await("one more", () -> atB.size() == n + 1);
        System.out.printf("data relay (Java SDK, E2EE): burst of %d x 1 KiB in %d ms (%.0f msg/s), one message %.2f ms%n",
                n, ms, n * 1000.0 / Math.max(1, ms), (System.nanoTime() - t1) / 1e6);
        for (TestPeer p : List.of(a, b, c)) {
            assertTrue(p.errors().stream().noneMatch(e -> "data".equals(e.source())), p.name + ": " + p.errors());
        }
    }

    @Test
    void passphraseMode_chatIsEncryptedToo_andAWrongPassphraseReadsNothing() throws Exception {
        TestPeer a = fixture.join("alice", "pp", Options.e2eeSenderKeys().withPassphrase("correct horse"));
        TestPeer b = fixture.join("bob", "pp", Options.e2eeSenderKeys().withPassphrase("correct horse"));
        TestPeer m = fixture.join("mallory", "pp", Options.e2eeSenderKeys().withPassphrase("wrong"));
        List<DataMessage> atB = collect(b);
        List<DataMessage> atM = collect(m);
        TestPeer.await("bob and mallory know alice's fingerprint", () -> b.connection.e2eeRemoteFingerprints()
                .containsKey(a.id()) && m.connection.e2eeRemoteFingerprints().containsKey(a.id()));
        a.connection.sendData("passphrase chat", null).get(5, TimeUnit.SECONDS);
        TestPeer.await("bob reads it, mallory reports a message she cannot open", () -> atB.size() == 1
                && m.errors().stream().anyMatch(e -> "data".equals(e.source()) && a.id().equals(e.from())));
        assertEquals("passphrase chat", atB.get(0).text());
        assertTrue(atM.isEmpty(), "a wrong passphrase opens nothing");
    }

    @Test
    void plainChannel_carriesDataToo() throws Exception {
        TestPeer a = fixture.join("alice", "plain", Options.plain());
        TestPeer b = fixture.join("bob", "plain", Options.plain());
        List<DataMessage> atB = collect(b);
        a.connection.sendData("no e2ee here", null).get(5, TimeUnit.SECONDS);
        TestPeer.await("bob got it", () -> atB.size() == 1);
        assertEquals("no e2ee here", atB.get(0).text());
        assertEquals(a.id(), atB.get(0).from());
    }
}
