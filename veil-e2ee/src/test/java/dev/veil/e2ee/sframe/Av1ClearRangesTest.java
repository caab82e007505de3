package dev.veil.e2ee.sframe;

import static dev.veil.e2ee.codec.FrameVectorFiles.hex;
import static dev.veil.e2ee.codec.FrameVectorFiles.unhex;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.veil.e2ee.codec.Av1ClearRanges;
import dev.veil.e2ee.codec.Codec;
import dev.veil.e2ee.codec.DecryptResult;
import dev.veil.e2ee.codec.FrameType;
import dev.veil.e2ee.codec.FrameVectorFiles;
import dev.veil.e2ee.key.KeyId;
import dev.veil.e2ee.util.SecretBytes;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * The codec clear-range known answers of test-vectors/codec-clear-ranges.json (written by veil-js's
 * test-support/e2ee/gen-codec-vectors.mjs, read by veil-js's test/e2ee/codec-av1.test.mjs too): the clear prefixes of
 * VP8, Opus and whole-frame codecs, and the AV1 frames: the encrypted bytes, decryption of the depacketized form,
 * tampering. The AV1 cases (layout, clear ranges, the restored frame): {@link ClearRangeCasesTest}.
 */
class Av1ClearRangesTest {

    private static Codec codec(String name) {
        return switch (name) {
            case "vp8" -> Codec.VP8;
            case "opus" -> Codec.OPUS;
            case "none" -> Codec.NONE;
            default -> throw new IllegalArgumentException(name);
        };
    }

    @Test
    void prefixVectors_sameClearPrefixAsJs() throws Exception {
        JsonNode prefix = FrameVectorFiles.read("codec-clear-ranges.json").get("prefix");
        assertTrue(prefix.size() >= 8);
        for (JsonNode c : prefix) {
            byte[] frame = unhex(c.get("frame"));
            FrameType type = c.get("frame_type").isNull() ? FrameType.UNSPECIFIED
                    : FrameType.valueOf(c.get("frame_type").asText().toUpperCase(java.util.Locale.ROOT));
            assertEquals(c.get("clear_prefix").asInt(), codec(c.get("codec").asText())
                    .clearPrefixLength(frame, 0, frame.length, type), c.toString());
        }
    }

    @Test
    void av1Frames_encryptAndDecryptTheDepacketizedForm() throws Exception {
        for (JsonNode f : FrameVectorFiles.read("codec-clear-ranges.json").get("av1").get("frames")) {
            String name = f.get("name").asText();
            CipherSuite suite = CipherSuite.fromId(f.get("cipher_suite").asInt()).orElseThrow();
            KeyId id = KeyId.fromKid(Long.parseUnsignedLong(f.get("kid").asText()));
            byte[] base = unhex(f.get("base_key"));
            SFrameSender s = new SFrameSender(suite, Long.parseUnsignedLong(f.get("ctr").asText()));
            s.setKey(id, SecretBytes.copyOf(base));
            byte[] frame = unhex(f.get("frame"));
            assertEquals(f.get("encrypted").asText(), hex(s.encryptAv1(frame, 0, frame.length)), name);
            for (String form : new String[] {"received", "encrypted"}) {
                SFrameReceiver r = new SFrameReceiver(suite);
                r.addKey(id, SecretBytes.copyOf(base));
                byte[] in = unhex(f.get(form));
                byte[] out = new byte[in.length];
                DecryptResult d = r.decryptAv1(in, 0, in.length, out, 0, 0);
                DecryptResult.Decrypted ok = assertInstanceOf(DecryptResult.Decrypted.class, d, name + " " + form);
                assertEquals(f.get("decrypted").asText(), hex(Arrays.copyOf(out, ok.length())), name + " " + form);
            }
        }
    }

    @Test
    void av1Tampered_rejected() throws Exception {
        JsonNode f = FrameVectorFiles.read("codec-clear-ranges.json").get("av1").get("frames").get(0);
        byte[] rx = unhex(f.get("received"));
        KeyId id = KeyId.fromKid(Long.parseUnsignedLong(f.get("kid").asText()));
        for (int at : new int[] {0, 1, 3, 13, 20, rx.length - 20, rx.length - 2, rx.length - 1}) {
            SFrameReceiver r = new SFrameReceiver(CipherSuite.AES_128_GCM_SHA256_128);
            r.addKey(id, SecretBytes.copyOf(unhex(f.get("base_key"))));
            byte[] bad = rx.clone();
            bad[at] ^= 1;
            assertInstanceOf(DecryptResult.Rejected.class, r.decryptAv1(bad, 0, bad.length, new byte[bad.length + 8], 0, 0),
                "byte " + at);
        }
        assertNotNull(Av1ClearRanges.received(rx, 0, rx.length));
    }
}
