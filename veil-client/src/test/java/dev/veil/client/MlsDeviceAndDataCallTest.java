package dev.veil.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The MLS key mode through a real server with persistent device identities and data messages (docs/PROTOCOL.md
 * §4.9, §4.10): bob's device fingerprint, carried in his MLS credential, is the one alice sees in two calls with two
 * different connection ids; data messages sealed with the MLS exporter's data key arrive, as sent, in both calls.
 */
class MlsDeviceAndDataCallTest extends ServerFixture.PerTest {
    private static final long WAIT_MS = 90_000;
    @TempDir
    Path dir;

    private static void await(String what, BooleanSupplier cond) {
        TestPeer.await(what, WAIT_MS, cond);
    }

    private TestPeer join(String name, String channel, Path keyFile) throws Exception {
        TestPeer p = fixture.peer(name, channel, Options.e2eeMls().withMlsExternalSender(true)
                .withDeviceKeyFile(keyFile).withConnectTimeoutMillis(WAIT_MS));
        p.connection.connect().get(WAIT_MS, TimeUnit.MILLISECONDS);
        return p;
    }

    @Test
    void deviceFingerprintsAreStableAcrossCallsAndDataMessagesFlow() throws Exception {
        Path aliceKey = dir.resolve("alice.key");
        Path bobKey = dir.resolve("bob.key");
        List<String> bobIds = new ArrayList<>();
        String seen = null;
        for (String call : List.of("call-1", "call-2")) {
            TestPeer a = join("alice", call, aliceKey);
            TestPeer b = join("bob", call, bobKey);
            List<DataMessage> toBob = new CopyOnWriteArrayList<>();
            b.connection.onData(toBob::add);
            await(call + ": alice sees bob's device fingerprint", () -> b.connection.e2eeDeviceFingerprint() != null
                    && b.connection.e2eeDeviceFingerprint().equals(
                            a.connection.e2eeRemoteFingerprints().get(b.id())));
            String fp = a.connection.e2eeRemoteFingerprints().get(b.id());
            if (seen != null) {
                assertEquals(seen, fp, "the same device fingerprint in the next call");
            }
            seen = fp;
            bobIds.add(b.id());
            // bob applies the Welcome on his own loop: wait for it rather than race it
            await(call + ": bob sees alice's device fingerprint",
                    () -> b.connection.e2eeRemoteFingerprints().get(a.id()) != null);
            assertEquals(a.connection.e2eeDeviceFingerprint(), b.connection.e2eeRemoteFingerprints().get(a.id()));
            a.connection.sendData("hello " + call, null).get(WAIT_MS, TimeUnit.MILLISECONDS);
            await(call + ": bob gets alice's data message", () -> !toBob.isEmpty());
            DataMessage m = toBob.get(0);
            assertEquals(a.id(), m.from());
            assertEquals("hello " + call, m.text());
            a.close();
            b.close();
        }
        assertNotNull(seen);
        assertNotEquals(bobIds.get(0), bobIds.get(1), "two calls, two connection ids, one fingerprint");
        assertEquals(true, Files.exists(bobKey));
    }
}
