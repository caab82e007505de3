package dev.veil.e2ee.identity;

import static dev.veil.e2ee.identity.VectorFiles.JSON;
import static dev.veil.e2ee.identity.VectorFiles.hex;
import static dev.veil.e2ee.identity.VectorFiles.unhex;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.veil.e2ee.pairwise.PairwiseChannel;
import dev.veil.e2ee.pairwise.PairwiseException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * keys-device.json (device identities, certificates, the device pairwise channel) and
 * keys-verification-code-context.json (the room code with channel, mode and format): built from fixed keys, then
 * every case checked from its inputs.
 */
class DeviceVectorsTest {
    static final String DEVICE_FILE = "keys-device.json";
    static final String CODE_FILE = "keys-verification-code-context.json";
    static final String CHANNEL = "veil-room";

    static DeviceIdentity device(String name) {
        return DeviceIdentity.fromSeed(VectorFiles.seed("veil vector " + name + " device"));
    }

    static ObjectNode buildDevices() throws PairwiseException {
        ObjectNode root = JSON.createObjectNode();
        root.put("description", "Persistent device identities (docs/PROTOCOL.md §3.2): device key = Ed25519 from seed"
                + " SHA-256(\"veil vector <name> device\"); device fingerprint = SHA-256(\"Veil 1.0 device"
                + " fingerprint\" ‖ device_key); certificate signature over \"Veil 1.0 device certificate\" ‖"
                + " device_key ‖ identity_key ‖ len ‖ connection id ‖ len ‖ channel id; encoding = 0x01 ‖ device_key"
                + " ‖ signature (97 bytes); sent sealed in the device pairwise channel (label \"Veil 1.0 pairwise"
                + " device\", kind 2). Identities and connection ids are those of keys-identity.json.");
        ArrayNode devices = root.putArray("devices");
        for (String name : List.of("alice", "bob")) {
            DeviceIdentity d = device(name);
            ObjectNode n = devices.addObject();
            n.put("name", name);
            n.put("device_seed", hex(VectorFiles.seed("veil vector " + name + " device")));
            n.put("device_key", hex(d.publicKey()));
            n.put("device_fingerprint", hex(d.fingerprint().bytes()));
            n.put("device_fingerprint_display", d.fingerprint().display());
        }
        ArrayNode certs = root.putArray("certificates");
        for (String name : List.of("alice", "bob")) {
            DeviceIdentity d = device(name);
            Identity id = TestIdentities.identity(name);
            String cid = TestIdentities.connectionId(name);
            DeviceCertificate c = d.certify(id.identityKey(), cid, CHANNEL);
            ObjectNode n = certs.addObject();
            n.put("device", name);
            n.put("identity_key", hex(id.identityKey()));
            n.put("connection_id", cid);
            n.put("channel_id", CHANNEL);
            n.put("signature_input", hex(DeviceCertificate.signatureInput(d.publicKey(), id.identityKey(), cid,
                    CHANNEL)));
            n.put("signature", hex(c.signature()));
            n.put("encoded", hex(c.encode()));
        }
        DeviceCertificate alice = device("alice").certify(TestIdentities.identity("alice").identityKey(),
                TestIdentities.connectionId("alice"), CHANNEL);
        ArrayNode rej = root.putArray("verify_cases");
        addVerify(rej, "valid", alice.encode(), "alice", TestIdentities.connectionId("alice"), CHANNEL, true);
        addVerify(rej, "another channel", alice.encode(), "alice", TestIdentities.connectionId("alice"), "other-room",
                false);
        addVerify(rej, "another connection id", alice.encode(), "alice", TestIdentities.connectionId("bob"), CHANNEL,
                false);
        addVerify(rej, "another identity key", alice.encode(), "bob", TestIdentities.connectionId("alice"), CHANNEL,
                false);
        byte[] flipped = alice.encode();
        flipped[40] ^= 1;
        addVerify(rej, "signature bit flipped", flipped, "alice", TestIdentities.connectionId("alice"), CHANNEL, false);
        ArrayNode malformed = root.putArray("malformed");
        byte[] v2 = alice.encode();
        v2[0] = 2;
        malformed.add(hex(v2));
        malformed.add(hex(java.util.Arrays.copyOf(alice.encode(), 96)));
        malformed.add(hex(java.util.Arrays.copyOf(alice.encode(), 98)));
        malformed.add("");
        // the certificate of alice sealed for bob in the device channel, seq 0
        PairwiseChannel ab = PairwiseChannel.create(PairwiseChannel.Purpose.DEVICE, TestIdentities.identity("alice"),
                TestIdentities.connectionId("alice"), TestIdentities.bundle("bob"));
        ObjectNode ch = root.putObject("device_channel");
        ch.put("from", "alice");
        ch.put("to", "bob");
        ch.put("plaintext", hex(alice.encode()));
        ch.put("sealed", hex(ab.seal(alice.encode())));
        return root;
    }

