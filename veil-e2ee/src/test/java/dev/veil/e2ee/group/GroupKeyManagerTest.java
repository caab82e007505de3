package dev.veil.e2ee.group;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.veil.e2ee.group.GroupOutput.ActivateSendKey;
import dev.veil.e2ee.group.GroupOutput.ForgetSender;
import dev.veil.e2ee.group.GroupOutput.InstallKey;
import dev.veil.e2ee.group.GroupOutput.Rejected;
import dev.veil.e2ee.group.GroupOutput.SendTo;
import dev.veil.e2ee.identity.Bundle;
import dev.veil.e2ee.identity.Identity;
import dev.veil.e2ee.identity.TestIdentities;
import dev.veil.e2ee.key.KeyId;
import dev.veil.e2ee.key.KeyRatchet;
import dev.veil.e2ee.pairwise.PairwiseChannel;
import dev.veil.e2ee.pairwise.PairwiseException;
import dev.veil.e2ee.util.SecretBytes;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

/** One test per rule of the group key manager (docs/PROTOCOL.md §3.5). */
class GroupKeyManagerTest {
    static final String A = TestIdentities.connectionId("alice");
    static final String B = TestIdentities.connectionId("bob");
    static final String C = TestIdentities.connectionId("carol");
    static final String D = TestIdentities.connectionId("dave");

    static GroupKeyManager manager(String name) {
        return manager(name, GroupKeyManager.Config.DEFAULT);
    }

    static GroupKeyManager manager(String name, GroupKeyManager.Config config) {
        return new GroupKeyManager(TestIdentities.identity(name), TestIdentities.connectionId(name),
                new DeterministicRandom(name.hashCode()), config);
    }

    static Bundle bundle(String name) {
        return TestIdentities.bundle(name);
    }

    static <T extends GroupOutput> List<T> only(List<GroupOutput> outs, Class<T> type) {
        List<T> r = new ArrayList<>();
        for (GroupOutput o : outs) {
            if (type.isInstance(o)) {
                r.add(type.cast(o));
            }
        }
        return r;
    }

    static ActivateSendKey activation(List<GroupOutput> outs) {
        List<ActivateSendKey> a = only(outs, ActivateSendKey.class);
        assertEquals(1, a.size(), "exactly one activation in " + outs);
        return a.get(0);
    }

    /** Opens every SendTo addressed to {@code toName} with a fresh channel of that member: the key messages. */
    static List<KeyMessage> opened(List<GroupOutput> outs, String fromName, String toName) throws Exception {
        PairwiseChannel ch = PairwiseChannel.create(TestIdentities.identity(toName), TestIdentities.connectionId(toName),
                bundle(fromName));
        List<KeyMessage> r = new ArrayList<>();
        for (SendTo s : only(outs, SendTo.class)) {
            if (s.connectionId().equals(TestIdentities.connectionId(toName))) {
                r.add(KeyMessage.decode(ch.open(s.message())));
            }
        }
        return r;
    }

    /** Delivers every SendTo of {@code from}'s outputs to the managers in {@code to}; returns their outputs. */
    static List<GroupOutput> deliver(List<GroupOutput> outs, String fromId, GroupKeyManager... to) {
        List<GroupOutput> all = new ArrayList<>();
        for (SendTo s : only(outs, SendTo.class)) {
            for (GroupKeyManager m : to) {
                if (m.selfConnectionId().equals(s.connectionId())) {
                    m.messageReceived(0, fromId, s.message());
                    all.addAll(m.drainOutputs());
                }
            }
        }
        return all;
    }

    @Test
    void start_activatesRandomKeyAtGenerationZeroStepZero() {
        GroupKeyManager a = manager("alice");
        ActivateSendKey act = activation(a.drainOutputs());
        assertEquals(new KeyId(0, 0), act.keyId());
        assertEquals(32, act.baseKey().size());
        assertEquals(new KeyId(0, 0), a.activeKeyId());
        assertTrue(a.pollTimeout().isEmpty());
    }

