package dev.veil.e2ee.identity;

import static dev.veil.e2ee.identity.VectorFiles.JSON;
import static dev.veil.e2ee.identity.VectorFiles.hex;
import static dev.veil.e2ee.identity.VectorFiles.unhex;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigInteger;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.EdECPoint;
import java.security.spec.EdECPublicKeySpec;
import java.security.spec.NamedParameterSpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;

/** keys-identity.json and keys-verification-code.json: built from fixed keys, then every case checked. */
class IdentityVectorsTest {
    static final String IDENTITY_FILE = "keys-identity.json";
    static final String CODE_FILE = "keys-verification-code.json";

    static ObjectNode buildIdentities() {
        ObjectNode root = JSON.createObjectNode();
        root.put("description", "Veil E2EE identities (docs/PROTOCOL.md §3.1-3.2): Ed25519 identity key, X25519 kx key,"
                + " bundle signature over \"Veil 1.0 bundle\" ‖ identity_key ‖ kx_key, bundle JSON (base64url, no"
                + " padding), fingerprint = SHA-256(\"Veil 1.0 fingerprint\" ‖ identity_key). Hex is lowercase."
                + " Private keys are SHA-256(\"veil vector <name> ed25519|x25519\").");
        ArrayNode ids = root.putArray("identities");
        for (String[] m : TestIdentities.MEMBERS) {
            Identity id = TestIdentities.identity(m[0]);
            Bundle b = id.bundle(m[1]);
            ObjectNode n = ids.addObject();
            n.put("name", m[0]);
            n.put("connection_id", m[1]);
            n.put("connection_id_utf8", hex(ConnectionIds.utf8(m[1])));
            n.put("ed25519_seed", hex(TestIdentities.edSeed(m[0])));
            n.put("x25519_private", hex(TestIdentities.kxPrivate(m[0])));
            n.put("identity_key", hex(b.identityKey()));
            n.put("kx_key", hex(b.kxKey()));
            n.put("signature_input", hex(Bundle.signatureInput(b.identityKey(), b.kxKey())));
            n.put("signature", hex(b.signature()));
            n.put("bundle_json", b.toJson());
            n.put("fingerprint", hex(b.fingerprint().bytes()));
            n.put("fingerprint_display", b.fingerprint().display());
        }
        ArrayNode bad = root.putArray("bundle_cases");
        Bundle alice = TestIdentities.bundle("alice");
        Bundle bob = TestIdentities.bundle("bob");
        Base64.Encoder e = Base64.getUrlEncoder().withoutPadding();
        String ik = e.encodeToString(alice.identityKey());
        String kx = e.encodeToString(alice.kxKey());
        String sig = e.encodeToString(alice.signature());
        byte[] flipped = alice.signature();
        flipped[10] ^= 0x01;
        addCase(bad, "valid, members reordered and an unknown member ignored", "valid",
                "{\"signature\":\"" + sig + "\",\"extra\":{\"a\":[1,2.5,true,null]},\"kx_key\":\"" + kx
                        + "\",\"identity_key\":\"" + ik + "\",\"version\":1}");
        addCase(bad, "signature bit flipped", "bad_signature", json(1, ik, kx, e.encodeToString(flipped)));
        addCase(bad, "bob's kx key under alice's signature", "bad_signature",
                json(1, ik, e.encodeToString(bob.kxKey()), sig));
        addCase(bad, "bob's identity key with alice's kx key and signature", "bad_signature",
                json(1, e.encodeToString(bob.identityKey()), kx, sig));
        addCase(bad, "version 2", "malformed", json(2, ik, kx, sig));
        addCase(bad, "version as a string", "malformed",
                "{\"version\":\"1\",\"identity_key\":\"" + ik + "\",\"kx_key\":\"" + kx + "\",\"signature\":\""
                        + sig + "\"}");
        addCase(bad, "signature missing", "malformed",
                "{\"version\":1,\"identity_key\":\"" + ik + "\",\"kx_key\":\"" + kx + "\"}");
        addCase(bad, "padded base64url", "malformed", json(1, ik + "=", kx, sig));
        addCase(bad, "standard base64 alphabet", "malformed",
                json(1, Base64.getEncoder().withoutPadding().encodeToString(unhex(
                        "fbff" + "00".repeat(30))), kx, sig));
        addCase(bad, "identity key 31 bytes", "malformed",
                json(1, e.encodeToString(new byte[31]), kx, sig));
        addCase(bad, "non-canonical base64url (trailing bits set)", "malformed",
                json(1, ik.substring(0, 42) + nonCanonicalLast(ik.charAt(42)), kx, sig));
        addCase(bad, "duplicate member", "malformed",
                "{\"version\":1,\"version\":1,\"identity_key\":\"" + ik + "\",\"kx_key\":\"" + kx
                        + "\",\"signature\":\"" + sig + "\"}");
        addCase(bad, "not an object", "malformed", "[\"" + ik + "\"]");
        addCase(bad, "truncated JSON", "malformed", json(1, ik, kx, sig).substring(0, 50));
        return root;
    }

