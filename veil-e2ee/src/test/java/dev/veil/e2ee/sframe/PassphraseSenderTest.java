package dev.veil.e2ee.sframe;

import static dev.veil.e2ee.codec.FrameVectorFiles.hex;
import static dev.veil.e2ee.codec.FrameVectorFiles.unhex;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.veil.e2ee.codec.Codec;
import dev.veil.e2ee.codec.DecryptResult;
import dev.veil.e2ee.codec.FrameType;
import dev.veil.e2ee.codec.FrameVectorFiles;
import dev.veil.e2ee.codec.Rejection;
import dev.veil.e2ee.key.KeyId;
import dev.veil.e2ee.passphrase.PassphraseKeys;
import dev.veil.e2ee.util.SecretBytes;
import java.security.SecureRandom;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Passphrase mode without nonce reuse (docs/PROTOCOL.md §2.5): every sender draws its own random KID (SFrame) or
 * salt (JFrame) per connection, so two senders that a server gave the same connection id (the same PBKDF2 key)
 * never share a (key, nonce). Also writes/checks test-vectors/frames-passphrase-sender.json.
 */
class PassphraseSenderTest {
    static final String FILE = "frames-passphrase-sender.json";
    // frames-passphrase.json case "alice": PBKDF2("correct horse battery staple", "veil-room" ‖ 0 ‖ "alice")
    static final String P_ALICE = "0c172bab8c25520a5f0eb15da77e5e66";
    static final CipherSuite SUITE = CipherSuite.AES_128_GCM_SHA256_128;

    static SecureRandom seeded(long seed) throws Exception {
        SecureRandom r = SecureRandom.getInstance("SHA1PRNG");
        r.setSeed(seed);
        return r;
    }

    static ObjectNode build() throws Exception {
        ObjectNode root = FrameVectorFiles.JSON.createObjectNode();
        root.put("description", "Passphrase mode per-connection keys (docs/PROTOCOL.md §2.5). passphrase_key = P ="
                + " PBKDF2 of frames-passphrase.json (case alice). SFrame: base_key = HKDF-SHA256(salt = \"\", IKM = P,"
                + " info = \"Veil 1.0 passphrase sframe\" ‖ KID (8 B BE), 32), then RFC 9605 under that KID, suite 4;"
                + " 'encrypted' is the OPUS frame encrypted with CTR 0; a receiver holding only P decrypts it."
                + " JFrame: aes_key = HKDF-SHA256(salt = \"\", IKM = P, info = \"Veil 1.0 passphrase jframe\" ‖ salt"
                + " (16), 16).");
        ArrayNode s = root.putArray("sframe_cases");
        SecretBytes p = SecretBytes.copyOf(unhex(P_ALICE));
        for (String kidText : new String[] {"1311768467294899695", "18364758544493064720", "0"}) {
            long kid = Long.parseUnsignedLong(kidText);
            SecretBytes base = PassphraseKeys.sframeBaseKey(p, kid);
            byte[][] ks = SFrameKeySchedule.derive(SUITE, kid, base.toByteArray());
            SFrameSender tx = new SFrameSender(SUITE);
            tx.setKey(KeyId.fromKid(kid), base);
            byte[] frame = unhex("fc0102030405060708090a0b0c0d0e0f");
            ObjectNode n = s.addObject();
            n.put("passphrase_key", P_ALICE);
            n.put("kid", kidText);
            n.put("base_key", hex(base.toByteArray()));
            n.put("sframe_key", hex(ks[0]));
            n.put("sframe_salt", hex(ks[1]));
            n.put("cipher_suite", SUITE.id());
            n.put("codec", "OPUS");
            n.put("frame", hex(frame));
            n.put("encrypted", hex(tx.encryptFrame(Codec.OPUS, FrameType.UNSPECIFIED, frame)));
        }
        ArrayNode j = root.putArray("jframe_cases");
        for (String salt : new String[] {"000102030405060708090a0b0c0d0e0f", "f0e0d0c0b0a090807060504030201000"}) {
            ObjectNode n = j.addObject();
            n.put("passphrase_key", P_ALICE);
            n.put("salt", salt);
            n.put("aes_key", hex(PassphraseKeys.jframeKey(p, unhex(salt)).toByteArray()));
        }
        return root;
    }

