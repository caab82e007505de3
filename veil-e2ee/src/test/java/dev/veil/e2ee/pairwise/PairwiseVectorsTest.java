package dev.veil.e2ee.pairwise;

import static dev.veil.e2ee.identity.VectorFiles.JSON;
import static dev.veil.e2ee.identity.VectorFiles.hex;
import static dev.veil.e2ee.identity.VectorFiles.unhex;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.veil.e2ee.identity.Bundle;
import dev.veil.e2ee.identity.Identity;
import dev.veil.e2ee.identity.TestIdentities;
import dev.veil.e2ee.identity.VectorFiles;
import dev.veil.e2ee.kdf.Hkdf;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.spec.NamedParameterSpec;
import java.security.spec.XECPrivateKeySpec;
import java.security.spec.XECPublicKeySpec;
import java.util.Arrays;
import javax.crypto.KeyAgreement;
import org.junit.jupiter.api.Test;

/** keys-pairwise.json: key derivation, sealed messages and rejection sequences for fixed identities. */
class PairwiseVectorsTest {
    static final String FILE = "keys-pairwise.json";

    static PairwiseChannel channel(String self, String peer) throws PairwiseException {
        return PairwiseChannel.create(TestIdentities.identity(self), TestIdentities.connectionId(self),
                TestIdentities.bundle(peer));
    }

    static ObjectNode build() throws Exception {
        ObjectNode root = JSON.createObjectNode();
        root.put("description", "Veil pairwise channel (docs/PROTOCOL.md §3.3). shared = X25519(a.x25519_private,"
                + " b.kx_key); party(P) = len(cid) ‖ cid ‖ identity_key ‖ kx_key; key(X→Y) = HKDF-SHA256(salt=\"\","
                + " IKM=shared, info=\"Veil 1.0 pairwise key\" ‖ party(X) ‖ party(Y), 32); message = 0x01 ‖ 0x01 ‖"
                + " len ‖ sender id ‖ len ‖ recipient id ‖ seq (uint32) ‖ AES-256-GCM(key(X→Y), nonce = 8 zero bytes"
                + " ‖ seq, AAD = header). Identities (private keys) are those of keys-identity.json.");
        ArrayNode pairs = root.putArray("pairs");
        addPair(pairs, "alice", "bob");
        addPair(pairs, "dave", "erin");

        ArrayNode cases = root.putArray("receive_cases");
        PairwiseChannel ab = channel("alice", "bob");
        byte[] m0 = ab.seal(plain("key message 0"));
        byte[] m1 = ab.seal(plain("key message 1"));
        byte[] m2 = ab.seal(plain("key message 2"));
        byte[] fromCarol = channel("carol", "bob").seal(plain("from carol"));
        byte[] toCarol = channel("alice", "carol").seal(plain("to carol"));
        byte[] bobToAlice = channel("bob", "alice").seal(plain("reflected"));
        // the same ciphertext with the header rewritten as if alice had sent it to bob
        byte[] reflected = swapIds(bobToAlice);

        ObjectNode c = newCase(cases, "in order");
        step(c, m0, "ok", "key message 0");
        step(c, m1, "ok", "key message 1");
        step(c, m2, "ok", "key message 2");
        c = newCase(cases, "gap allowed, then the skipped message is a replay");
        step(c, m0, "ok", "key message 0");
        step(c, m2, "ok", "key message 2");
        step(c, m1, "REPLAY", null);
        c = newCase(cases, "replay");
        step(c, m0, "ok", "key message 0");
        step(c, m0, "REPLAY", null);
        c = newCase(cases, "a rejected message does not consume its sequence number");
        step(c, flip(m0, m0.length - 1), "BAD_TAG", null);
        step(c, m0, "ok", "key message 0");
        c = newCase(cases, "tampering");
        step(c, flip(m1, m1.length - 20), "BAD_TAG", null);
        step(c, flip(m1, m1.length - 17), "BAD_TAG", null);
        step(c, setSeq(m1, 7), "BAD_TAG", null);
        step(c, reflected, "BAD_TAG", null);
        step(c, m1, "ok", "key message 1");
        c = newCase(cases, "wrong parties");
        step(c, toCarol, "WRONG_RECIPIENT", null);
        step(c, fromCarol, "WRONG_SENDER", null);
        step(c, bobToAlice, "WRONG_RECIPIENT", null);
        c = newCase(cases, "malformed");
        step(c, new byte[0], "MALFORMED", null);
        step(c, new byte[] {1}, "MALFORMED", null);
        byte[] v2 = m0.clone();
        v2[0] = 2;
        step(c, v2, "UNSUPPORTED_VERSION", null);
        byte[] kind2 = m0.clone();
        kind2[1] = 2;
        step(c, kind2, "MALFORMED", null);
        step(c, Arrays.copyOf(m0, m0.length - 14), "MALFORMED", null); // header + 15 bytes: no room for the tag
        byte[] zeroLen = m0.clone();
        zeroLen[2] = 0;
        step(c, zeroLen, "MALFORMED", null);
        byte[] longLen = m0.clone();
        longLen[2] = (byte) 0xFF;
        step(c, longLen, "MALFORMED", null);
        byte[] badUtf8 = m0.clone();
        badUtf8[3] = (byte) 0xC0;
        step(c, badUtf8, "MALFORMED", null);
        step(c, new byte[4097], "UNSUPPORTED_VERSION", null);
        byte[] huge = new byte[4097];
        huge[0] = 1;
        step(c, huge, "MALFORMED", null);
        step(c, m0, "ok", "key message 0");
        return root;
    }

