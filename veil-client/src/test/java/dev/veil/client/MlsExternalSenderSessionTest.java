package dev.veil.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.veil.e2ee.codec.FrameCryptoException;
import dev.veil.e2ee.identity.DeviceIdentity;
import dev.veil.e2ee.mls.MlsKeyPackage;
import dev.veil.server.MlsExternalSender;
import dev.veil.signaling.Mls;
import dev.veil.signaling.MlsEvent;
import dev.veil.signaling.SignalingMessage;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The SDK's MLS session with the server as external sender (docs/PROTOCOL.md §4.8-4.10), in memory with a manual
 * clock: the test plays the delivery service and signs the server's proposals with veil-server's
 * {@link MlsExternalSender}. Members commit the server's proposals by reference, refuse what does not match the
 * membership announced to them (ghost, split view), report a withheld removal and hold sending, carry device
 * identities in their credentials, and exchange data messages keyed from the MLS exporter.
 */
class MlsExternalSenderSessionTest {
    private static final String A = "AAAAAAAAAAAAAAAAAAAAAAAAAA";
    private static final String B = "BBBBBBBBBBBBBBBBBBBBBBBBBB";
    private static final String C = "CCCCCCCCCCCCCCCCCCCCCCCCCC";
    private static final String G = "GGGGGGGGGGGGGGGGGGGGGGGGGG";
    private static final byte[] GID = {'r', '#', '1'};

    private final MlsExternalSender server = new MlsExternalSender(new SecureRandom());

    /** One member: its session, what it sent, what it reported. */
    private static final class M {
        final String id;
        final MlsSession s;
        final List<SignalingMessage> out = new ArrayList<>();
        final List<E2eeEvent> events = new ArrayList<>();

        M(String id, DeviceIdentity device) {
            this.id = id;
            this.s = new MlsSession(new SecureRandom(), events::add, out::add, device, true);
            s.start(id);
        }

        List<String> errors() {
            List<String> r = new ArrayList<>();
            for (E2eeEvent e : events) {
                if (e instanceof E2eeEvent.Error err) {
                    r.add(err.reason());
                }
            }
            return r;
        }

        Mls take() {
            assertEquals(1, out.size(), id + " sent " + out);
            return (Mls) out.remove(0);
        }
    }

    private M founder() {
        M a = new M(A, null);
        a.s.onEvent(MlsEvent.create(GID, server.externalSender()), 0);
        assertEquals(0, a.s.epoch());
        return a;
    }

    /** {@code joiner} publishes; the server proposes its add; the committer commits it; everyone applies. */
    private void join(M committer, M joiner, List<M> members, long now) {
        for (M m : members) {
            m.s.memberJoined(joiner.id, now);
        }
        joiner.s.onEvent(MlsEvent.join(GID), now);
        for (M m : members) {
            joiner.s.memberJoined(m.id, now);
        }
        Mls kp = joiner.take();
        for (M m : members) {
            m.s.onMessage(Mls.from(joiner.id, kp.payload()), now);
        }
        assertTrue(committer.out.isEmpty(), "with an external sender the committer waits for the server's proposal");
        byte[] add = server.addProposal(GID, committer.s.epoch(), kp.payloadBytes());
        for (M m : members) {
            m.s.onMessage(Mls.external(add), now);
        }
        Mls commit = committer.take();
        assertEquals(List.of(joiner.id), commit.welcomeTo());
        deliver(committer, commit, members, now);
        joiner.s.onMessage(Mls.from(committer.id, commit.welcome()), now);
    }

    private static void deliver(M committer, Mls commit, List<M> to, long now) {
        for (M m : to) {
            m.s.onMessage(Mls.from(committer.id, commit.payload()), now);
        }
    }

    @Test
    void theServerProposesTheCommitterCommitsByReferenceAndDataFlows() throws Exception {
        M a = founder();
        M b = new M(B, null);
        M c = new M(C, null);
        join(a, b, List.of(a), 10);
        join(a, c, List.of(a, b), 20);
        assertEquals(2, a.s.epoch());
        assertEquals(List.of(A, B, C), c.s.roster());
        assertEquals(a.s.verificationCode(), c.s.verificationCode());

        // data messages: keyed from the exporter, bound to their sender, never re-attributable
        byte[] sealed = a.s.sealData(null, DataCrypto.KIND_TEXT, "hi".getBytes(StandardCharsets.UTF_8));
        DataCrypto.Opened o = b.s.openData(A, null, sealed, 21);
        assertNotNull(o);
        assertEquals("hi", new String(o.body(), StandardCharsets.UTF_8));
        assertNull(c.s.openData(B, null, sealed, 21), "A's message attributed to B by the server finds no key");
        assertTrue(c.errors().contains("NO_KEY"), c.errors().toString());
        byte[] frame = {(byte) 0xf8, 1, 2, 3};
        assertFalse(java.util.Arrays.equals(a.s.encryptOpus(frame), sealed));

        // C leaves: the server proposes the removal of its leaf; A commits it by reference
        a.s.memberLeft(C, 30);
        b.s.memberLeft(C, 30);
        assertTrue(a.out.isEmpty(), "no inline removal before the wait");
        byte[] rm = server.removeProposal(GID, 2, 2);
        a.s.onMessage(Mls.external(rm), 31);
        b.s.onMessage(Mls.external(rm), 31);
        c.s.onMessage(Mls.external(rm), 31); // still listening: it must see itself removed by reference
        Mls commit = a.take();
        assertEquals(List.of(A, B), commit.leaves(), "the leaves hint for the server (the tree shrank)");
        deliver(a, commit, List.of(a, b, c), 32);
        assertEquals(3, b.s.epoch());
        assertEquals(List.of(A, B), b.s.roster());
        assertEquals(-1, c.s.epoch(), "C is out");
        byte[] after = a.s.sealData(null, DataCrypto.KIND_BYTES, new byte[] {7});
        assertNotNull(b.s.openData(A, null, after, 33));
        assertTrue(a.errors().isEmpty() && b.errors().isEmpty(), a.errors() + " " + b.errors());
    }