    @Test
    void join_ratchetsOwnKeyAndSendsOnlyTheNewKeyToTheNewcomer() throws Exception {
        GroupKeyManager a = manager("alice");
        byte[] k0 = activation(a.drainOutputs()).baseKey().toByteArray();
        a.memberJoined(0, bundle("bob"));
        List<GroupOutput> outs = a.drainOutputs();
        ActivateSendKey act = activation(outs);
        assertEquals(new KeyId(0, 1), act.keyId());
        assertArrayEquals(KeyRatchet.VEIL.next(k0), act.baseKey().toByteArray());
        List<KeyMessage> toBob = opened(outs, "alice", "bob");
        assertEquals(1, toBob.size());
        KeyMessage.Key k = (KeyMessage.Key) toBob.get(0);
        assertEquals(new KeyId(0, 1), k.keyId());
        assertTrue(k.active());
        assertEquals(act.baseKey(), k.baseKey());
        assertEquals(1, only(outs, SendTo.class).size());
    }

    @Test
    void join_presentMembersGetNoMessageAndDeriveTheRatchetedKey() throws Exception {
        GroupKeyManager a = manager("alice");
        a.drainOutputs();
        a.memberJoined(0, bundle("bob"));
        KeyMessage.Key bobHas = (KeyMessage.Key) opened(a.drainOutputs(), "alice", "bob").get(0);
        a.memberJoined(0, bundle("carol"));
        List<GroupOutput> outs = a.drainOutputs();
        ActivateSendKey act = activation(outs);
        assertEquals(new KeyId(0, 2), act.keyId());
        assertTrue(opened(outs, "alice", "bob").isEmpty(), "bob needs no message");
        assertEquals(1, opened(outs, "alice", "carol").size());
        assertArrayEquals(act.baseKey().toByteArray(), KeyRatchet.VEIL.next(bobHas.baseKey().toByteArray()));
    }

    @Test
    void newcomerList_ratchetsOnceForTheWholeList() throws Exception {
        GroupKeyManager d = manager("dave");
        d.drainOutputs();
        d.membersJoined(0, List.of(bundle("alice"), bundle("bob"), bundle("carol")));
        List<GroupOutput> outs = d.drainOutputs();
        assertEquals(new KeyId(0, 1), activation(outs).keyId());
        assertEquals(3, only(outs, SendTo.class).size());
        for (String n : List.of("alice", "bob", "carol")) {
            assertEquals(new KeyId(0, 1), opened(outs, "dave", n).get(0).keyId());
        }
    }

    @Test
    void receiveActiveOrPendingKey_installsAndAcks() throws Exception {
        GroupKeyManager a = manager("alice");
        GroupKeyManager b = manager("bob");
        a.drainOutputs();
        b.drainOutputs();
        a.memberJoined(0, bundle("bob"));
        b.memberJoined(0, bundle("alice"));
        b.drainOutputs();
        List<GroupOutput> atBob = deliver(a.drainOutputs(), A, b);
        List<InstallKey> installs = only(atBob, InstallKey.class);
        assertEquals(1, installs.size());
        assertEquals(A, installs.get(0).sender());
        assertEquals(new KeyId(0, 1), installs.get(0).keyId());
        assertEquals(List.of(new KeyMessage.KeyAck(new KeyId(0, 1))), opened(atBob, "bob", "alice"),
                "ACTIVE keys are acked too (rule R)");
        b.drainOutputs();
        a.memberJoined(0, bundle("carol"));
        a.memberLeft(0, C);
        List<GroupOutput> outs = a.drainOutputs();
        atBob = deliver(outs, A, b);
        assertEquals(new KeyId(1, 0), only(atBob, InstallKey.class).get(0).keyId());
        List<KeyMessage> acks = opened(atBob, "bob", "alice");
        assertEquals(List.of(new KeyMessage.KeyAck(new KeyId(1, 0))), acks);
    }