    /** The last base64url char of a 32-byte value carries 4 bits; the 2 low bits must be zero. */
    private static char nonCanonicalLast(char c) {
        String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        return alphabet.charAt(alphabet.indexOf(c) | 1);
    }

    private static String json(int version, String ik, String kx, String sig) {
        return "{\"version\":" + version + ",\"identity_key\":\"" + ik + "\",\"kx_key\":\"" + kx
                + "\",\"signature\":\"" + sig + "\"}";
    }

    private static void addCase(ArrayNode a, String description, String result, String json) {
        ObjectNode n = a.addObject();
        n.put("description", description);
        n.put("connection_id", TestIdentities.connectionId("alice"));
        n.put("json", json);
        n.put("result", result);
    }

    static ObjectNode buildCodes() {
        ObjectNode root = JSON.createObjectNode();
        root.put("description", "Room verification codes (docs/PROTOCOL.md §3.2): members sorted by the unsigned"
                + " bytes of the UTF-8 connection id; hash_input = \"Veil 1.0 room code\" ‖ n (uint16) ‖ per member"
                + " len (uint8) ‖ connection id ‖ identity_key (32); code = 6 groups, group i = uint40 of"
                + " SHA-256[5i..5i+5) mod 100000, 5 digits. Members are listed unsorted on purpose.");
        ArrayNode cases = root.putArray("cases");
        addCode(cases, "one member", List.of("alice"), List.of());
        addCode(cases, "two members", List.of("bob", "alice"), List.of());
        addCode(cases, "three members", List.of("carol", "alice", "bob"), List.of());
        addCode(cases, "three members, other order: same code", List.of("alice", "bob", "carol"), List.of());
        addCode(cases, "carol's connection with dave's identity key: different code", List.of("alice", "bob", "carol"),
                List.of("carol=dave"));
        addCode(cases, "ids that sort differently in UTF-8 and UTF-16", List.of("erin", "dave", "alice"), List.of());
        ArrayNode rej = root.putArray("rejections");
        ObjectNode r = rej.addObject();
        r.put("description", "a connection id listed twice");
        ArrayNode ms = r.putArray("members");
        for (String name : List.of("alice", "alice")) {
            ObjectNode m = ms.addObject();
            m.put("connection_id", TestIdentities.connectionId(name));
            m.put("identity_key", hex(TestIdentities.identity(name).identityKey()));
        }
        rej.addObject().put("description", "no members").putArray("members");
        return root;
    }

    private static void addCode(ArrayNode cases, String description, List<String> names, List<String> swaps) {
        List<VerificationCode.Member> members = new ArrayList<>();
        ObjectNode n = cases.addObject();
        n.put("description", description);
        ArrayNode ms = n.putArray("members");
        for (String name : names) {
            String keyOwner = name;
            for (String s : swaps) {
                if (s.startsWith(name + "=")) {
                    keyOwner = s.substring(name.length() + 1);
                }
            }
            VerificationCode.Member m = new VerificationCode.Member(TestIdentities.connectionId(name),
                    TestIdentities.identity(keyOwner).identityKey());
            members.add(m);
            ObjectNode o = ms.addObject();
            o.put("connection_id", m.connectionId());
            o.put("identity_key", hex(m.identityKey()));
        }
        n.put("hash_input", hex(VerificationCode.hashInput(members)));
        VerificationCode code = VerificationCode.of(members);
        n.put("hash", hex(code.hash()));
        n.put("code", code.display());
    }

