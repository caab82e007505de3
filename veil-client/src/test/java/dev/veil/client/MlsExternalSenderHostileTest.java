package dev.veil.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.veil.e2ee.mls.MlsKeyPackage;
import dev.veil.hostile.HostileRelay;
import dev.veil.server.MlsExternalSender;
import dev.veil.signaling.MlsFraming;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;

/**
 * The MLS key mode with the server as external sender (docs/PROTOCOL.md §4.8) through a real veil-server, honest
 * and behind veil-hostile's relay playing a malicious server that holds the external-sender key (it swaps its own
 * into {@code create}): a ghost proposal never announced is refused; a split view (the ghost announced to one member
 * only) makes the other member refuse the commit and hold sending; a withheld removal is reported and holds
 * sending; replayed and reordered handshake messages change nothing.
 */
class MlsExternalSenderHostileTest extends ServerFixture.BehindHostileRelay {
    private static final String CHANNEL = "mls-es-hostile";
    private static final long WAIT_MS = 90_000;
    private static final String GHOST = "GH0STGH0STGH0STGH0STGH0ST0";
    private final MlsExternalSender hostileKey = new MlsExternalSender(new SecureRandom());
    private final AtomicReference<byte[]> groupId = new AtomicReference<>();

    private TestPeer join(String name) throws Exception {
        TestPeer p = fixture.peer(name, CHANNEL,
                Options.e2eeMls().withMlsExternalSender(true).withConnectTimeoutMillis(WAIT_MS));
        p.connection.connect().get(WAIT_MS, TimeUnit.MILLISECONDS);
        return p;
    }

    private static void await(String what, BooleanSupplier cond) {
        TestPeer.await(what, WAIT_MS, cond);
    }

    private static boolean settled(List<TestPeer> ps) {
        long e = ps.get(0).connection.e2eeEpoch();
        String code = ps.get(0).connection.e2eeVerificationCode();
        for (TestPeer p : ps) {
            if (e < 0 || p.connection.e2eeEpoch() != e || code == null
                    || !code.equals(p.connection.e2eeVerificationCode())
                    || MlsCallTest.mlsRoster(p).size() != ps.size()) {
                return false;
            }
        }
        return true;
    }

    private static boolean reported(TestPeer p, String reason) {
        return p.errors().stream().anyMatch(e -> e.reason().equals(reason));
    }

    private static List<String> reasons(TestPeer p) {
        return p.errors().stream().map(E2eeEvent.Error::reason).toList();
    }

    /** The hostile server: its own key in create, the real server's proposals (no longer verifiable) dropped. */
    private class HostileKey implements HostileRelay.Script {
        @Override
        public List<JsonNode> fromServer(HostileRelay.Link link, ObjectNode msg) {
            String type = msg.path("type").asText();
            if (type.equals("mls_event") && msg.path("event").asText().equals("create")) {
                groupId.set(Base64.getDecoder().decode(msg.path("group_id").asText()));
                msg.put("external_sender", Base64.getEncoder().encodeToString(hostileKey.externalSender()));
            }
            if (type.equals("mls") && !msg.has("from")) {
                return List.of();
            }
            return List.of(msg);
        }
    }

    private static ObjectNode external(byte[] proposal) {
        ObjectNode m = HostileRelay.JSON.createObjectNode();
        m.put("type", "mls");
        m.put("payload", Base64.getEncoder().encodeToString(proposal));
        return m;
    }

    @Test
    void anHonestServerProposesAndMembersFollowWithoutComplaint() throws Exception {
        TestPeer a = join("alice");
        TestPeer b = join("bob");
        TestPeer c = join("carol");
        await("three members at one epoch", () -> settled(List.of(a, b, c)));
        c.close();
        await("carol removed", () -> settled(List.of(a, b)));
        for (TestPeer p : List.of(a, b)) {
            for (String bad : List.of("REJECTED", "PROPOSAL_REFUSED", "COMMIT_REFUSED", "REMOVAL_WITHHELD")) {
                assertFalse(reported(p, bad), p.name + " reported " + reasons(p));
            }
        }
        await("frames flow", () -> {
            a.sendFrame();
            b.sendFrame();
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
            return a.receivedFrom(b) >= 5 && b.receivedFrom(a) >= 5;
        });
    }