    @Test
    void leave_forgetsTheMemberAndActivatesAFreshGenerationOnceAllRemainingMembersAcked() throws Exception {
        GroupKeyManager a = manager("alice");
        GroupKeyManager b = manager("bob");
        GroupKeyManager c = manager("carol");
        a.drainOutputs();
        a.membersJoined(0, List.of(bundle("bob"), bundle("carol"), bundle("dave")));
        b.memberJoined(0, bundle("alice"));
        c.memberJoined(0, bundle("alice"));
        List<GroupOutput> first = a.drainOutputs();
        byte[] old = activation(first).baseKey().toByteArray();
        deliver(first, A, b, c);

        a.memberLeft(1_000, D);
        List<GroupOutput> outs = a.drainOutputs();
        assertEquals(List.of(new ForgetSender(D)), only(outs, ForgetSender.class));
        assertTrue(only(outs, ActivateSendKey.class).isEmpty(), "not before the acks");
        assertEquals(new KeyId(1, 0), a.pendingKeyId().orElseThrow());
        KeyMessage.Key pending = (KeyMessage.Key) opened(outs, "alice", "bob").get(0);
        assertFalse(pending.active());
        assertEquals(new KeyId(1, 0), pending.keyId());
        assertFalse(java.util.Arrays.equals(old, pending.baseKey().toByteArray()));
        assertTrue(opened(outs, "alice", "dave").isEmpty(), "nothing for the member that left");

        List<GroupOutput> bobOut = deliver(outs, A, b);
        assertTrue(deliver(bobOut, B, a).isEmpty(), "one ack is not enough");
        assertEquals(new KeyId(0, 1), a.activeKeyId());
        List<GroupOutput> carolOut = deliver(outs, A, c);
        List<GroupOutput> done = deliver(carolOut, C, a);
        ActivateSendKey act = activation(done);
        assertEquals(new KeyId(1, 0), act.keyId());
        assertEquals(pending.baseKey(), act.baseKey());
        assertTrue(a.pendingKeyId().isEmpty());
        assertTrue(a.pollTimeout().isEmpty());
    }

    @Test
    void leave_ofTheLastOtherMember_activatesTheFreshKeyAtOnce() {
        GroupKeyManager a = manager("alice");
        a.drainOutputs();
        a.memberJoined(0, bundle("bob"));
        a.drainOutputs();
        a.memberLeft(0, B);
        List<GroupOutput> outs = a.drainOutputs();
        assertEquals(new KeyId(1, 0), activation(outs).keyId());
        assertTrue(only(outs, SendTo.class).isEmpty());
    }

    @Test
    void leave_ofAnUnknownConnection_changesNothing() {
        GroupKeyManager a = manager("alice");
        a.drainOutputs();
        a.memberLeft(0, "never-seen");
        assertTrue(a.drainOutputs().isEmpty());
        assertEquals(new KeyId(0, 0), a.activeKeyId());
    }

    @Test
    void pendingKey_isActivatedAtTheDeadlineWithoutAllAcks() {
        GroupKeyManager a = manager("alice");
        a.drainOutputs();
        a.membersJoined(0, List.of(bundle("bob"), bundle("carol")));
        a.drainOutputs();
        a.memberLeft(10_000, C);
        a.drainOutputs();
        assertEquals(OptionalLong.of(11_500), a.pendingDeadline());
        a.handleTimeout(11_499);
        assertTrue(only(a.drainOutputs(), ActivateSendKey.class).isEmpty());
        a.handleTimeout(11_500);
        assertEquals(new KeyId(1, 0), activation(a.drainOutputs()).keyId());
        assertTrue(a.pendingDeadline().isEmpty());
    }

    @Test
    void joinWhilePending_newcomerGetsOnlyThePendingKey_activeKeyIsNotRatcheted_activationWaitsForItsAck()
            throws Exception {
        GroupKeyManager a = manager("alice");
        GroupKeyManager b = manager("bob");
        GroupKeyManager d = manager("dave");
        a.drainOutputs();
        a.membersJoined(0, List.of(bundle("bob"), bundle("carol")));
        b.memberJoined(0, bundle("alice"));
        deliver(a.drainOutputs(), A, b);
        a.memberLeft(0, C);
        List<GroupOutput> leaveOuts = a.drainOutputs();
        a.memberJoined(0, bundle("dave"));
        d.memberJoined(0, bundle("alice"));
        d.drainOutputs();
        List<GroupOutput> joinOuts = a.drainOutputs();
        assertTrue(only(joinOuts, ActivateSendKey.class).isEmpty(), "active key must not be ratcheted");
        assertEquals(new KeyId(0, 1), a.activeKeyId());
        List<KeyMessage> toDave = opened(joinOuts, "alice", "dave");
        assertEquals(1, toDave.size());
        assertEquals(new KeyId(1, 0), toDave.get(0).keyId());
        assertFalse(((KeyMessage.Key) toDave.get(0)).active());

        assertTrue(deliver(deliver(leaveOuts, A, b), B, a).isEmpty(), "dave's ack is still missing");
        assertEquals(new KeyId(1, 0), activation(deliver(deliver(joinOuts, A, d), D, a)).keyId());
    }

