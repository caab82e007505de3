package dev.veil.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.veil.e2ee.mls.MlsKeyPackage;
import dev.veil.hostile.HostileRelay;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;

/**
 * The MLS key mode against a server that attacks (veil-hostile's relay in front of a real veil-server): a replayed
 * commit changes nothing; a ghost the server invents, announces to every member and publishes a key package for ends
 * up in every member's MLS roster with a new code, which is how it is detected (docs/SECURITY.md); announced to some
 * members only, it is refused by the others (MlsExternalSenderHostileTest).
 */
class MlsHostileServerTest extends ServerFixture.BehindHostileRelay {
    private static final String CHANNEL = "mls-hostile";
    private static final long WAIT_MS = 90_000;

    private TestPeer join(String name) throws Exception {
        TestPeer p = fixture.peer(name, CHANNEL, Options.e2eeMls().withConnectTimeoutMillis(WAIT_MS));
        p.connection.connect().get(WAIT_MS, TimeUnit.MILLISECONDS);
        return p;
    }

    private static void await(String what, BooleanSupplier cond) {
        TestPeer.await(what, WAIT_MS, cond);
    }

    private static boolean sameEpoch(TestPeer a, TestPeer b, int members) {
        return a.connection.e2eeEpoch() >= 0 && a.connection.e2eeEpoch() == b.connection.e2eeEpoch()
                && a.connection.e2eeVerificationCode() != null
                && a.connection.e2eeVerificationCode().equals(b.connection.e2eeVerificationCode())
                && MlsCallTest.mlsRoster(a).size() == members && MlsCallTest.mlsRoster(b).size() == members;
    }

    @Test
    void replayedCommitChangesNothing() throws Exception {
        List<JsonNode> toBob = new CopyOnWriteArrayList<>();
        relay.script(new HostileRelay.Script() {
            @Override
            public List<JsonNode> fromServer(HostileRelay.Link link, ObjectNode msg) {
                if (msg.path("type").asText().equals("mls")) {
                    toBob.add(msg.deepCopy());
                }
                return List.of(msg);
            }
        });
        TestPeer a = join("alice");
        TestPeer b = join("bob");
        await("alice and bob share an epoch", () -> sameEpoch(a, b, 2));
        long epoch = b.connection.e2eeEpoch();
        String code = b.connection.e2eeVerificationCode();
        int replayed = 0;
        for (JsonNode m : toBob) {
            relay.link(b.id()).toClient(m); // every MLS message again: key packages, the welcome, commits
            replayed++;
        }
        assertTrue(replayed > 0);
        b.connection.onLoopForTesting(() -> { }).get(10, TimeUnit.SECONDS);
        assertEquals(epoch, b.connection.e2eeEpoch());
        assertEquals(code, b.connection.e2eeVerificationCode());
        await("frames still decrypt", () -> {
            a.sendFrame();
            b.sendFrame();
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
            return b.receivedFrom(a) >= 10 && a.receivedFrom(b) >= 10;
        });
        b.assertReceivedExactly(a);
    }

    @Test
    void ghostAddedByTheServerShowsInTheRosterAndChangesTheCode() throws Exception {
        TestPeer a = join("alice");
        TestPeer b = join("bob");
        await("alice and bob share an epoch", () -> sameEpoch(a, b, 2));
        String honest = a.connection.e2eeVerificationCode();
        String ghost = "GH0STGH0STGH0STGH0STGH0ST0";
        MlsKeyPackage kp = MlsKeyPackage.create(ghost.getBytes(StandardCharsets.UTF_8));
        ObjectNode notify = HostileRelay.JSON.createObjectNode();
        notify.put("type", "notify");
        notify.put("event_type", "connection.created");
        notify.put("connection_id", ghost);
        notify.put("role", "sendrecv");
        notify.put("channel_connections", 3);
        ObjectNode mls = HostileRelay.JSON.createObjectNode();
        mls.put("type", "mls");
        mls.put("from", ghost);
        mls.put("payload", Base64.getEncoder().encodeToString(kp.bytes()));
        // announced to both (a server that tells one member only is caught at once: MlsExternalSenderHostileTest)
        relay.link(a.id()).toClient(notify);
        relay.link(b.id()).toClient(notify);
        relay.link(a.id()).toClient(mls);
        await("the ghost is in both rosters", () -> MlsCallTest.mlsRoster(a).contains(ghost)
                && MlsCallTest.mlsRoster(b).contains(ghost) && sameEpoch(a, b, 3));
        assertNotEquals(honest, a.connection.e2eeVerificationCode(), "the code changed: comparing it shows the ghost");
        assertEquals(2, relay.links.size(), "no real third member");
    }
}