    private static void addPair(ArrayNode pairs, String a, String b) throws Exception {
        Identity ia = TestIdentities.identity(a);
        Bundle ba = TestIdentities.bundle(a);
        Bundle bb = TestIdentities.bundle(b);
        byte[] shared = ia.agree(bb.kxKey());
        byte[] pa = PairwiseChannel.party(ba.connectionId(), ba.identityKey(), ba.kxKey());
        byte[] pb = PairwiseChannel.party(bb.connectionId(), bb.identityKey(), bb.kxKey());
        ObjectNode n = pairs.addObject();
        n.put("a", a);
        n.put("b", b);
        n.put("shared_secret", hex(shared));
        n.put("party_a", hex(pa));
        n.put("party_b", hex(pb));
        n.put("info_a_to_b", hex(concat("Veil 1.0 pairwise key".getBytes(StandardCharsets.US_ASCII), pa, pb)));
        n.put("key_a_to_b", hex(PairwiseChannel.directionKey(shared, pa, pb)));
        n.put("info_b_to_a", hex(concat("Veil 1.0 pairwise key".getBytes(StandardCharsets.US_ASCII), pb, pa)));
        n.put("key_b_to_a", hex(PairwiseChannel.directionKey(shared, pb, pa)));
        ArrayNode msgs = n.putArray("messages");
        PairwiseChannel ca = channel(a, b);
        PairwiseChannel cb = channel(b, a);
        String[][] script = {{"a", "KEY 0"}, {"a", ""}, {"b", "KEY b"}, {"a", "KEY 2"}};
        for (String[] s : script) {
            PairwiseChannel from = s[0].equals("a") ? ca : cb;
            ObjectNode m = msgs.addObject();
            m.put("from", s[0]);
            byte[] p = plain(s[1]);
            m.put("plaintext", hex(p));
            m.put("sealed", hex(from.seal(p)));
        }
    }

    private static ObjectNode newCase(ArrayNode cases, String description) {
        ObjectNode c = cases.addObject();
        c.put("description", description);
        c.put("receiver", "bob");
        c.put("sender", "alice");
        c.putArray("steps");
        return c;
    }

    private static void step(ObjectNode c, byte[] message, String result, String plaintext) {
        ObjectNode s = ((ArrayNode) c.get("steps")).addObject();
        s.put("message", hex(message));
        s.put("result", result);
        if (plaintext != null) {
            s.put("plaintext", hex(plain(plaintext)));
        }
    }