    @Test
    void secondLeaveWhilePending_replacesThePendingKeyWithTheNextGeneration_andOldAcksAreIgnored() throws Exception {
        GroupKeyManager a = manager("alice");
        GroupKeyManager b = manager("bob");
        a.drainOutputs();
        a.membersJoined(0, List.of(bundle("bob"), bundle("carol"), bundle("dave")));
        b.memberJoined(0, bundle("alice"));
        deliver(a.drainOutputs(), A, b);
        a.memberLeft(0, D);
        List<GroupOutput> first = a.drainOutputs();
        a.memberLeft(0, C);
        List<GroupOutput> second = a.drainOutputs();
        assertEquals(new KeyId(2, 0), a.pendingKeyId().orElseThrow());
        KeyMessage.Key k1 = (KeyMessage.Key) opened(first, "alice", "bob").get(0);
        KeyMessage.Key k2 = (KeyMessage.Key) opened(second, "alice", "bob").get(0);
        assertEquals(new KeyId(1, 0), k1.keyId());
        assertEquals(new KeyId(2, 0), k2.keyId());
        assertNotEquals(k1.baseKey(), k2.baseKey());
        assertTrue(deliver(deliver(first, A, b), B, a).isEmpty(), "an ack of the replaced key activates nothing");
        assertEquals(new KeyId(2, 0), activation(deliver(deliver(second, A, b), B, a)).keyId());
    }

    @Test
    void join_atStep255_startsANewGenerationForEveryone() throws Exception {
        GroupKeyManager a = manager("alice");
        a.drainOutputs();
        Identity bob = TestIdentities.identity("bob");
        for (int i = 0; i < KeyId.MAX_STEP; i++) {
            a.memberJoined(0, bob.bundle("b" + i));
        }
        a.drainOutputs();
        assertEquals(new KeyId(0, 255), a.activeKeyId());
        a.memberJoined(0, bob.bundle("newcomer"));
        List<GroupOutput> outs = a.drainOutputs();
        assertTrue(only(outs, ActivateSendKey.class).isEmpty());
        assertEquals(new KeyId(1, 0), a.pendingKeyId().orElseThrow());
        assertEquals(256, only(outs, SendTo.class).size(), "the new generation goes to every member");
    }

    @Test
    void join_refreshesPresentMembersThatWouldOtherwiseRatchetMoreThanEightSteps() throws Exception {
        GroupKeyManager a = manager("alice");
        a.drainOutputs();
        a.memberJoined(0, bundle("bob"));
        a.drainOutputs();                                   // bob holds (0,1)
        Identity carol = TestIdentities.identity("carol");
        for (int i = 2; i <= 9; i++) {
            a.memberJoined(0, carol.bundle("c" + i));
            assertTrue(opened(a.drainOutputs(), "alice", "bob").isEmpty(), "step " + i + " is within 8");
        }
        a.memberJoined(0, carol.bundle("c10"));           // (0,10): 9 steps beyond bob's (0,1)
        List<KeyMessage> toBob = opened(a.drainOutputs(), "alice", "bob");
        assertEquals(1, toBob.size());
        assertEquals(new KeyId(0, 10), toBob.get(0).keyId());
        assertTrue(((KeyMessage.Key) toBob.get(0)).active());
    }

    @Test
    void earlyMessage_isKeptUntilTheSendersJoinAndThenProcessed() {
        GroupKeyManager a = manager("alice");
        GroupKeyManager b = manager("bob");
        a.drainOutputs();
        b.drainOutputs();
        b.memberJoined(0, bundle("alice"));
        List<GroupOutput> fromBob = b.drainOutputs();
        for (SendTo s : only(fromBob, SendTo.class)) {
            a.messageReceived(0, B, s.message());
        }
        assertTrue(a.drainOutputs().isEmpty(), "kept silently");
        a.memberJoined(0, bundle("bob"));
        List<InstallKey> installs = only(a.drainOutputs(), InstallKey.class);
        assertEquals(1, installs.size());
        assertEquals(B, installs.get(0).sender());
    }

    @Test
    void earlyMessages_beyondTheBuffer_areRejectedBufferFull() {
        GroupKeyManager a = manager("alice", new GroupKeyManager.Config(5_000, 8, 1, 1));
        a.drainOutputs();
        a.messageReceived(0, B, new byte[] {1});
        assertTrue(a.drainOutputs().isEmpty());
        a.messageReceived(0, B, new byte[] {2});
        a.messageReceived(0, C, new byte[] {3});
        List<Rejected> r = only(a.drainOutputs(), Rejected.class);
        assertEquals(List.of(RejectReason.BUFFER_FULL, RejectReason.BUFFER_FULL),
                r.stream().map(Rejected::reason).toList());
    }

