package dev.veil.e2ee.sframe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.veil.e2ee.codec.DecryptResult;
import dev.veil.e2ee.key.KeyId;
import dev.veil.e2ee.util.SecretBytes;

import dev.veil.e2ee.codec.FrameVectorFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HexFormat;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * RFC 9605 Appendix C: the project's copy ({@code test-vectors/rfc9605-appendix-c.json}, which the JavaScript tests
 * read too) always runs; the shared copy beside the project
 * ({@code ../../shared/test-vectors/sframe-rfc9605.json} from the module directory, or the path in system property
 * {@code veil.rfc9605.vectors}) runs when present and is reported skipped otherwise.
 */
class Rfc9605VectorsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    static byte[] hex(String s) {
        return HexFormat.of().parseHex(s);
    }

    @Test
    void appendixC_projectCopy_allCasesPass() throws Exception {
        Path p = FrameVectorFiles.dir().resolve("rfc9605-appendix-c.json");
        JsonNode root = JSON.readTree(p.toFile());
        int[] counts = runAll(root);
        assertArrayEquals(new int[] {289, 3, 5}, counts);
    }

    @Test
    void appendixC_sharedFile_everyCasePasses() throws Exception {
        String prop = System.getProperty("veil.rfc9605.vectors");
        Path p = prop != null ? Path.of(prop) : Path.of("..", "..", "shared", "test-vectors", "sframe-rfc9605.json");
        Assumptions.assumeTrue(Files.isRegularFile(p),
                "shared RFC 9605 vectors not found at " + p.toAbsolutePath() + " (set -Dveil.rfc9605.vectors=...)");
        JsonNode root = JSON.readTree(p.toFile());
        int[] counts = runAll(root);
        assertEquals(root.get("header").size(), counts[0]);
        assertEquals(289, counts[0]);
        assertEquals(3, counts[1]);
        assertEquals(5, counts[2]);
    }

    private static int[] runAll(JsonNode root) throws Exception {
        int headers = 0;
        for (JsonNode c : root.get("header")) {
            checkHeader(c);
            headers++;
        }
        int aead = 0;
        for (JsonNode c : root.get("aes_ctr_hmac")) {
            checkCtrHmac(c);
            aead++;
        }
        int frames = 0;
        for (JsonNode c : root.get("sframe")) {
            checkSFrame(c);
            frames++;
        }
        return new int[] {headers, aead, frames};
    }

    private static void checkHeader(JsonNode c) throws Exception {
        long kid = Long.parseUnsignedLong(c.get("kid").asText());
        long ctr = Long.parseUnsignedLong(c.get("ctr").asText());
        byte[] encoded = hex(c.get("encoded").asText());
        assertArrayEquals(encoded, new SFrameHeader(kid, ctr).toBytes(), "encode " + c);
        SFrameHeader h = SFrameHeader.decode(encoded, 0, encoded.length);
        assertEquals(kid, h.kid(), "kid " + c);
        assertEquals(ctr, h.counter(), "ctr " + c);
    }

    private static void checkCtrHmac(JsonNode c) throws Exception {
        CipherSuite suite = CipherSuite.fromId(c.get("cipher_suite").asInt()).orElseThrow();
        byte[] key = hex(c.get("key").asText());
        byte[] nonce = hex(c.get("nonce").asText());
        byte[] aad = hex(c.get("aad").asText());
        byte[] pt = hex(c.get("pt").asText());
        byte[] ct = hex(c.get("ct").asText());
        assertArrayEquals(hex(c.get("enc_key").asText()), Arrays.copyOf(key, 16));
        assertArrayEquals(hex(c.get("auth_key").asText()), Arrays.copyOfRange(key, 16, key.length));
        SFrameKey k = SFrameKey.fromRaw(suite, 0, key, nonce.clone()); // salt = nonce, CTR 0
        SFrameAead aead = new SFrameAead(suite);
        byte[] out = new byte[pt.length + suite.tagLength()];
        int n = aead.seal(k, 0, aad, 0, aad.length, new byte[0], 0, 0, pt, 0, pt.length, out, 0);
        assertArrayEquals(ct, Arrays.copyOf(out, n), "seal " + suite);
        byte[] back = new byte[pt.length];
        assertTrue(aead.open(k, 0, aad, 0, aad.length, new byte[0], 0, 0, ct, 0, ct.length, back, 0));
        assertArrayEquals(pt, back);
        ct[ct.length - 1] ^= 1;
        assertTrue(!aead.open(k, 0, aad, 0, aad.length, new byte[0], 0, 0, ct, 0, ct.length, back, 0));
    }

    private static void checkSFrame(JsonNode c) throws Exception {
        CipherSuite suite = CipherSuite.fromId(c.get("cipher_suite").asInt()).orElseThrow();
        long kid = Long.parseUnsignedLong(c.get("kid").asText());
        long ctr = Long.parseUnsignedLong(c.get("ctr").asText());
        byte[] baseKey = hex(c.get("base_key").asText());
        assertArrayEquals(hex(c.get("sframe_key_label").asText()),
                SFrameKeySchedule.label(SFrameKeySchedule.KEY_LABEL, kid, suite));
        assertArrayEquals(hex(c.get("sframe_salt_label").asText()),
                SFrameKeySchedule.label(SFrameKeySchedule.SALT_LABEL, kid, suite));
        assertArrayEquals(hex(c.get("sframe_secret").asText()), suite.kdf().extract(new byte[0], baseKey));
        byte[][] ks = SFrameKeySchedule.derive(suite, kid, baseKey);
        assertArrayEquals(hex(c.get("sframe_key").asText()), ks[0], "key " + suite);
        assertArrayEquals(hex(c.get("sframe_salt").asText()), ks[1], "salt " + suite);
        SFrameAead aead = new SFrameAead(suite);
        assertArrayEquals(hex(c.get("nonce").asText()), aead.nonceFor(SFrameKey.derive(suite, kid, baseKey), ctr));

        byte[] metadata = hex(c.get("metadata").asText());
        byte[] pt = hex(c.get("pt").asText());
        byte[] ct = hex(c.get("ct").asText());
        SFrameSender sender = new SFrameSender(suite, ctr);
        sender.setKey(KeyId.fromKid(kid), SecretBytes.copyOf(baseKey));
        assertArrayEquals(ct, sender.encrypt(metadata, pt), "encrypt " + suite);

        SFrameReceiver receiver = new SFrameReceiver(suite);
        receiver.addKey(KeyId.fromKid(kid), SecretBytes.copyOf(baseKey));
        byte[] out = new byte[ct.length];
        DecryptResult r = receiver.decrypt(metadata, 0, metadata.length, ct, 0, ct.length, out, 0);
        assertEquals(new DecryptResult.Decrypted(pt.length), r, "decrypt " + suite);
        assertArrayEquals(pt, Arrays.copyOf(out, pt.length));
        byte[] aad = hex(c.get("aad").asText());
        int h = SFrameHeader.encodedLength(kid, ctr);
        assertArrayEquals(aad, concat(Arrays.copyOf(ct, h), metadata), "aad = header ‖ metadata");
    }

    static byte[] concat(byte[] a, byte[] b) {
        byte[] r = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

}
