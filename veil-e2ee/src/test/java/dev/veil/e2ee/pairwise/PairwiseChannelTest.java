package dev.veil.e2ee.pairwise;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.veil.e2ee.identity.Bundle;
import dev.veil.e2ee.identity.Identity;
import dev.veil.e2ee.identity.TestIdentities;
import java.util.Arrays;
import org.bouncycastle.math.ec.rfc8032.Ed25519;
import org.junit.jupiter.api.Test;

class PairwiseChannelTest {
    static PairwiseChannel channel(String self, String peer) throws PairwiseException {
        return PairwiseChannel.create(TestIdentities.identity(self), TestIdentities.connectionId(self),
                TestIdentities.bundle(peer));
    }

    @Test
    void sealOpen_bothDirections_manyMessages() throws Exception {
        PairwiseChannel ab = channel("alice", "bob");
        PairwiseChannel ba = channel("bob", "alice");
        for (int i = 0; i < 50; i++) {
            byte[] p = new byte[i];
            Arrays.fill(p, (byte) i);
            assertArrayEquals(p, ba.open(ab.seal(p)));
            assertArrayEquals(p, ab.open(ba.seal(p)));
        }
    }

    @Test
    void directions_useDifferentKeys() throws Exception {
        PairwiseChannel ab = channel("alice", "bob");
        byte[] m = ab.seal(new byte[] {1, 2, 3});
        // alice's own channel refuses its own message: it is addressed to bob
        PairwiseException e = assertThrows(PairwiseException.class, () -> ab.open(m));
        assertEquals(PairwiseException.Reason.WRONG_RECIPIENT, e.reason());
    }

    @Test
    void create_refusesBadBundles() {
        Bundle bob = TestIdentities.bundle("bob");
        byte[] sig = bob.signature();
        sig[63] ^= 1;
        Identity alice = TestIdentities.identity("alice");
        String aliceId = TestIdentities.connectionId("alice");
        assertEquals(PairwiseException.Reason.BAD_BUNDLE, assertThrows(PairwiseException.class,
                () -> PairwiseChannel.create(alice, aliceId,
                        new Bundle(bob.connectionId(), bob.identityKey(), bob.kxKey(), sig))).reason());
        assertEquals(PairwiseException.Reason.BAD_BUNDLE, assertThrows(PairwiseException.class,
                () -> PairwiseChannel.create(alice, aliceId, alice.bundle(aliceId))).reason());
        // a correctly signed bundle with a small-order kx key
        byte[] seed = TestIdentities.edSeed("bob");
        byte[] pk = bob.identityKey();
        byte[] zeroKx = new byte[32];
        byte[] input = Bundle.signatureInput(pk, zeroKx);
        byte[] s = new byte[64];
        Ed25519.sign(seed, 0, pk, 0, input, 0, input.length, s, 0);
        Bundle smallOrder = new Bundle("mallory", pk, zeroKx, s);
        assertTrue(smallOrder.verify());
        assertEquals(PairwiseException.Reason.BAD_KEY, assertThrows(PairwiseException.class,
                () -> PairwiseChannel.create(alice, aliceId, smallOrder)).reason());
    }

    @Test
    void destroy_makesTheChannelUnusable() throws Exception {
        PairwiseChannel ab = channel("alice", "bob");
        byte[] m = channel("bob", "alice").seal(new byte[] {1});
        ab.destroy();
        assertTrue(ab.isDestroyed());
        assertThrows(IllegalStateException.class, () -> ab.seal(new byte[] {1}));
        assertThrows(IllegalStateException.class, () -> ab.open(m));
    }

    @Test
    void seal_refusesPlaintextThatDoesNotFitTheRelay() throws Exception {
        PairwiseChannel ab = channel("alice", "bob");
        assertThrows(IllegalArgumentException.class, () -> ab.seal(new byte[4096]));
    }

    @Test
    void differentConnectionIds_sameIdentities_doNotInteroperate() throws Exception {
        Identity alice = TestIdentities.identity("alice");
        Identity bob = TestIdentities.identity("bob");
        // the server relabels bob's bundle as "ghost": alice's channel to "ghost" cannot talk to bob's real one
        PairwiseChannel aliceToGhost = PairwiseChannel.create(alice, "alice", bob.bundle("ghost"));
        PairwiseChannel bobReal = PairwiseChannel.create(bob, "bob", alice.bundle("alice"));
        byte[] m = aliceToGhost.seal(new byte[] {1});
        byte[] relabelled = PairwiseVectorsTest.concat(PairwiseMessage.header("alice", "bob", 0),
                Arrays.copyOfRange(m, PairwiseMessage.header("alice", "ghost", 0).length, m.length));
        assertEquals(PairwiseException.Reason.BAD_TAG,
                assertThrows(PairwiseException.class, () -> bobReal.open(relabelled)).reason());
    }
}