    @Test
    void messageFromAMemberThatLeft_isRejectedUnknownSender() {
        GroupKeyManager a = manager("alice");
        GroupKeyManager b = manager("bob");
        a.drainOutputs();
        b.drainOutputs();
        a.memberJoined(0, bundle("bob"));
        b.memberJoined(0, bundle("alice"));
        a.memberLeft(0, B);
        a.drainOutputs();
        SendTo late = only(b.drainOutputs(), SendTo.class).get(0);
        a.messageReceived(0, B, late.message());
        assertEquals(RejectReason.UNKNOWN_SENDER, only(a.drainOutputs(), Rejected.class).get(0).reason());
        a.memberJoined(0, bundle("bob"));
        assertEquals(RejectReason.UNKNOWN_SENDER, only(a.drainOutputs(), Rejected.class).get(0).reason());
    }

    @Test
    void staleOrRepeatedKey_isRejected() throws Exception {
        GroupKeyManager a = manager("alice");
        a.drainOutputs();
        a.memberJoined(0, bundle("bob"));
        a.drainOutputs();
        PairwiseChannel bob = PairwiseChannel.create(TestIdentities.identity("bob"), B, bundle("alice"));
        SecretBytes k = SecretBytes.copyOf(new byte[32]);
        a.messageReceived(0, B, bob.seal(new KeyMessage.Key(new KeyId(3, 4), k, true).encode()));
        assertEquals(1, only(a.drainOutputs(), InstallKey.class).size());
        a.messageReceived(0, B, bob.seal(new KeyMessage.Key(new KeyId(3, 4), k, true).encode()));
        List<GroupOutput> again = a.drainOutputs();
        assertTrue(only(again, InstallKey.class).isEmpty(), "a retransmitted KEY is not installed twice");
        assertTrue(only(again, Rejected.class).isEmpty());
        assertEquals(1, only(again, SendTo.class).size(), "... but acked again");
        a.messageReceived(0, B, bob.seal(new KeyMessage.Key(new KeyId(3, 3), k, true).encode()));
        a.messageReceived(0, B, bob.seal(new KeyMessage.Key(new KeyId(2, 200), k, false).encode()));
        List<GroupOutput> outs = a.drainOutputs();
        assertEquals(2, only(outs, Rejected.class).size());
        assertTrue(only(outs, Rejected.class).stream().allMatch(r -> r.reason() == RejectReason.STALE_KEY));
        assertTrue(only(outs, InstallKey.class).isEmpty());
        assertTrue(only(outs, SendTo.class).isEmpty(), "no ack for a refused key");
        a.messageReceived(0, B, bob.seal(new KeyMessage.Key(new KeyId(3, 5), k, true).encode()));
        assertEquals(new KeyId(3, 5), only(a.drainOutputs(), InstallKey.class).get(0).keyId());
    }

    @Test
    void badMessages_areRejectedWithTheirReasonAndChangeNothing() throws Exception {
        GroupKeyManager a = manager("alice");
        a.drainOutputs();
        a.memberJoined(0, bundle("bob"));
        a.drainOutputs();
        PairwiseChannel bob = PairwiseChannel.create(TestIdentities.identity("bob"), B, bundle("alice"));
        byte[] good = bob.seal(new KeyMessage.KeyAck(new KeyId(0, 0)).encode());
        byte[] tampered = good.clone();
        tampered[tampered.length - 1] ^= 1;
        a.messageReceived(0, B, tampered);
        a.messageReceived(0, B, new byte[0]);
        a.messageReceived(0, C, good);                       // relay says carol: unknown, kept
        a.messageReceived(0, B, bob.seal(new byte[] {7, 7, 7}));
        a.messageReceived(0, B, good);                       // seq 0 after seq 1 was accepted
        PairwiseChannel carol = PairwiseChannel.create(TestIdentities.identity("carol"), C, bundle("alice"));
        a.messageReceived(0, B, carol.seal(new byte[] {1}));
        List<RejectReason> reasons = only(a.drainOutputs(), Rejected.class).stream().map(Rejected::reason).toList();
        assertEquals(List.of(RejectReason.BAD_TAG, RejectReason.MALFORMED, RejectReason.MALFORMED_KEY_MESSAGE,
                RejectReason.REPLAY, RejectReason.WRONG_SENDER), reasons);
        assertEquals(new KeyId(0, 1), a.activeKeyId());
    }

