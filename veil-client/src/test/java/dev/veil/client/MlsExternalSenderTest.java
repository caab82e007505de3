package dev.veil.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.veil.e2ee.mls.MlsCommit;
import dev.veil.e2ee.mls.MlsException;
import dev.veil.e2ee.mls.MlsGroupSession;
import dev.veil.e2ee.mls.MlsHandled;
import dev.veil.e2ee.mls.MlsKeyPackage;
import dev.veil.e2ee.mls.MlsMembershipGuard;
import dev.veil.server.MlsExternalSender;
import dev.veil.signaling.MlsFraming;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The keyless server as MLS external sender (docs/PROTOCOL.md §4.8): proposals veil-server builds and signs from
 * public data only are verified by bcmls against the group context's external_senders extension, committed by
 * reference, and refused by members whose announced membership they do not match.
 */
class MlsExternalSenderTest {
    private static final byte[] GID = "chan#1".getBytes(StandardCharsets.UTF_8);
    private final SecureRandom random = new SecureRandom();
    private final MlsExternalSender server = new MlsExternalSender(new SecureRandom());

    private static byte[] id(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** Announced: a set of identities that may join; departed: identities that may be removed. */
    private static MlsMembershipGuard guard(Set<String> announced, Set<String> departed) {
        return new MlsMembershipGuard() {
            @Override
            public String checkAdd(byte[] identity) {
                return announced.contains(new String(identity, StandardCharsets.UTF_8)) ? null : "ghost";
            }

            @Override
            public String checkRemove(byte[] identity) {
                return departed.contains(new String(identity, StandardCharsets.UTF_8)) ? null : "not departed";
            }
        };
    }

    @Test
    void serverProposalsAreVerifiedCommittedByReferenceAndRemoveTheDeparted() throws Exception {
        MlsKeyPackage aKp = MlsKeyPackage.create(id("alice"));
        MlsGroupSession alice = MlsGroupSession.create(GID, aKp, random, server.externalSender());
        assertTrue(alice.hasExternalSender());
        MlsGroupSession bob = addViaServer(alice, "bob", Set.of("bob"));
        assertTrue(bob.hasExternalSender(), "the joiner sees the server's entry in the group context");
        MlsKeyPackage cKp = MlsKeyPackage.create(id("carol"));
        byte[] addC = server.addProposal(GID, 1, cKp.bytes());
        MlsFraming f = MlsFraming.parse(addC);
        assertEquals(MlsFraming.PROPOSAL, f.contentType());
        assertEquals(2, f.senderType(), "sender type external");
        assertInstanceOf(MlsHandled.ProposalCached.class, alice.handle(addC, guard(Set.of("carol"), Set.of())));
        assertInstanceOf(MlsHandled.ProposalCached.class, bob.handle(addC, guard(Set.of("carol"), Set.of())));
        MlsCommit c = alice.commit(List.of(), List.of());
        assertTrue(c.welcome() != null, "a commit of a cached add carries the Welcome");
        alice.handle(c.commit());
        assertInstanceOf(MlsHandled.Applied.class, bob.handle(c.commit(), guard(Set.of("carol"), Set.of())));
        MlsGroupSession carol = MlsGroupSession.join(cKp, c.welcome(), random);
        assertArrayEquals(alice.epochAuthenticator(), carol.epochAuthenticator());
        assertEquals(3, c.roster().size());

        // bob leaves: the server proposes removing his leaf; carol commits it; bob is out
        int bobLeaf = bob.ownLeaf();
        byte[] rm = server.removeProposal(GID, 2, bobLeaf);
        // docs/PROTOCOL.md §4.8 byte for byte: header 4, group_id<V> 1+6, epoch 8, sender 5, aad 1, content type 1,
        // proposal 2+4 (remove) or 2+key package; signature<V> 2+64 (64 needs a 2-byte varint)
        assertEquals(4 + 7 + 8 + 5 + 1 + 1 + 6 + 66, rm.length);
        assertEquals(cKp.bytes().length - 4 + 4 + 7 + 8 + 5 + 1 + 1 + 2 + 66, addC.length);
        MlsMembershipGuard left = guard(Set.of(), Set.of("bob"));
        assertInstanceOf(MlsHandled.ProposalCached.class, alice.handle(rm, left));
        assertInstanceOf(MlsHandled.ProposalCached.class, carol.handle(rm, left));
        assertInstanceOf(MlsHandled.ProposalCached.class, bob.handle(rm, left));
        MlsCommit c2 = carol.commit(List.of(), List.of());
        assertInstanceOf(MlsHandled.Applied.class, carol.handle(c2.commit()));
        assertInstanceOf(MlsHandled.Applied.class, alice.handle(c2.commit(), left));
        assertInstanceOf(MlsHandled.Removed.class, bob.handle(c2.commit(), left),
                "a removal committed by reference is recognised by the removed member");
        assertEquals(2, alice.roster().size());
        assertArrayEquals(alice.epochAuthenticator(), carol.epochAuthenticator());
    }

    @Test
    void membersRefuseGhostAddsAndUnannouncedRemovals() throws Exception {
        MlsGroupSession alice = MlsGroupSession.create(GID, MlsKeyPackage.create(id("alice")), random,
                server.externalSender());
        MlsGroupSession bob = addViaServer(alice, "bob", Set.of("bob"));
        MlsMembershipGuard honest = guard(Set.of("alice", "bob"), Set.of());
        byte[] ghost = server.addProposal(GID, 1, MlsKeyPackage.create(id("ghost")).bytes());
        MlsHandled h = alice.handle(ghost, honest);
        assertInstanceOf(MlsHandled.Refused.class, h, "a never-announced add is refused");
        assertTrue(alice.proposedAdds().isEmpty(), "and not cached: the committer cannot commit it");
        byte[] kick = server.removeProposal(GID, 1, bob.ownLeaf());
        assertInstanceOf(MlsHandled.Refused.class, alice.handle(kick, honest), "removing a present member");
        assertTrue(alice.proposedRemovals().isEmpty());

        // a commit that adds the ghost (a member cached it against the rules) is not applied by the others
        assertInstanceOf(MlsHandled.ProposalCached.class, bob.handle(ghost, MlsMembershipGuard.ACCEPT_ALL));
        MlsCommit withGhost = bob.commit(List.of(), List.of());
        MlsHandled refused = alice.handle(withGhost.commit(), honest);
        assertInstanceOf(MlsHandled.Refused.class, refused);
        assertEquals(1, alice.epoch(), "the refusing member stays where it was");
    }

    @Test
    void aProposalSignedByAnotherKeyIsRejected() throws Exception {
        MlsGroupSession alice = MlsGroupSession.create(GID, MlsKeyPackage.create(id("alice")), random,
                server.externalSender());
        MlsExternalSender impostor = new MlsExternalSender(new SecureRandom());
        byte[] forged = impostor.addProposal(GID, 0, MlsKeyPackage.create(id("bob")).bytes());
        assertThrows(MlsException.class, () -> alice.handle(forged, MlsMembershipGuard.ACCEPT_ALL));
        MlsGroupSession plain = MlsGroupSession.create(GID, MlsKeyPackage.create(id("alice")), random);
        byte[] p = server.addProposal(GID, 0, MlsKeyPackage.create(id("bob")).bytes());
        assertThrows(MlsException.class, () -> plain.handle(p, MlsMembershipGuard.ACCEPT_ALL),
                "a group without the server's entry accepts no server proposal");
    }

    private MlsGroupSession addViaServer(MlsGroupSession committer, String who, Set<String> announced)
            throws MlsException {
        MlsKeyPackage kp = MlsKeyPackage.create(id(who));
        byte[] add = server.addProposal(committer.groupId(), committer.epoch(), kp.bytes());
        assertInstanceOf(MlsHandled.ProposalCached.class, committer.handle(add, guard(announced, Set.of())));
        assertEquals(1, committer.proposedAdds().size());
        MlsCommit c = committer.commit(List.of(), List.of());
        assertInstanceOf(MlsHandled.Applied.class, committer.handle(c.commit()));
        return MlsGroupSession.join(kp, c.welcome(), random);
    }
}