    static byte[] plain(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    static byte[] flip(byte[] m, int index) {
        byte[] c = m.clone();
        c[index] ^= 0x40;
        return c;
    }

    static byte[] setSeq(byte[] m, int seq) {
        byte[] c = m.clone();
        int p = 2 + 1 + (c[2] & 0xFF);
        p += 1 + (c[p] & 0xFF);
        c[p] = (byte) (seq >>> 24);
        c[p + 1] = (byte) (seq >>> 16);
        c[p + 2] = (byte) (seq >>> 8);
        c[p + 3] = (byte) seq;
        return c;
    }

    static byte[] swapIds(byte[] m) throws PairwiseException {
        PairwiseMessage d = PairwiseMessage.decode(m);
        return concat(PairwiseMessage.header(d.recipient(), d.sender(), d.seq()), d.ciphertext());
    }

    static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) {
            n += p.length;
        }
        byte[] out = new byte[n];
        int o = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, o, p.length);
            o += p.length;
        }
        return out;
    }

    @Test
    void vectors_matchImplementation() throws Exception {
        JsonNode file = VectorFiles.sync(FILE, build());
        assertEquals(VectorFiles.normalized(build()), file, FILE + " is stale: run with -Dveil.vectors.write=true");
        for (JsonNode pair : file.get("pairs")) {
            String a = pair.get("a").asText();
            String b = pair.get("b").asText();
            // independent check of X25519 with the JDK's XDH
            assertArrayEquals(unhex(pair.get("shared_secret")),
                    jdkX25519(TestIdentities.kxPrivate(a), TestIdentities.bundle(b).kxKey()));
            assertArrayEquals(unhex(pair.get("key_a_to_b")), Hkdf.SHA256.derive(new byte[0],
                    unhex(pair.get("shared_secret")), unhex(pair.get("info_a_to_b")), 32));
            assertArrayEquals(unhex(pair.get("key_b_to_a")), Hkdf.SHA256.derive(new byte[0],
                    unhex(pair.get("shared_secret")), unhex(pair.get("info_b_to_a")), 32));
            PairwiseChannel ca = channel(a, b);
            PairwiseChannel cb = channel(b, a);
            for (JsonNode m : pair.get("messages")) {
                PairwiseChannel receiver = m.get("from").asText().equals("a") ? cb : ca;
                assertArrayEquals(unhex(m.get("plaintext")), receiver.open(unhex(m.get("sealed"))));
            }
        }
    }

    @Test
    void receiveCases_giveTheirResults() throws Exception {
        JsonNode file = VectorFiles.sync(FILE, build());
        int steps = 0;
        for (JsonNode c : file.get("receive_cases")) {
            PairwiseChannel ch = channel(c.get("receiver").asText(), c.get("sender").asText());
            for (JsonNode s : c.get("steps")) {
                String actual;
                byte[] out = null;
                try {
                    out = ch.open(unhex(s.get("message")));
                    actual = "ok";
                } catch (PairwiseException e) {
                    actual = e.reason().name();
                }
                assertEquals(s.get("result").asText(), actual, c.get("description").asText() + " step " + steps);
                if (s.has("plaintext")) {
                    assertArrayEquals(unhex(s.get("plaintext")), out);
                }
                steps++;
            }
        }
        assertEquals(29, steps);
    }

    static byte[] jdkX25519(byte[] privateKey, byte[] publicKey) throws Exception {
        KeyFactory kf = KeyFactory.getInstance("XDH");
        PrivateKey priv = kf.generatePrivate(new XECPrivateKeySpec(NamedParameterSpec.X25519, privateKey));
        byte[] le = publicKey.clone();
        le[31] &= 0x7F;
        byte[] be = new byte[32];
        for (int i = 0; i < 32; i++) {
            be[i] = le[31 - i];
        }
        PublicKey pub = kf.generatePublic(new XECPublicKeySpec(NamedParameterSpec.X25519, new BigInteger(1, be)));
        KeyAgreement ka = KeyAgreement.getInstance("XDH");
        ka.init(priv);
        ka.doPhase(pub, true);
        return ka.generateSecret();
    }
}