    @Test
    void badJoins_areRejected() {
        GroupKeyManager a = manager("alice");
        a.drainOutputs();
        Bundle b = bundle("bob");
        byte[] sig = b.signature();
        sig[0] ^= 1;
        Bundle forged = new Bundle(B, b.identityKey(), b.kxKey(), sig);
        a.memberJoined(0, forged);
        a.memberJoined(0, bundle("alice"));
        a.memberJoined(0, bundle("carol"));
        a.memberJoined(0, bundle("carol"));
        a.memberJoined(0, bundle("bob"));                    // refused for good after the bad bundle
        List<RejectReason> reasons = only(a.drainOutputs(), Rejected.class).stream().map(Rejected::reason).toList();
        assertEquals(List.of(RejectReason.BAD_BUNDLE, RejectReason.SELF, RejectReason.DUPLICATE_MEMBER,
                RejectReason.UNKNOWN_SENDER), reasons);
        assertEquals(List.of(bundle("carol")), a.members());
    }

    @Test
    void verificationCode_isTheSameForEveryMemberAndChangesWithMembership() {
        GroupKeyManager a = manager("alice");
        GroupKeyManager b = manager("bob");
        a.memberJoined(0, bundle("bob"));
        b.memberJoined(0, bundle("alice"));
        assertEquals(a.verificationCode(), b.verificationCode());
        String two = a.verificationCode().display();
        a.memberJoined(0, bundle("carol"));
        b.memberJoined(0, bundle("carol"));
        assertEquals(a.verificationCode(), b.verificationCode());
        assertNotEquals(two, a.verificationCode().display());
        a.memberLeft(0, C);
        assertEquals(two, a.verificationCode().display());
    }

    @Test
    void destroy_wipesTheIdentityAndRefusesInputs() {
        Identity id = TestIdentities.identity("alice");
        GroupKeyManager a = new GroupKeyManager(id, A, new DeterministicRandom(1));
        a.memberJoined(0, bundle("bob"));
        a.destroy();
        assertTrue(a.isDestroyed());
        assertTrue(id.isDestroyed());
        assertTrue(a.drainOutputs().isEmpty());
        assertThrows(IllegalStateException.class, () -> a.memberJoined(0, bundle("carol")));
        assertThrows(IllegalStateException.class, () -> a.messageReceived(0, B, new byte[1]));
        assertThrows(IllegalStateException.class, () -> a.memberLeft(0, B));
        assertThrows(IllegalStateException.class, () -> a.handleTimeout(0));
    }

    @Test
    void outputs_neverPrintKeyBytes() {
        GroupKeyManager a = manager("alice");
        ActivateSendKey act = activation(a.drainOutputs());
        String hex = java.util.HexFormat.of().formatHex(act.baseKey().toByteArray());
        assertFalse(act.toString().toLowerCase().contains(hex));
        assertFalse(a.toString().contains(hex));
    }

    @Test
    void pairwiseReasons_mapOneToOne() {
        for (PairwiseException.Reason r : PairwiseException.Reason.values()) {
            RejectReason m = RejectReason.of(r);
            if (r == PairwiseException.Reason.BAD_KEY) {
                assertEquals(RejectReason.BAD_BUNDLE, m);
            } else {
                assertEquals(r.name(), m.name());
            }
        }
    }

    @Test
    void pendingDeadline_neverMovesLater_whateverJoinsAndLeavesFollow() {
        GroupKeyManager a = manager("alice");
        a.drainOutputs();
        a.membersJoined(0, List.of(bundle("bob"), bundle("carol")));
        a.drainOutputs();
        a.memberLeft(1_000, C);                                 // pending (1,0), deadline 2500
        assertEquals(OptionalLong.of(2_500), a.pendingDeadline());
        a.memberJoined(1_100, bundle("dave"));                  // a ghost of the server joins (never acks) ...
        a.memberLeft(2_000, D);                                 // ... and leaves: a fresh pending key
        assertEquals(OptionalLong.of(2_500), a.pendingDeadline(), "a later leave never extends the deadline");
        KeyId replaced = a.pendingKeyId().orElseThrow();
        assertEquals(new KeyId(2, 0), replaced, "the ghost got (1,0): a fresh key replaced it");
        a.handleTimeout(2_499);
        assertTrue(only(a.drainOutputs(), ActivateSendKey.class).isEmpty());
        a.handleTimeout(2_500);
        assertEquals(replaced, activation(a.drainOutputs()).keyId());
        a.memberJoined(2_600, bundle("erin"));
        a.memberLeft(2_700, TestIdentities.connectionId("erin"));
        assertEquals(OptionalLong.of(4_200), a.pendingDeadline(), "a leave after the activation starts anew");
    }

