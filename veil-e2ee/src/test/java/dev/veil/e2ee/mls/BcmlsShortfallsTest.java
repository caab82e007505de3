package dev.veil.e2ee.mls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import org.bouncycastle.mls.TreeKEM.LeafIndex;
import org.bouncycastle.mls.codec.Proposal;
import org.bouncycastle.mls.crypto.MlsCipherSuite;
import org.bouncycastle.mls.crypto.Secret;
import org.bouncycastle.mls.protocol.Group;
import org.junit.jupiter.api.Test;

/**
 * Where bcmls 1.84 falls short, shown on bcmls itself, next to the project's workaround. If a later bcmls fixes one,
 * its test here fails and the workaround can go.
 */
class BcmlsShortfallsTest {
    private final SecureRandom random = new SecureRandom();

    /**
     * Every lookup of suite 1 returns the same object, with one shared AEAD (a single GCMBlockCipher re-initialized
     * per call), KDF and signer, and decoding resolves that same object: bcmls is not safe to use from two threads
     * at once, even for unrelated groups. Workaround: {@link Bcmls#LOCK} serializes every bcmls call in the JVM.
     */
    @Test
    void everyGroupSharesOneMutableCipherSuite() throws Exception {
        MlsCipherSuite a = MlsCipherSuite.getSuite(MlsCipherSuite.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519);
        MlsCipherSuite b = MlsCipherSuite.getSuite(MlsCipherSuite.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519);
        assertSame(a, b);
        assertSame(a.getAEAD(), b.getAEAD());
        assertSame(a.getKDF(), b.getKDF());
        MlsKeyPackage kp = MlsKeyPackage.create(new byte[] {1});
        assertSame(a, MlsKeyPackage.parse(kp.bytes()).getSuite(), "decoding resolves the same shared instance");
    }

    /**
     * A commit that removes the last other member (its update path has no parent node) throws
     * IndexOutOfBoundsException in TreeKEMPublicKey.parentHashes. Workaround: {@link MlsGroupSession#commit} refuses
     * it with a clear error ({@link MlsGroupSession#wouldBeAlone}); the removal is deferred into the next commit that
     * also adds someone, and a lone member sends nothing meanwhile.
     */
    @Test
    void commitThatLeavesTheCommitterAloneThrowsInsideBcmls() throws Exception {
        MlsGroupSession alice = MlsGroupSession.create(new byte[] {7}, MlsKeyPackage.create(new byte[] {'a'}), random);
        MlsCommit add = alice.commit(List.of(MlsKeyPackage.create(new byte[] {'b'}).bytes()), List.of());
        alice.handle(add.commit());
        Group g = alice.bcmlsGroup();
        List<Proposal> remove = new ArrayList<>();
        remove.add(Proposal.remove(new LeafIndex(1)));
        IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class, () -> g.commit(
                new Secret(new byte[32]), new Group.CommitOptions(remove, true, true, new Group.LeafNodeOptions()),
                new Group.MessageOptions(false, new byte[0], 0),
                new Group.CommitParameters(Group.NORMAL_COMMIT_PARAMS)));
        assertEquals("parentHashes", e.getStackTrace()[0].getMethodName().equals("parentHashes")
                ? "parentHashes" : findFrame(e));
        MlsException clear = assertThrows(MlsException.class, () -> alice.commit(List.of(), List.of(1)));
        assertTrue(clear.getMessage().contains("leaves the committer alone"), clear.getMessage());
        // the workaround: remove and add in one commit
        MlsCommit both = alice.commit(List.of(MlsKeyPackage.create(new byte[] {'c'}).bytes()), List.of(1));
        assertEquals(new MlsHandled.Applied(2, true), alice.handle(both.commit()));
        assertEquals(2, alice.roster().size());
    }

    private static String findFrame(Throwable e) {
        for (StackTraceElement f : e.getStackTrace()) {
            if (f.getClassName().endsWith("TreeKEMPublicKey") && f.getMethodName().equals("parentHashes")) {
                return "parentHashes";
            }
        }
        return "not in TreeKEMPublicKey.parentHashes";
    }
}