    @Test
    void vectorFile_isWhatTheImplementationProduces_andDecryptsFromPAlone() throws Exception {
        ObjectNode built = build();
        if (FrameVectorFiles.WRITE) {
            FrameVectorFiles.write(FILE, built);
        }
        JsonNode disk = FrameVectorFiles.read(FILE);
        assertEquals(FrameVectorFiles.JSON.readTree(FrameVectorFiles.JSON.writeValueAsString(built)), disk);
        for (JsonNode c : disk.get("sframe_cases")) {
            SFrameReceiver rx = new SFrameReceiver(SUITE);
            rx.setPassphraseKey(SecretBytes.copyOf(unhex(c.get("passphrase_key"))));
            byte[] enc = unhex(c.get("encrypted"));
            byte[] out = new byte[enc.length];
            DecryptResult r = rx.decryptFrame(Codec.OPUS, FrameType.UNSPECIFIED, enc, 0, enc.length, out, 0);
            assertTrue(r instanceof DecryptResult.Decrypted, c.get("kid").asText());
            assertEquals(c.get("frame").asText(), hex(java.util.Arrays.copyOf(out, ((DecryptResult.Decrypted) r).length())));
            assertTrue(rx.hasKey(KeyId.fromKid(Long.parseUnsignedLong(c.get("kid").asText()))));
        }
    }

    /** Two members that a server gave the same connection id, and one member across a reconnect. */
    @Test
    void sameConnectionId_neverSharesKeyAndNonce() throws Exception {
        SecretBytes p = SecretBytes.copyOf(unhex(P_ALICE)); // the same PBKDF2 key for every one of them
        SecureRandom[] devices = {seeded(1), seeded(2), seeded(1 + 1000)};
        Set<String> keyNonce = new HashSet<>();
        int frames = 0;
        for (int conn = 0; conn < 6; conn++) { // 3 devices, each connecting twice under the same id
            long kid = PassphraseKeys.randomKid(devices[conn % 3]);
            SecretBytes base = PassphraseKeys.sframeBaseKey(p, kid);
            byte[][] ks = SFrameKeySchedule.derive(SUITE, kid, base.toByteArray());
            SFrameSender tx = new SFrameSender(SUITE);
            tx.setKey(KeyId.fromKid(kid), base);
            for (int i = 0; i < 200; i++) {
                long ctr = tx.nextCounter();
                byte[] nonce = ks[1].clone();
                for (int b = 0; b < 8; b++) {
                    nonce[nonce.length - 1 - b] ^= (byte) (ctr >>> (8 * b));
                }
                assertTrue(keyNonce.add(hex(ks[0]) + "/" + hex(nonce)), "(key, nonce) reused");
                tx.encryptFrame(Codec.OPUS, FrameType.UNSPECIFIED, new byte[] {(byte) 0xfc, 1, 2});
                frames++;
            }
        }
        assertEquals(frames, keyNonce.size());
    }

    @Test
    void hostileFreshKids_costOneDerivationEach_andNeverGrowState() throws Exception {
        SecretBytes p = SecretBytes.copyOf(unhex(P_ALICE));
        SFrameReceiver rx = new SFrameReceiver(SUITE);
        rx.setPassphraseKey(p);
        SecureRandom r = seeded(7);
        byte[] out = new byte[64];
        for (int i = 0; i < 500; i++) {
            // a forged frame under a fresh KID: header with an 8-byte KID and CTR 0, then garbage and a tag
            byte[] forged = new byte[1 + 1 + 8 + 20];
            r.nextBytes(forged);
            forged[0] = (byte) 0xfc;
            forged[1] = (byte) 0xf0; // X = 1, K = 7 (8 KID bytes), Y = 0, C = 0
            DecryptResult res = rx.decryptFrame(Codec.OPUS, FrameType.UNSPECIFIED, forged, 0, forged.length, out, 0);
            assertEquals(Rejection.BAD_TAG, ((DecryptResult.Rejected) res).reason());
        }
        assertEquals("SFrameReceiver[" + SUITE + ", keys=0]", rx.toString());
        // the genuine sender is still decrypted
        long kid = PassphraseKeys.randomKid(r);
        SFrameSender tx = new SFrameSender(SUITE);
        tx.setKey(KeyId.fromKid(kid), PassphraseKeys.sframeBaseKey(p, kid));
        byte[] enc = tx.encryptFrame(Codec.OPUS, FrameType.UNSPECIFIED, new byte[] {(byte) 0xfc, 9, 9, 9});
        assertTrue(rx.decryptFrame(Codec.OPUS, FrameType.UNSPECIFIED, enc, 0, enc.length, out, 0)
                instanceof DecryptResult.Decrypted);
        assertFalse(rx.hasKey(KeyId.fromKid(kid ^ 1)));
    }

    @Test
    void jframeSalts_giveDifferentKeys() throws Exception {
        SecretBytes p = SecretBytes.copyOf(unhex(P_ALICE));
        SecureRandom a = seeded(1);
        SecureRandom b = seeded(2);
        byte[] ka = PassphraseKeys.jframeKey(p, PassphraseKeys.randomSalt(a)).toByteArray();
        byte[] kb = PassphraseKeys.jframeKey(p, PassphraseKeys.randomSalt(b)).toByteArray();
        assertFalse(java.util.Arrays.equals(ka, kb));
        assertFalse(java.util.Arrays.equals(ka, p.toByteArray()));
    }
}