    @Test
    void earlyMessages_boundedInBytes_oversizedRefusedBeforeCopy_departedIdsBounded() {
        GroupKeyManager a = manager("alice", new GroupKeyManager.Config(1_500, 8, 16, 64, 250, 2_000, 10, 64, 100, 2));
        a.drainOutputs();
        a.messageReceived(0, "x1", new byte[40]);
        a.messageReceived(0, "x2", new byte[40]);
        a.messageReceived(0, "x3", new byte[40]);                // 120 > 100 bytes in all
        a.messageReceived(0, "x4", new byte[65]);                // longer than a message may be
        List<Rejected> r = only(a.drainOutputs(), Rejected.class);
        assertEquals(List.of(RejectReason.BUFFER_FULL, RejectReason.MALFORMED), r.stream().map(Rejected::reason).toList());
        a.memberLeft(0, "y1");
        a.memberLeft(0, "y2");
        a.memberLeft(0, "y3");                                    // only 2 departed ids are remembered
        a.messageReceived(0, "y3", new byte[10]);
        a.messageReceived(0, "y1", new byte[10]);
        List<Rejected> r2 = only(a.drainOutputs(), Rejected.class);
        assertEquals(1, r2.size(), "y3 is refused as departed; y1 was forgotten (its message waits, bounded)");
        assertEquals("y3", r2.get(0).from());
    }

    @Test
    void keyAck_stopsRetransmission_unackedKeyIsResentWithBackoffThenGivenUp() throws Exception {
        GroupKeyManager a = manager("alice", new GroupKeyManager.Config(1_500, 8, 16, 64, 250, 1_000, 3, 1_024,
                65_536, 16));
        GroupKeyManager b = manager("bob");
        a.drainOutputs();
        b.drainOutputs();
        a.memberJoined(0, bundle("bob"));
        a.drainOutputs();                                          // the KEY to bob is lost
        List<Long> resent = new ArrayList<>();
        long t = a.pollTimeout().orElseThrow();
        while (t < 100_000) {
            a.handleTimeout(t);
            if (!only(a.drainOutputs(), SendTo.class).isEmpty()) {
                resent.add(t);
            }
            OptionalLong n = a.pollTimeout();
            if (n.isEmpty()) {
                break;
            }
            t = n.getAsLong();
        }
        assertEquals(List.of(250L, 750L, 1_750L), resent, "250 ms, then doubling (capped at 1 s), 3 times");
        assertTrue(a.pollTimeout().isEmpty(), "given up after maxRetransmits");
        // a new key change starts over, and bob's ack ends it
        a.memberJoined(5_000, bundle("carol"));
        a.memberLeft(5_100, C);
        List<GroupOutput> outs = a.drainOutputs();
        assertEquals(OptionalLong.of(5_350), a.pollTimeout(), "the fresh KEY to bob is due again 250 ms later");
        b.memberJoined(5_000, bundle("alice"));
        b.drainOutputs();
        List<GroupOutput> atBob = deliver(outs, A, b);
        activation(deliver(atBob, B, a));
        assertTrue(a.pollTimeout().isEmpty(), "acked: nothing more to resend, nothing pending");
    }

    @Test
    void membership_isBounded_aJoinBeyondMaxMembersIsRefused() {
        GroupKeyManager a = manager("alice");
        Identity ghost = TestIdentities.identity("bob");
        List<Bundle> many = new ArrayList<>();
        for (int i = 0; i <= GroupKeyManager.MAX_MEMBERS; i++) {
            many.add(ghost.bundle("ghost-" + i));
        }
        a.drainOutputs();
        a.membersJoined(0, many);
        List<Rejected> r = only(a.drainOutputs(), Rejected.class);
        assertEquals(GroupKeyManager.MAX_MEMBERS, a.members().size());
        assertEquals(1, r.size());
        assertEquals(RejectReason.BUFFER_FULL, r.get(0).reason());
    }
}