    private static void addVerify(ArrayNode a, String description, byte[] encoded, String identity, String cid,
                                  String channel, boolean valid) {
        ObjectNode n = a.addObject();
        n.put("description", description);
        n.put("encoded", hex(encoded));
        n.put("identity_key", hex(TestIdentities.identity(identity).identityKey()));
        n.put("connection_id", cid);
        n.put("channel_id", channel);
        n.put("valid", valid);
    }

    static ObjectNode buildCodes() {
        ObjectNode root = JSON.createObjectNode();
        root.put("description", "Room verification code with context (docs/PROTOCOL.md §3.2), the code the SDKs show:"
                + " hash_input = \"Veil 1.1 room code\" ‖ len (uint8) ‖ channel id ‖ mode (uint8: 1 keys, 2"
                + " passphrase) ‖ format (uint8: 1 SFrame, 2 JFrame) ‖ cipher suite (uint16, 0 for JFrame) ‖ n"
                + " (uint16) ‖ per member (sorted by UTF-8 bytes of the id) len ‖ connection id ‖ identity_key;"
                + " code as in keys-verification-code.json. Members listed unsorted.");
        ArrayNode cases = root.putArray("cases");
        List<String> three = List.of("carol", "alice", "bob");
        addCode(cases, "keys, SFrame suite 4", new VerificationCode.Context(CHANNEL, 1, 1, 4), three);
        addCode(cases, "another channel", new VerificationCode.Context("other-room", 1, 1, 4), three);
        addCode(cases, "passphrase mode", new VerificationCode.Context(CHANNEL, 2, 1, 4), three);
        addCode(cases, "JFrame", new VerificationCode.Context(CHANNEL, 1, 2, 0), three);
        addCode(cases, "SFrame suite 5", new VerificationCode.Context(CHANNEL, 1, 1, 5), three);
        addCode(cases, "one member, UTF-8 order", new VerificationCode.Context("r", 1, 1, 4), List.of("erin", "dave"));
        return root;
    }

    private static void addCode(ArrayNode cases, String description, VerificationCode.Context ctx, List<String> names) {
        List<VerificationCode.Member> members = new ArrayList<>();
        ObjectNode n = cases.addObject();
        n.put("description", description);
        ObjectNode c = n.putObject("context");
        c.put("channel_id", ctx.channelId());
        c.put("mode", ctx.mode());
        c.put("format", ctx.format());
        c.put("cipher_suite", ctx.cipherSuite());
        ArrayNode ms = n.putArray("members");
        for (String name : names) {
            Identity id = TestIdentities.identity(name);
            ObjectNode m = ms.addObject();
            m.put("connection_id", TestIdentities.connectionId(name));
            m.put("identity_key", hex(id.identityKey()));
            members.add(new VerificationCode.Member(TestIdentities.connectionId(name), id.identityKey()));
        }
        n.put("hash_input", hex(VerificationCode.hashInput(ctx, members)));
        VerificationCode code = VerificationCode.of(ctx, members);
        n.put("hash", hex(code.hash()));
        n.put("code", code.display());
    }

    @Test
    void deviceFile_isWhatTheImplementationProduces() throws Exception {
        JsonNode disk = VectorFiles.sync(DEVICE_FILE, buildDevices());
        assertEquals(VectorFiles.normalized(buildDevices()), disk);
    }

    @Test
    void codeFile_isWhatTheImplementationProduces() {
        JsonNode disk = VectorFiles.sync(CODE_FILE, buildCodes());
        assertEquals(VectorFiles.normalized(buildCodes()), disk);
    }