    @Test
    void aGhostIsRefusedAndASplitViewIsDetectedByTheMemberItWasHiddenFrom() throws Exception {
        relay.script(new HostileKey());
        TestPeer a = join("alice");
        TestPeer b = join("bob");
        await("alice and bob at one epoch (added inline after the wait)", () -> settled(List.of(a, b)));
        long epoch = a.connection.e2eeEpoch();
        String code = a.connection.e2eeVerificationCode();
        byte[] ghostKp = MlsKeyPackage.create(GHOST.getBytes(StandardCharsets.UTF_8)).bytes();
        byte[] add = hostileKey.addProposal(groupId.get(), epoch, ghostKp);
        // a ghost never announced to anyone: both refuse the server's proposal; nothing changes
        relay.link(a.id()).toClient(external(add));
        relay.link(b.id()).toClient(external(add));
        await("both refuse the ghost", () -> reported(a, "PROPOSAL_REFUSED") && reported(b, "PROPOSAL_REFUSED"));
        a.connection.onLoopForTesting(() -> { }).get(10, TimeUnit.SECONDS);
        assertEquals(epoch, a.connection.e2eeEpoch());
        assertEquals(code, b.connection.e2eeVerificationCode());

        // split view: the ghost is announced to alice only; alice (the committer) commits it, bob refuses that
        ObjectNode notify = HostileRelay.JSON.createObjectNode();
        notify.put("type", "notify");
        notify.put("event_type", "connection.created");
        notify.put("connection_id", GHOST);
        notify.put("role", "sendrecv");
        notify.put("channel_connections", 3);
        relay.link(a.id()).toClient(notify);
        relay.link(a.id()).toClient(external(add));
        relay.link(b.id()).toClient(external(add));
        await("bob refuses the commit that adds a member never announced to him; alice (deceived) applies it",
                () -> reported(b, "COMMIT_REFUSED") && MlsCallTest.mlsRoster(a).contains(GHOST));
        assertFalse(MlsCallTest.mlsRoster(b).contains(GHOST), "bob never entered the ghost's epoch");
        assertEquals(epoch, b.connection.e2eeEpoch());
        assertNotEquals(a.connection.e2eeVerificationCode(), b.connection.e2eeVerificationCode(),
                "the codes differ: comparing them shows the split");
    }

    @Test
    void aWithheldRemovalIsReportedByEveryRemainingMember() throws Exception {
        AtomicBoolean withhold = new AtomicBoolean();
        relay.script(new HostileKey() {
            @Override
            public List<JsonNode> fromServer(HostileRelay.Link link, ObjectNode msg) {
                if (withhold.get() && msg.path("type").asText().equals("mls") && msg.has("from")) {
                    MlsFraming f = MlsFraming.parse(Base64.getDecoder().decode(msg.path("payload").asText()));
                    if (f.isGroupMessage() && f.contentType() == MlsFraming.COMMIT) {
                        return List.of(); // every commit (the removal) held back
                    }
                }
                return super.fromServer(link, msg);
            }
        });
        TestPeer a = join("alice");
        TestPeer b = join("bob");
        TestPeer c = join("carol");
        await("three members at one epoch", () -> settled(List.of(a, b, c)));
        withhold.set(true);
        c.close();
        await("alice and bob report the withheld removal", () -> reported(a, "REMOVAL_WITHHELD")
                && reported(b, "REMOVAL_WITHHELD"));
        assertTrue(MlsCallTest.mlsRoster(a).contains(c.id()), "carol is indeed still in alice's group");
        assertTrue(MlsCallTest.mlsRoster(b).contains(c.id()));
    }

    @Test
    void replayedAndReorderedHandshakeMessagesChangeNothing() throws Exception {
        List<JsonNode> toBob = new CopyOnWriteArrayList<>();
        AtomicReference<String> bobId = new AtomicReference<>();
        relay.script(new HostileRelay.Script() {
            @Override
            public List<JsonNode> fromServer(HostileRelay.Link link, ObjectNode msg) {
                if (msg.path("type").asText().equals("mls") && link.connectionId != null
                        && link.connectionId.equals(bobId.get())) {
                    toBob.add(msg.deepCopy());
                }
                return List.of(msg);
            }
        });
        TestPeer a = join("alice");
        TestPeer b = join("bob");
        bobId.set(b.id());
        TestPeer c = join("carol");
        await("three members at one epoch", () -> settled(List.of(a, b, c)));
        long epoch = b.connection.e2eeEpoch();
        String code = b.connection.e2eeVerificationCode();
        assertTrue(toBob.size() >= 2, "bob got handshake messages (server proposals included): " + toBob.size());
        List<JsonNode> reversed = new ArrayList<>(toBob);
        java.util.Collections.reverse(reversed);
        for (JsonNode m : toBob) {
            relay.link(b.id()).toClient(m); // replayed in order
        }
        for (JsonNode m : reversed) {
            relay.link(b.id()).toClient(m); // and in reverse order
        }
        b.connection.onLoopForTesting(() -> { }).get(10, TimeUnit.SECONDS);
        assertEquals(epoch, b.connection.e2eeEpoch());
        assertEquals(code, b.connection.e2eeVerificationCode());
        assertFalse(reported(b, "COMMIT_REFUSED"), reasons(b).toString());
        await("frames still flow", () -> {
            a.sendFrame();
            b.sendFrame();
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
            return b.receivedFrom(a) >= 10 && a.receivedFrom(b) >= 10;
        });
        b.assertReceivedExactly(a);
    }
}