    @Test
    void ghostProposalsAreRefusedAndASplitViewMakesTheOtherMemberRefuseTheCommit() throws Exception {
        M a = founder();
        M b = new M(B, null);
        join(a, b, List.of(a), 10);
        // a ghost never announced to anyone: refused by both, never committed
        byte[] ghost = server.addProposal(GID, 1, MlsKeyPackage.create(G.getBytes(StandardCharsets.UTF_8)).bytes());
        a.s.onMessage(Mls.external(ghost), 11);
        b.s.onMessage(Mls.external(ghost), 11);
        assertTrue(a.errors().contains("PROPOSAL_REFUSED"), a.errors().toString());
        assertTrue(b.errors().contains("PROPOSAL_REFUSED"));
        assertTrue(a.out.isEmpty(), "nothing to commit");
        a.s.timeout(20_000);
        assertTrue(a.out.isEmpty(), "and no inline add either");

        // split view: the server announces the ghost to A only
        a.s.memberJoined(G, 12);
        a.s.onMessage(Mls.external(ghost), 12);
        Mls commit = a.take();
        deliver(a, commit, List.of(a, b), 13);
        assertEquals(2, a.s.epoch(), "A, told of G, added it");
        assertTrue(b.errors().contains("COMMIT_REFUSED"), b.errors().toString());
        assertEquals(1, b.s.epoch(), "B did not apply the commit that adds a member never announced to it");
        assertTrue(b.s.sendingHeld());
        assertThrows(FrameCryptoException.class, () -> b.s.encryptOpus(new byte[] {(byte) 0xf8, 1}));
        assertThrows(FrameCryptoException.class, () -> b.s.sealData(null, DataCrypto.KIND_BYTES, new byte[] {1}));
    }

    @Test
    void aWithheldRemovalIsReportedAndHoldsSendingUntilTheMemberIsRemoved() throws Exception {
        M a = founder();
        M b = new M(B, null);
        M c = new M(C, null);
        join(a, b, List.of(a), 10);
        join(a, c, List.of(a, b), 20);
        a.s.memberLeft(C, 1_000);
        b.s.memberLeft(C, 1_000);
        // the server proposes nothing; A's inline removal after the wait is dropped by the server
        a.s.timeout(1_000 + MlsSession.PROPOSAL_WAIT_MILLIS - 1);
        assertTrue(a.out.isEmpty(), "waits for the server's proposal");
        assertTrue(a.s.nextTimeout().getAsLong() <= 1_000 + MlsSession.PROPOSAL_WAIT_MILLIS);
        a.s.timeout(1_000 + MlsSession.PROPOSAL_WAIT_MILLIS);
        Mls dropped = a.take();
        assertEquals(List.of(A, B), dropped.leaves());
        long bound = 1_000 + MlsSession.REMOVAL_BOUND_MILLIS;
        for (M m : List.of(a, b)) {
            m.s.timeout(bound - 1);
            assertFalse(m.s.sendingHeld());
            m.s.timeout(bound);
            assertTrue(m.errors().contains("REMOVAL_WITHHELD"), m.errors().toString());
            assertTrue(m.s.sendingHeld());
            assertThrows(FrameCryptoException.class, () -> m.s.encryptOpus(new byte[] {(byte) 0xf8, 1}));
        }
        // the removal finally goes through: sending resumes
        deliver(a, dropped, List.of(a, b), bound + 5);
        assertEquals(List.of(A, B), b.s.roster());
        assertFalse(a.s.sendingHeld());
        assertFalse(b.s.sendingHeld());
        byte[] f = a.s.encryptOpus(new byte[] {(byte) 0xf8, 1, 2});
        assertArrayEquals(new byte[] {(byte) 0xf8, 1, 2}, b.s.decryptOpus(A, f, bound + 6));
    }

    @Test
    void deviceIdentitiesInCredentialsGiveStableFingerprintsAcrossCalls() throws Exception {
        DeviceIdentity bobDevice = DeviceIdentity.generate(new SecureRandom());
        String expected = bobDevice.fingerprint().display();
        for (String call : List.of("1", "2")) {
            String bid = "B" + call + "BBBBBBBBBBBBBBBBBBBBBBBB";
            M a = founder();
            M b = new M(bid, bobDevice);
            assertEquals(expected, b.s.deviceFingerprint());
            join(a, b, List.of(a), 10);
            Map<String, String> seen = null;
            for (E2eeEvent e : a.events) {
                if (e instanceof E2eeEvent.Fingerprints fp) {
                    seen = fp.remote();
                }
            }
            assertEquals(Map.of(bid, expected), seen, "call " + call + ": B's device fingerprint from its credential");
        }
        // a credential copying B's device part onto another leaf key does not verify
        MlsKeyPackage real = MlsKeyPackage.create(B, bobDevice);
        MlsKeyPackage forged = MlsKeyPackage.create(real.identity());
        M a = founder();
        a.s.memberJoined(B, 1);
        a.s.onMessage(Mls.from(B, java.util.Base64.getEncoder().encodeToString(forged.bytes())), 1);
        assertTrue(a.errors().contains("KEY_PACKAGE_IDENTITY"), a.errors().toString());
        byte[] p = server.addProposal(GID, 0, forged.bytes());
        a.s.onMessage(Mls.external(p), 2);
        assertTrue(a.errors().contains("PROPOSAL_REFUSED"), "the server cannot add it either");
        assertTrue(a.out.isEmpty());
    }
}
