package dev.veil.e2ee.sframe;

import static dev.veil.e2ee.codec.FrameVectorFiles.unhex;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.veil.e2ee.codec.Codec;
import dev.veil.e2ee.codec.DecryptResult;
import dev.veil.e2ee.codec.FrameType;
import dev.veil.e2ee.codec.FrameVectorFiles;
import dev.veil.e2ee.key.KeyId;
import dev.veil.e2ee.util.SecretBytes;
import java.util.Arrays;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;

/** Checks test-vectors/frames-sframe.json: every output is recomputed from the inputs. */
class SFrameVectorsTest {

    @Test
    void framesSframe_everyCaseMatches() throws Exception {
        JsonNode root = FrameVectorFiles.read(FrameVectorsGenerator.SFRAME);
        int n = 0;
        for (JsonNode c : root.get("cases")) {
            check(c);
            n++;
        }
        assertTrue(n >= 15, "expected the full case list, got " + n);
    }

    private static void check(JsonNode c) throws Exception {
        String name = c.get("name").asText();
        CipherSuite suite = CipherSuite.fromId(c.get("cipher_suite").asInt()).orElseThrow();
        byte[] base = unhex(c.get("base_key"));
        long kid = Long.parseUnsignedLong(c.get("kid").asText());
        long ctr = Long.parseUnsignedLong(c.get("ctr").asText());
        KeyId id = new KeyId(Long.parseUnsignedLong(c.get("generation").asText()), c.get("step").asInt());
        assertEquals(kid, id.toKid(), name);
        byte[][] ks = SFrameKeySchedule.derive(suite, kid, base);
        assertArrayEquals(unhex(c.get("sframe_key")), ks[0], name);
        assertArrayEquals(unhex(c.get("sframe_salt")), ks[1], name);
        byte[] nonce = unhex(c.get("nonce"));
        assertArrayEquals(nonce, new SFrameAead(suite).nonceFor(SFrameKey.derive(suite, kid, base), ctr), name);
        byte[] header = unhex(c.get("header"));
        assertArrayEquals(header, new SFrameHeader(kid, ctr).toBytes(), name);
        byte[] encrypted = unhex(c.get("encrypted"));
        SFrameSender sender = new SFrameSender(suite, ctr);
        sender.setKey(id, SecretBytes.copyOf(base));
        SFrameReceiver receiver = new SFrameReceiver(suite);
        receiver.addKey(id, SecretBytes.copyOf(base));
        byte[] out = new byte[encrypted.length];
        byte[] aad = unhex(c.get("aad"));
        if (c.get("framing").asText().equals("media")) {
            Codec codec = Codec.valueOf(c.get("codec").asText());
            FrameType type = FrameType.valueOf(c.get("frame_type").asText());
            byte[] frame = unhex(c.get("frame"));
            int p = c.get("clear_prefix_length").asInt();
            assertEquals(p, codec.clearPrefixLength(frame, 0, frame.length, type), name);
            assertArrayEquals(Rfc9605VectorsTest.concat(header, Arrays.copyOf(frame, p)), aad, name);
            assertArrayEquals(encrypted, sender.encryptFrame(codec, type, frame), name);
            // Independent of SFrameAead for the GCM suites: plain JCE over the vector's own key, nonce and AAD.
            if (suite.isGcm()) {
                byte[] body = Arrays.copyOfRange(frame, p, frame.length);
                byte[] expectCt = jceGcm(ks[0], nonce, aad, body);
                assertArrayEquals(Rfc9605VectorsTest.concat(Rfc9605VectorsTest.concat(Arrays.copyOf(frame, p), header),
                        expectCt), encrypted, name + " (JCE)");
            }
            DecryptResult r = receiver.decryptFrame(codec, FrameType.UNSPECIFIED.equals(type) ? type : type,
                    encrypted, 0, encrypted.length, out, 0);
            assertEquals(new DecryptResult.Decrypted(frame.length), r, name);
            assertArrayEquals(frame, Arrays.copyOf(out, frame.length), name);
        } else {
            byte[] md = unhex(c.get("metadata"));
            byte[] pt = unhex(c.get("plaintext"));
            assertArrayEquals(Rfc9605VectorsTest.concat(header, md), aad, name);
            assertArrayEquals(encrypted, sender.encrypt(md, pt), name);
            if (suite.isGcm()) {
                assertArrayEquals(Rfc9605VectorsTest.concat(header, jceGcm(ks[0], nonce, aad, pt)), encrypted,
                        name + " (JCE)");
            }
            DecryptResult r = receiver.decrypt(md, 0, md.length, encrypted, 0, encrypted.length, out, 0);
            assertEquals(new DecryptResult.Decrypted(pt.length), r, name);
            assertArrayEquals(pt, Arrays.copyOf(out, pt.length), name);
        }
    }

    static byte[] jceGcm(byte[] key, byte[] nonce, byte[] aad, byte[] pt) throws Exception {
        Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
        c.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key, "AES"), new GCMParameterSpec(128, nonce));
        c.updateAAD(aad);
        return c.doFinal(pt);
    }
}
