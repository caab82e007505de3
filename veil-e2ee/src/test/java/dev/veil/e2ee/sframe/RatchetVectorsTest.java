package dev.veil.e2ee.sframe;

import static dev.veil.e2ee.codec.FrameVectorFiles.unhex;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.databind.JsonNode;
import dev.veil.e2ee.codec.FrameVectorFiles;
import dev.veil.e2ee.kdf.Hkdf;
import dev.veil.e2ee.key.KeyId;
import dev.veil.e2ee.key.KeyRatchet;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** Checks test-vectors/frames-ratchet.json, and that a frame key is never derivable from the next ratchet key. */
class RatchetVectorsTest {

    @Test
    void veilChain_matchesVectors() throws Exception {
        JsonNode v = FrameVectorFiles.read(FrameVectorsGenerator.RATCHET).get("veil");
        CipherSuite suite = CipherSuite.fromId(v.get("cipher_suite").asInt()).orElseThrow();
        long generation = v.get("generation").asLong();
        JsonNode steps = v.get("steps");
        byte[] base = unhex(steps.get(0).get("base_key"));
        for (JsonNode s : steps) {
            int step = s.get("step").asInt();
            long kid = new KeyId(generation, step).toKid();
            assertEquals(kid, Long.parseUnsignedLong(s.get("kid").asText()));
            assertArrayEquals(unhex(s.get("base_key")), base, "base key of step " + step);
            byte[][] ks = SFrameKeySchedule.derive(suite, kid, base);
            assertArrayEquals(unhex(s.get("sframe_key")), ks[0], "sframe_key of step " + step);
            assertArrayEquals(unhex(s.get("sframe_salt")), ks[1], "sframe_salt of step " + step);
            base = KeyRatchet.VEIL.next(base);
        }
        assertEquals(17, steps.size());
    }

    @Test
    void jframeChain_matchesVectors() throws Exception {
        JsonNode steps = FrameVectorFiles.read(FrameVectorsGenerator.RATCHET).get("jframe").get("steps");
        byte[] m = unhex(steps.get(0).get("material"));
        for (JsonNode s : steps) {
            assertArrayEquals(unhex(s.get("material")), m, "material of step " + s.get("step"));
            byte[] aes = Hkdf.SHA256.derive("JFrameEncryptionKey".getBytes(StandardCharsets.US_ASCII), m,
                    new byte[0], 16);
            assertArrayEquals(unhex(s.get("aes_key")), aes, "aes key of step " + s.get("step"));
            m = KeyRatchet.JFRAME.next(m);
        }
    }

    /**
     * LiveKit's flaw: its frame key is a prefix of the next ratchet key, so whoever gets the next key (a joiner)
     * can decrypt the previous epoch. Here the frame key and salt of step i appear nowhere in base(i+1) nor in
     * anything derived from it.
     */
    @Test
    void ratchet_frameKeyNeverInNextBaseKeyOrItsDerivations() {
        for (CipherSuite suite : CipherSuite.values()) {
            byte[] base = FrameVectorFiles.bytes("ratchet independence " + suite, 32);
            for (int step = 0; step < 8; step++) {
                long kid = new KeyId(1, step).toKid();
                byte[][] ks = SFrameKeySchedule.derive(suite, kid, base);
                byte[] next = KeyRatchet.VEIL.next(base);
                byte[][] nextKs = SFrameKeySchedule.derive(suite, new KeyId(1, step + 1).toKid(), next);
                for (byte[] haystack : new byte[][] {next, nextKs[0], nextKs[1]}) {
                    assertFalse(containsWindow(haystack, ks[0], 8), suite + " frame key leaks into next, step " + step);
                    assertFalse(containsWindow(haystack, ks[1], 8), suite + " salt leaks into next, step " + step);
                }
                base = next;
            }
        }
        byte[] m = FrameVectorFiles.bytes("jframe ratchet independence", 32);
        for (int i = 0; i < 8; i++) {
            byte[] aes = Hkdf.SHA256.derive("JFrameEncryptionKey".getBytes(StandardCharsets.US_ASCII), m,
                    new byte[0], 16);
            byte[] next = KeyRatchet.JFRAME.next(m);
            assertFalse(containsWindow(next, aes, 8), "JFrame AES key leaks into the next material");
            m = next;
        }
    }

    /** Whether any {@code w}-byte window of {@code needle} occurs in {@code haystack}. */
    private static boolean containsWindow(byte[] haystack, byte[] needle, int w) {
        String h = HexFormat.of().formatHex(haystack);
        for (int i = 0; i + w <= needle.length; i++) {
            String part = HexFormat.of().formatHex(needle, i, i + w);
            int at = h.indexOf(part);
            while (at >= 0) {
                if (at % 2 == 0) {
                    return true;
                }
                at = h.indexOf(part, at + 1);
            }
        }
        return false;
    }
}
