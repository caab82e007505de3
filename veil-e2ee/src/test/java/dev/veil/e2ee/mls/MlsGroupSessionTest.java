package dev.veil.e2ee.mls;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.List;
import org.junit.jupiter.api.Test;

class MlsGroupSessionTest {
    private static final byte[] GROUP = "channel-1".getBytes(StandardCharsets.UTF_8);
    private final SecureRandom random = new SecureRandom();

    private static byte[] id(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void createAddJoinRemove() throws Exception {
        MlsGroupSession alice = MlsGroupSession.create(GROUP, MlsKeyPackage.create(id("alice")), random);
        assertEquals(0, alice.epoch());
        assertEquals(0, alice.ownLeaf());

        MlsKeyPackage bobKp = MlsKeyPackage.create(id("bob"));
        MlsCommit c1 = alice.commit(List.of(bobKp.bytes()), List.of());
        assertNotNull(c1.welcome());
        assertEquals(0, alice.epoch(), "a commit is not applied before the delivery service returns it");
        assertEquals(new MlsHandled.Applied(1, true), alice.handle(c1.commit()));
        MlsGroupSession bob = MlsGroupSession.join(bobKp, c1.welcome(), random);
        assertEquals(1, bob.epoch());
        assertEquals(1, bob.ownLeaf());
        assertArrayEquals(alice.epochAuthenticator(), bob.epochAuthenticator());
        assertArrayEquals(alice.export("SFrame 1.0 Base Key", new byte[0], 16),
                bob.export("SFrame 1.0 Base Key", new byte[0], 16));
        assertEquals(alice.roster(), bob.roster());
        assertEquals(List.of(new MlsMember(0, id("alice")), new MlsMember(1, id("bob"))), bob.roster());

        MlsKeyPackage carolKp = MlsKeyPackage.create(id("carol"));
        MlsCommit c2 = bob.commit(List.of(carolKp.bytes()), List.of());
        assertEquals(new MlsHandled.Applied(2, false), alice.handle(c2.commit()));
        assertEquals(new MlsHandled.Applied(2, true), bob.handle(c2.commit()));
        MlsGroupSession carol = MlsGroupSession.join(carolKp, c2.welcome(), random);
        assertArrayEquals(alice.epochAuthenticator(), carol.epochAuthenticator());

        // alice removes bob: bob sees its removal, the others move on without it
        byte[] oldBase = bob.export("SFrame 1.0 Base Key", new byte[0], 16);
        MlsCommit c3 = alice.commit(List.of(), List.of(1));
        assertNull(c3.welcome());
        assertEquals(new MlsHandled.Applied(3, true), alice.handle(c3.commit()));
        assertEquals(new MlsHandled.Applied(3, false), carol.handle(c3.commit()));
        assertEquals(new MlsHandled.Removed(3), bob.handle(c3.commit()));
        assertTrue(bob.isRemoved());
        assertThrows(IllegalStateException.class, () -> bob.export("x", new byte[0], 16));
        assertArrayEquals(alice.epochAuthenticator(), carol.epochAuthenticator());
        assertEquals(List.of(new MlsMember(0, id("alice")), new MlsMember(2, id("carol"))), carol.roster());
        assertFalse(java.util.Arrays.equals(oldBase, carol.export("SFrame 1.0 Base Key", new byte[0], 16)));
    }

    @Test
    void concurrentCommitsTheFirstAcceptedWinsAndTheLoserFollowsIt() throws Exception {
        MlsGroupSession a = MlsGroupSession.create(GROUP, MlsKeyPackage.create(id("a")), random);
        MlsKeyPackage bKp = MlsKeyPackage.create(id("b"));
        MlsCommit c = a.commit(List.of(bKp.bytes()), List.of());
        a.handle(c.commit());
        MlsGroupSession b = MlsGroupSession.join(bKp, c.welcome(), random);

        MlsCommit fromA = a.commit(List.of(MlsKeyPackage.create(id("x")).bytes()), List.of());
        MlsCommit fromB = b.commit(List.of(MlsKeyPackage.create(id("y")).bytes()), List.of());
        assertEquals(1, fromA.epoch());
        assertEquals(1, fromB.epoch());
        // the delivery service accepted fromB first; fromA is refused and never delivered
        assertEquals(new MlsHandled.Applied(2, false), a.handle(fromB.commit()));
        assertNull(a.pending(), "a's own commit for epoch 1 is dropped");
        assertEquals(new MlsHandled.Applied(2, true), b.handle(fromB.commit()));
        assertArrayEquals(a.epochAuthenticator(), b.epochAuthenticator());
        // a replayed or late copy of the refused commit is stale, not applied
        assertInstanceOf(MlsHandled.Stale.class, b.handle(fromA.commit()));
        assertInstanceOf(MlsHandled.Stale.class, a.handle(fromB.commit()));
    }

    @Test
    void missedCommitIsOutOfSync() throws Exception {
        MlsGroupSession a = MlsGroupSession.create(GROUP, MlsKeyPackage.create(id("a")), random);
        MlsKeyPackage bKp = MlsKeyPackage.create(id("b"));
        MlsCommit c = a.commit(List.of(bKp.bytes()), List.of());
        a.handle(c.commit());
        MlsGroupSession b = MlsGroupSession.join(bKp, c.welcome(), random);
        MlsCommit c2 = a.commit(List.of(MlsKeyPackage.create(id("c")).bytes()), List.of());
        a.handle(c2.commit());
        MlsCommit c3 = a.commit(List.of(MlsKeyPackage.create(id("d")).bytes()), List.of());
        a.handle(c3.commit());
        assertEquals(new MlsHandled.OutOfSync(2, 1), b.handle(c3.commit()));
        assertEquals(1, b.epoch());
    }

    @Test
    void badInputIsAClearError() throws Exception {
        MlsGroupSession a = MlsGroupSession.create(GROUP, MlsKeyPackage.create(id("a")), random);
        MlsException e = assertThrows(MlsException.class, () -> a.handle(new byte[] {0, 1, 0, 1, 5}));
        assertTrue(e.getMessage().startsWith("malformed MLS message") || e.getMessage().startsWith("not a"),
                e.getMessage());
        assertThrows(MlsException.class, () -> a.handle(new byte[0]));
        assertThrows(MlsException.class, () -> a.commit(List.of(new byte[] {1, 2, 3}), List.of()));
        // a key package is not a handshake message
        MlsException kp = assertThrows(MlsException.class, () -> a.handle(MlsKeyPackage.create(id("z")).bytes()));
        assertTrue(kp.getMessage().contains("not a handshake message"), kp.getMessage());
        // a commit of another group with the same epoch does not verify
        MlsGroupSession other = MlsGroupSession.create(id("other"), MlsKeyPackage.create(id("o")), random);
        MlsCommit oc = other.commit(List.of(MlsKeyPackage.create(id("p")).bytes()), List.of());
        assertThrows(MlsException.class, () -> a.handle(oc.commit()));
        assertEquals(0, a.epoch());
    }

    @Test
    void welcomeForSomeoneElseIsRefused() throws Exception {
        MlsGroupSession a = MlsGroupSession.create(GROUP, MlsKeyPackage.create(id("a")), random);
        MlsCommit c = a.commit(List.of(MlsKeyPackage.create(id("b")).bytes()), List.of());
        MlsException e = assertThrows(MlsException.class,
                () -> MlsGroupSession.join(MlsKeyPackage.create(id("mallory")), c.welcome(), random));
        assertTrue(e.getMessage().contains("does not add this key package"), e.getMessage());
    }

    @Test
    void toStringsCarryNoKeys() throws Exception {
        MlsKeyPackage kp = MlsKeyPackage.create(id("a"));
        MlsGroupSession a = MlsGroupSession.create(GROUP, kp, random);
        assertFalse(kp.toString().matches(".*[0-9a-f]{16}.*"));
        assertEquals("MlsGroupSession[epoch=0, leaf=0]", a.toString());
    }
}