    @Test
    void identityVectors_matchImplementation() throws Exception {
        JsonNode file = VectorFiles.sync(IDENTITY_FILE, buildIdentities());
        assertEquals(VectorFiles.normalized(buildIdentities()), file, IDENTITY_FILE + " is stale: run with -Dveil.vectors.write=true");
        assertEquals(5, file.get("identities").size());
        for (JsonNode n : file.get("identities")) {
            Identity id = Identity.fromPrivateKeys(unhex(n.get("ed25519_seed")), unhex(n.get("x25519_private")));
            Bundle b = id.bundle(n.get("connection_id").asText());
            assertArrayEquals(unhex(n.get("identity_key")), b.identityKey());
            assertArrayEquals(unhex(n.get("kx_key")), b.kxKey());
            assertArrayEquals(unhex(n.get("signature")), b.signature());
            assertEquals(n.get("fingerprint_display").asText(), id.fingerprint().display());
            Bundle parsed = Bundle.fromJson(n.get("connection_id").asText(), n.get("bundle_json").asText());
            assertEquals(b, parsed);
            assertTrue(parsed.verify());
            // independent check with the JDK's own Ed25519 (SunEC)
            assertTrue(jdkVerify(b.identityKey(), unhex(n.get("signature_input")), b.signature()));
        }
    }

    @Test
    void bundleCases_giveTheirResult() {
        JsonNode file = VectorFiles.sync(IDENTITY_FILE, buildIdentities());
        int count = 0;
        for (JsonNode n : file.get("bundle_cases")) {
            String expected = n.get("result").asText();
            String actual;
            try {
                Bundle b = Bundle.fromJson(n.get("connection_id").asText(), n.get("json").asText());
                actual = b.verify() ? "valid" : "bad_signature";
            } catch (BundleFormatException e) {
                actual = "malformed";
            }
            assertEquals(expected, actual, n.get("description").asText());
            count++;
        }
        assertEquals(14, count);
    }

    @Test
    void codeVectors_matchImplementation() {
        JsonNode file = VectorFiles.sync(CODE_FILE, buildCodes());
        assertEquals(VectorFiles.normalized(buildCodes()), file, CODE_FILE + " is stale: run with -Dveil.vectors.write=true");
        List<String> codes = new ArrayList<>();
        for (JsonNode n : file.get("cases")) {
            List<VerificationCode.Member> members = new ArrayList<>();
            for (JsonNode m : n.get("members")) {
                members.add(new VerificationCode.Member(m.get("connection_id").asText(), unhex(m.get("identity_key"))));
            }
            assertArrayEquals(unhex(n.get("hash_input")), VerificationCode.hashInput(members));
            VerificationCode c = VerificationCode.of(members);
            assertEquals(n.get("code").asText(), c.display());
            assertTrue(c.matches(n.get("code").asText().replace(" ", "")));
            codes.add(c.display());
        }
        assertEquals(codes.get(2), codes.get(3), "order of listing must not matter");
        assertFalse(codes.get(3).equals(codes.get(4)), "a changed identity key must change the code");
        for (JsonNode n : file.get("rejections")) {
            List<VerificationCode.Member> members = new ArrayList<>();
            for (JsonNode m : n.get("members")) {
                members.add(new VerificationCode.Member(m.get("connection_id").asText(), unhex(m.get("identity_key"))));
            }
            assertThrows(IllegalArgumentException.class, () -> VerificationCode.of(members));
        }
    }

    static boolean jdkVerify(byte[] publicKey, byte[] message, byte[] signature) {
        try {
            // RFC 8032 encoding: little-endian y with the sign of x in the top bit
            byte[] le = publicKey.clone();
            boolean xOdd = (le[31] & 0x80) != 0;
            le[31] &= 0x7F;
            byte[] be = new byte[32];
            for (int i = 0; i < 32; i++) {
                be[i] = le[31 - i];
            }
            PublicKey pk = KeyFactory.getInstance("Ed25519").generatePublic(
                    new EdECPublicKeySpec(NamedParameterSpec.ED25519, new EdECPoint(xOdd, new BigInteger(1, be))));
            Signature s = Signature.getInstance("Ed25519");
            s.initVerify(pk);
            s.update(message);
            return s.verify(signature);
        } catch (Exception e) {
            fail(e);
            return false;
        }
    }
}