    @Test
    void deviceFile_casesCheckFromTheirInputs() throws Exception {
        JsonNode root = VectorFiles.sync(DEVICE_FILE, buildDevices());
        for (JsonNode d : root.get("devices")) {
            DeviceIdentity dev = DeviceIdentity.fromSeed(unhex(d.get("device_seed")));
            assertEquals(d.get("device_key").asText(), hex(dev.publicKey()));
            assertEquals(d.get("device_fingerprint_display").asText(), dev.fingerprint().display());
        }
        for (JsonNode c : root.get("certificates")) {
            DeviceCertificate cert = DeviceCertificate.decode(unhex(c.get("encoded")));
            assertTrue(cert.verify(unhex(c.get("identity_key")), c.get("connection_id").asText(),
                    c.get("channel_id").asText()));
        }
        for (JsonNode c : root.get("verify_cases")) {
            DeviceCertificate cert = DeviceCertificate.decode(unhex(c.get("encoded")));
            assertEquals(c.get("valid").asBoolean(), cert.verify(unhex(c.get("identity_key")),
                    c.get("connection_id").asText(), c.get("channel_id").asText()), c.get("description").asText());
        }
        for (JsonNode m : root.get("malformed")) {
            assertNull(DeviceCertificate.decode(unhex(m)));
        }
        JsonNode ch = root.get("device_channel");
        PairwiseChannel ba = PairwiseChannel.create(PairwiseChannel.Purpose.DEVICE, TestIdentities.identity("bob"),
                TestIdentities.connectionId("bob"), TestIdentities.bundle("alice"));
        byte[] sealed = unhex(ch.get("sealed"));
        assertEquals(2, PairwiseChannel.kindOf(sealed));
        assertArrayEquals(unhex(ch.get("plaintext")), ba.open(sealed));
        // the key channel of the same pair does not open it
        PairwiseChannel keys = PairwiseChannel.create(TestIdentities.identity("bob"),
                TestIdentities.connectionId("bob"), TestIdentities.bundle("alice"));
        assertThrows(PairwiseException.class, () -> keys.open(sealed));
    }

    @Test
    void codeFile_casesCheckFromTheirInputs() {
        JsonNode root = VectorFiles.sync(CODE_FILE, buildCodes());
        List<String> seen = new ArrayList<>();
        for (JsonNode c : root.get("cases")) {
            JsonNode x = c.get("context");
            VerificationCode.Context ctx = new VerificationCode.Context(x.get("channel_id").asText(),
                    x.get("mode").asInt(), x.get("format").asInt(), x.get("cipher_suite").asInt());
            List<VerificationCode.Member> members = new ArrayList<>();
            for (JsonNode m : c.get("members")) {
                members.add(new VerificationCode.Member(m.get("connection_id").asText(), unhex(m.get("identity_key"))));
            }
            assertEquals(c.get("hash_input").asText(), hex(VerificationCode.hashInput(ctx, members)));
            assertEquals(c.get("code").asText(), VerificationCode.of(ctx, members).display());
            seen.add(c.get("code").asText());
        }
        assertEquals(seen.size(), seen.stream().distinct().count(), "every context gives another code");
    }

    @Test
    void context_refusesNonsense() {
        assertThrows(IllegalArgumentException.class, () -> new VerificationCode.Context(CHANNEL, 3, 1, 4));
        assertThrows(IllegalArgumentException.class, () -> new VerificationCode.Context(CHANNEL, 1, 2, 4));
        assertThrows(IllegalArgumentException.class, () -> new VerificationCode.Context(CHANNEL, 1, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> new VerificationCode.Context("", 1, 1, 4));
    }

    @Test
    void deviceFingerprint_differsFromConnectionFingerprintOfTheSameKey() {
        byte[] k = device("alice").publicKey();
        assertNotEquals(Fingerprint.of(k), Fingerprint.ofDevice(k));
        assertFalse(Fingerprint.of(k).matches(Fingerprint.ofDevice(k).display()));
    }

    @Test
    void keyFile_createdOwnerOnly_reloadsTheSameKey_andRefusesAWorldReadableFile() throws Exception {
        java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("veil-device");
        java.nio.file.Path f = dir.resolve("device.key");
        java.security.SecureRandom r = java.security.SecureRandom.getInstance("SHA1PRNG");
        r.setSeed(42);
        DeviceIdentity a = DeviceIdentity.loadOrCreate(f, r);
        assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(
                java.nio.file.Files.getPosixFilePermissions(f)));
        DeviceIdentity b = DeviceIdentity.loadOrCreate(f, r);
        assertEquals(a.fingerprint(), b.fingerprint());
        java.nio.file.Files.setPosixFilePermissions(f,
                java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
        assertThrows(java.io.IOException.class, () -> DeviceIdentity.loadOrCreate(f, r));
        java.nio.file.Files.setPosixFilePermissions(f,
                java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        java.nio.file.Files.writeString(f, "veil-device-key-1\n" + "zz".repeat(32) + "\n", StandardCharsets.US_ASCII);
        assertThrows(java.io.IOException.class, () -> DeviceIdentity.loadOrCreate(f, r));
        java.nio.file.Files.delete(f);
        java.nio.file.Files.delete(dir);
    }
}
