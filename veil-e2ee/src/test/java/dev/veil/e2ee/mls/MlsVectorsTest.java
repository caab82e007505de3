package dev.veil.e2ee.mls;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.veil.e2ee.identity.VectorFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.bouncycastle.crypto.AsymmetricCipherKeyPair;
import org.bouncycastle.mls.GroupKeySet;
import org.bouncycastle.mls.KeyGeneration;
import org.bouncycastle.mls.KeyScheduleEpoch;
import org.bouncycastle.mls.TreeKEM.LeafIndex;
import org.bouncycastle.mls.TreeKEM.LeafNode;
import org.bouncycastle.mls.TreeKEM.NodeIndex;
import org.bouncycastle.mls.TreeKEM.TreeKEMPrivateKey;
import org.bouncycastle.mls.TreeKEM.TreeKEMPublicKey;
import org.bouncycastle.mls.TreeSize;
import org.bouncycastle.mls.codec.AuthenticatedContent;
import org.bouncycastle.mls.codec.Extension;
import org.bouncycastle.mls.codec.GroupContext;
import org.bouncycastle.mls.codec.GroupInfo;
import org.bouncycastle.mls.codec.GroupSecrets;
import org.bouncycastle.mls.codec.MLSInputStream;
import org.bouncycastle.mls.codec.MLSMessage;
import org.bouncycastle.mls.codec.MLSOutputStream;
import org.bouncycastle.mls.codec.Proposal;
import org.bouncycastle.mls.codec.UpdatePath;
import org.bouncycastle.mls.codec.WireFormat;
import org.bouncycastle.mls.crypto.MlsCipherSuite;
import org.bouncycastle.mls.crypto.Secret;
import org.bouncycastle.mls.protocol.Group;
import org.bouncycastle.util.encoders.Hex;
import org.junit.jupiter.api.Test;

/**
 * The official MLS interoperability vectors (test-vectors/mls/, mlswg/mls-implementations cfd4502) for cipher suite 1
 * (MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519) against BouncyCastle's MLS (bcmls 1.84), the layer the MLS key mode
 * runs on. Every check follows the verification steps of the upstream test-vectors.md; each test also asserts how
 * many suite-1 cases it ran, so a file that silently lost its cases fails.
 */
class MlsVectorsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int SUITE = MlsCipherSuite.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519;

    static List<JsonNode> suite1(String file) throws IOException {
        Path p = VectorFiles.dir().resolve("mls").resolve(file);
        JsonNode all = JSON.readTree(Files.readAllBytes(p));
        List<JsonNode> out = new ArrayList<>();
        for (JsonNode c : all) {
            if (!c.has("cipher_suite") || c.get("cipher_suite").asInt() == SUITE) {
                out.add(c);
            }
        }
        return out;
    }

    static byte[] hex(JsonNode n, String field) {
        return Hex.decode(n.get(field).asText());
    }

    static MlsCipherSuite suite() throws Exception {
        return MlsCipherSuite.getSuite((short) SUITE);
    }

    @Test
    void keySchedule() throws Exception {
        List<JsonNode> cases = suite1("key-schedule.json");
        assertEquals(1, cases.size());
        MlsCipherSuite suite = suite();
        int epochsChecked = 0;
        for (JsonNode c : cases) {
            byte[] groupId = hex(c, "group_id");
            Secret initSecret = new Secret(hex(c, "initial_init_secret"));
            long epochNo = 0;
            for (JsonNode e : c.get("epochs")) {
                GroupContext ctx = new GroupContext(suite, groupId, epochNo, hex(e, "tree_hash"),
                        hex(e, "confirmed_transcript_hash"), new ArrayList<Extension>());
                byte[] ctxBytes = MLSOutputStream.encode(ctx);
                assertArrayEquals(hex(e, "group_context"), ctxBytes, "group_context epoch " + epochNo);
                KeyScheduleEpoch.JoinSecrets js = KeyScheduleEpoch.JoinSecrets.forMember(suite, initSecret,
                        new Secret(hex(e, "commit_secret")), new Secret(new byte[0]), ctxBytes);
                js.injectPskSecret(new Secret(hex(e, "psk_secret")));
                assertArrayEquals(hex(e, "joiner_secret"), js.joinerSecret.value());
                assertArrayEquals(hex(e, "welcome_secret"), js.welcomeSecret.value());
                KeyScheduleEpoch ks = js.complete(TreeSize.forLeaves(1 + epochNo), ctxBytes);
                assertArrayEquals(hex(e, "init_secret"), ks.initSecret.value());
                assertArrayEquals(hex(e, "sender_data_secret"), ks.senderDataSecret.value());
                assertArrayEquals(hex(e, "encryption_secret"), ks.encryptionSecret.value());
                assertArrayEquals(hex(e, "exporter_secret"), ks.exporterSecret.value());
                assertArrayEquals(hex(e, "epoch_authenticator"), ks.epochAuthenticator.value());
                assertArrayEquals(hex(e, "external_secret"), ks.externalSecret.value());
                assertArrayEquals(hex(e, "confirmation_key"), ks.confirmationKey.value());
                assertArrayEquals(hex(e, "membership_key"), ks.membershipKey.value());
                assertArrayEquals(hex(e, "resumption_psk"), ks.resumptionPSK.value());
                assertArrayEquals(hex(e, "external_pub"),
                        suite.getHPKE().serializePublicKey(ks.getExternalPublicKey()));
                JsonNode x = e.get("exporter");
                // the exporter the SFrame base key comes from (RFC 9420 §8.5)
                assertArrayEquals(hex(x, "secret"), ks.MLSExporter(x.get("label").asText(), hex(x, "context"),
                        x.get("length").asInt()), "MLS-Exporter epoch " + epochNo);
                initSecret = ks.initSecret;
                epochNo++;
                epochsChecked++;
            }
        }
        assertTrue(epochsChecked >= 5, "epochs checked: " + epochsChecked);
    }

    @Test
    void secretTree() throws Exception {
        List<JsonNode> cases = suite1("secret-tree.json");
        assertEquals(3, cases.size());
        MlsCipherSuite suite = suite();
        int keysChecked = 0;
        for (JsonNode c : cases) {
            JsonNode sd = c.get("sender_data");
            byte[] sample = java.util.Arrays.copyOf(hex(sd, "ciphertext"), suite.getKDF().getHashLength());
            assertArrayEquals(hex(sd, "key"), suite.getKDF().expandWithLabel(hex(sd, "sender_data_secret"), "key",
                    sample, suite.getAEAD().getKeySize()));
            assertArrayEquals(hex(sd, "nonce"), suite.getKDF().expandWithLabel(hex(sd, "sender_data_secret"),
                    "nonce", sample, suite.getAEAD().getNonceSize()));
            JsonNode leaves = c.get("leaves");
            GroupKeySet keys = new GroupKeySet(suite, TreeSize.forLeaves(leaves.size()),
                    new Secret(hex(c, "encryption_secret")));
            for (int i = 0; i < leaves.size(); i++) {
                for (JsonNode g : leaves.get(i)) {
                    int gen = g.get("generation").asInt();
                    KeyGeneration hs = keys.handshakeRatchet(new LeafIndex(i)).get(gen);
                    KeyGeneration app = keys.applicationRatchet(new LeafIndex(i)).get(gen);
                    assertArrayEquals(hex(g, "handshake_key"), hs.key);
                    assertArrayEquals(hex(g, "handshake_nonce"), hs.nonce);
                    assertArrayEquals(hex(g, "application_key"), app.key);
                    assertArrayEquals(hex(g, "application_nonce"), app.nonce);
                    keysChecked++;
                }
            }
        }
        assertTrue(keysChecked > 10, "keys checked: " + keysChecked);
    }

    @Test
    void messageProtection() throws Exception {
        List<JsonNode> cases = suite1("message-protection.json");
        assertEquals(1, cases.size());
        MlsCipherSuite suite = suite();
        for (JsonNode c : cases) {
            GroupContext ctx = new GroupContext(suite, hex(c, "group_id"), c.get("epoch").asLong(),
                    hex(c, "tree_hash"), hex(c, "confirmed_transcript_hash"), new ArrayList<Extension>());
            byte[] ctxBytes = MLSOutputStream.encode(ctx);
            byte[] sigPub = hex(c, "signature_pub");
            AsymmetricCipherKeyPair sig = suite.deserializeSignaturePrivateKey(hex(c, "signature_priv"));
            assertArrayEquals(sigPub, suite.serializeSignaturePublicKey(sig.getPublic()));
            String[][] pairs = {{"proposal", "proposal_pub"}, {"proposal", "proposal_priv"}, {"commit", "commit_pub"},
                {"commit", "commit_priv"}, {"application", "application_priv"}};
            for (String[] p : pairs) {
                MLSMessage m = (MLSMessage) MLSInputStream.decode(hex(c, p[1]), MLSMessage.class);
                AuthenticatedContent auth;
                if (m.wireFormat == WireFormat.mls_public_message) {
                    auth = m.publicMessage.unprotect(suite, new Secret(hex(c, "membership_key")), ctx);
                } else {
                    assertEquals(WireFormat.mls_private_message, m.wireFormat);
                    GroupKeySet keys = new GroupKeySet(suite, TreeSize.forLeaves(2),
                            new Secret(hex(c, "encryption_secret")));
                    auth = m.privateMessage.unprotect(suite, keys, hex(c, "sender_data_secret"));
                }
                assertNotNull(auth, p[1] + " did not unprotect");
                assertTrue(auth.verify(suite, sigPub, ctxBytes), p[1] + " signature");
                assertArrayEquals(hex(c, p[0]), auth.getContent().getContentBytes(), p[1] + " content");
            }
        }
    }

    @Test
    void welcome() throws Exception {
        List<JsonNode> cases = suite1("welcome.json");
        assertEquals(1, cases.size());
        MlsCipherSuite suite = suite();
        for (JsonNode c : cases) {
            byte[] welcomeBytes = hex(c, "welcome");
            MLSMessage w = (MLSMessage) MLSInputStream.decode(welcomeBytes, MLSMessage.class);
            assertEquals(WireFormat.mls_welcome, w.wireFormat);
            assertArrayEquals(welcomeBytes, MLSOutputStream.encode(w));
            MLSMessage kp = (MLSMessage) MLSInputStream.decode(hex(c, "key_package"), MLSMessage.class);
            assertEquals(WireFormat.mls_key_package, kp.wireFormat);
            int i = w.welcome.find(kp.keyPackage);
            assertTrue(i >= 0, "key package not in welcome");
            GroupSecrets gs = w.welcome.decryptSecrets(i, hex(c, "init_priv"));
            GroupInfo gi = w.welcome.decrypt(gs.joiner_secret, new ArrayList<KeyScheduleEpoch.PSKWithSecret>());
            assertTrue(gi.verify(suite, hex(c, "signer_pub")), "GroupInfo signature");
            KeyScheduleEpoch ks = KeyScheduleEpoch.joiner(suite, gs.joiner_secret,
                    new ArrayList<KeyScheduleEpoch.PSKWithSecret>(), MLSOutputStream.encode(gi.getGroupContext()));
            assertArrayEquals(gi.getConfirmationTag(),
                    ks.confirmationTag(gi.getGroupContext().getConfirmedTranscriptHash()));
        }
    }

    @Test
    void treeOperations() throws Exception {
        List<JsonNode> cases = suite1("tree-operations.json");
        assertEquals(5, cases.size());
        MlsCipherSuite suite = suite();
        for (JsonNode c : cases) {
            TreeKEMPublicKey tree = (TreeKEMPublicKey) MLSInputStream.decode(hex(c, "tree_before"),
                    TreeKEMPublicKey.class);
            tree.setSuite(suite);
            tree.setHashAll();
            assertArrayEquals(hex(c, "tree_hash_before"), tree.getRootHash());
            Proposal p = (Proposal) MLSInputStream.decode(hex(c, "proposal"), Proposal.class);
            switch (p.getProposalType()) {
                case ADD -> tree.addLeaf(p.getLeafNode());
                case UPDATE -> tree.updateLeaf(new LeafIndex(c.get("proposal_sender").asInt()), p.getLeafNode());
                case REMOVE -> {
                    tree.blankPath(p.getRemove().removed);
                    tree.truncate();
                }
                default -> throw new AssertionError("unexpected proposal " + p.getProposalType());
            }
            tree.setHashAll();
            assertArrayEquals(hex(c, "tree_after"), MLSOutputStream.encode(tree));
            assertArrayEquals(hex(c, "tree_hash_after"), tree.getRootHash());
        }
    }

    @Test
    void treeKem() throws Exception {
        List<JsonNode> cases = suite1("treekem.suite1.json");
        assertEquals(11, cases.size());
        MlsCipherSuite suite = suite();
        int decaps = 0;
        for (JsonNode c : cases) {
            byte[] groupId = hex(c, "group_id");
            TreeKEMPublicKey tree = (TreeKEMPublicKey) MLSInputStream.decode(hex(c, "ratchet_tree"),
                    TreeKEMPublicKey.class);
            tree.setSuite(suite);
            tree.setHashAll();
            assertTrue(tree.verifyParentHash(), "parent hashes");
            for (int i = 0; i < tree.getSize().leafCount(); i++) {
                LeafNode leaf = tree.getLeafNode(new LeafIndex(i));
                if (leaf != null) {
                    assertTrue(leaf.verify(suite, leaf.toBeSigned(groupId, i)), "leaf " + i + " signature");
                }
            }
            Map<Integer, TreeKEMPrivateKey> privs = new HashMap<>();
            for (JsonNode lp : c.get("leaves_private")) {
                int idx = lp.get("index").asInt();
                TreeKEMPrivateKey priv = new TreeKEMPrivateKey(suite, new LeafIndex(idx));
                priv.insertPrivateKey(new NodeIndex(new LeafIndex(idx)),
                        suite.getHPKE().deserializePrivateKey(hex(lp, "encryption_priv"), null));
                for (JsonNode ps : lp.get("path_secrets")) {
                    priv.insertPathSecret(new NodeIndex(ps.get("node").asLong()),
                            new Secret(hex(ps, "path_secret")));
                }
                assertTrue(priv.consistent(tree), "private key of leaf " + idx + " consistent");
                privs.put(idx, priv);
            }
            for (JsonNode up : c.get("update_paths")) {
                LeafIndex from = new LeafIndex(up.get("sender").asInt());
                UpdatePath path = (UpdatePath) MLSInputStream.decode(hex(up, "update_path"), UpdatePath.class);
                assertTrue(tree.verifyParentHash(from, path), "update path parent hash");
                TreeKEMPublicKey after = TreeKEMPublicKey.clone(tree);
                after.merge(from, path);
                after.setHashAll();
                assertArrayEquals(hex(up, "tree_hash_after"), after.getRootHash());
                byte[] ctx = MLSOutputStream.encode(new GroupContext(suite, groupId, c.get("epoch").asLong(),
                        after.getRootHash(), hex(c, "confirmed_transcript_hash"), new ArrayList<Extension>()));
                JsonNode pathSecrets = up.get("path_secrets");
                for (int i = 0; i < after.getSize().leafCount(); i++) {
                    LeafIndex to = new LeafIndex(i);
                    if (to.equals(from) || !after.hasLeaf(to)) {
                        continue;
                    }
                    TreeKEMPrivateKey priv = privs.get(i).copy();
                    priv.decap(from, after, ctx, path, new ArrayList<LeafIndex>());
                    assertArrayEquals(hex(up, "commit_secret"), priv.getUpdateSecret().value(), "commit secret");
                    assertArrayEquals(Hex.decode(pathSecrets.get(i).asText()),
                            priv.getSharedPathSecret(from).value(), "path secret shared with " + i);
                    decaps++;
                }
            }
        }
        assertTrue(decaps > 20, "decaps: " + decaps);
    }

    @Test
    void passiveClientWelcome() throws Exception {
        assertEquals(8, runPassive("passive-client-welcome.suite1.json"));
    }

    @Test
    void passiveClientHandlingCommit() throws Exception {
        assertEquals(13, runPassive("passive-client-handling-commit.suite1.json"));
    }

    @Test
    void passiveClientRandom() throws Exception {
        assertEquals(1, runPassive("passive-client-random.json"));
    }

    /** Joins with the Welcome, then follows every epoch; returns the number of cases run. */
    private static int runPassive(String file) throws Exception {
        List<JsonNode> cases = suite1(file);
        int n = 0;
        for (JsonNode c : cases) {
            runPassiveCase(c, file + " case " + n);
            n++;
        }
        return n;
    }

    static void runPassiveCase(JsonNode c, String name) throws Exception {
        MlsCipherSuite suite = suite();
        MLSMessage kp = (MLSMessage) MLSInputStream.decode(hex(c, "key_package"), MLSMessage.class);
        MLSMessage welcome = (MLSMessage) MLSInputStream.decode(hex(c, "welcome"), MLSMessage.class);
        TreeKEMPublicKey tree = null;
        if (c.hasNonNull("ratchet_tree")) {
            tree = (TreeKEMPublicKey) MLSInputStream.decode(hex(c, "ratchet_tree"), TreeKEMPublicKey.class);
            tree.setSuite(suite);
        }
        Map<Secret, byte[]> psks = new HashMap<>();
        for (JsonNode p : c.get("external_psks")) {
            psks.put(new Secret(hex(p, "psk_id")), hex(p, "psk"));
        }
        Group g = new Group(hex(c, "init_priv"), suite.getHPKE().deserializePrivateKey(hex(c, "encryption_priv"), null),
                hex(c, "signature_priv"), kp.keyPackage, welcome.welcome, tree, psks,
                new HashMap<Group.EpochRef, byte[]>());
        assertArrayEquals(hex(c, "initial_epoch_authenticator"), g.getEpochAuthenticator(), name + " join");
        int e = 0;
        for (JsonNode epoch : c.get("epochs")) {
            for (JsonNode p : epoch.get("proposals")) {
                assertNull(g.handle(Hex.decode(p.asText()), null), name + " epoch " + e + ": proposal made a state");
            }
            Group next = g.handle(hex(epoch, "commit"), null);
            assertNotNull(next, name + " epoch " + e + ": commit made no state");
            assertArrayEquals(hex(epoch, "epoch_authenticator"), next.getEpochAuthenticator(),
                    name + " epoch " + e);
            g = next;
            e++;
        }
    }
}
