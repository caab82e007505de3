package dev.veil.e2ee.sframe;

import static dev.veil.e2ee.codec.FrameVectorFiles.hex;
import static dev.veil.e2ee.codec.FrameVectorFiles.unhex;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.veil.e2ee.codec.ClearRanges;
import dev.veil.e2ee.codec.DecryptResult;
import dev.veil.e2ee.codec.FrameVectorFiles;
import dev.veil.e2ee.codec.H264ClearRanges;
import dev.veil.e2ee.key.KeyId;
import dev.veil.e2ee.util.SecretBytes;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * H.264 per-NAL clear ranges against test-vectors/codec-h264.json (written by veil-js's
 * test-support/e2ee/gen-codec-vectors.mjs): the same encrypted bytes (including the
 * retry on an emulated start code), decryption back to the layout, tampering, and a seeded round-trip run. The
 * layout and ranges of the cases: {@link ClearRangeCasesTest}.
 */
class H264ClearRangesTest {

    @Test
    void vectorFrames_encryptAndDecrypt() throws Exception {
        JsonNode frames = FrameVectorFiles.read("codec-h264.json").get("frames");
        boolean retried = false;
        for (JsonNode f : frames) {
            String name = f.get("name").asText();
            CipherSuite suite = CipherSuite.fromId(f.get("cipher_suite").asInt()).orElseThrow();
            KeyId id = KeyId.fromKid(Long.parseUnsignedLong(f.get("kid").asText()));
            byte[] base = unhex(f.get("base_key"));
            SFrameSender s = new SFrameSender(suite, Long.parseUnsignedLong(f.get("first_ctr").asText()));
            s.setKey(id, SecretBytes.copyOf(base));
            byte[] frame = unhex(f.get("frame"));
            byte[] out = s.encryptH264(frame, 0, frame.length);
            assertEquals(f.get("encrypted").asText(), hex(out), name);
            assertEquals(Long.parseUnsignedLong(f.get("ctr").asText()) + 1, s.nextCounter(), name);
            retried |= f.get("attempts").asInt() > 1;
            SFrameReceiver r = new SFrameReceiver(suite);
            r.addKey(id, SecretBytes.copyOf(base));
            byte[] back = new byte[out.length];
            DecryptResult d = r.decryptRanged(out, 0, out.length, back, 0, 0);
            byte[] layout = H264ClearRanges.layout(frame, 0, frame.length).frame();
            assertEquals(new DecryptResult.Decrypted(layout.length), d, name);
            assertArrayEquals(layout, java.util.Arrays.copyOf(back, layout.length), name);
        }
        assertTrue(retried, "a vector shows the retry under the next CTR");
    }

    @Test
    void tamperedClearByteOrTrailer_rejected() throws Exception {
        JsonNode f = FrameVectorFiles.read("codec-h264.json").get("frames").get(0);
        byte[] enc = unhex(f.get("encrypted"));
        KeyId id = KeyId.fromKid(Long.parseUnsignedLong(f.get("kid").asText()));
        for (int at : new int[] {4, 5, 20, enc.length - 10, enc.length - 1}) {
            SFrameReceiver r = new SFrameReceiver(CipherSuite.AES_128_GCM_SHA256_128);
            r.addKey(id, SecretBytes.copyOf(unhex(f.get("base_key"))));
            byte[] bad = enc.clone();
            bad[at] ^= 1;
            assertInstanceOf(DecryptResult.Rejected.class, r.decryptRanged(bad, 0, bad.length, new byte[bad.length], 0, 0),
                "byte " + at);
        }
    }

    @Test
    void seededFrames_roundTrip_noEmulatedStartCode() throws Exception {
        Random rnd = new Random(20261203);
        KeyId id = KeyId.fromKid(9);
        SFrameSender s = new SFrameSender(CipherSuite.AES_128_GCM_SHA256_128);
        s.setKey(id, SecretBytes.copyOf(new byte[16]));
        SFrameReceiver r = new SFrameReceiver(CipherSuite.AES_128_GCM_SHA256_128);
        r.addKey(id, SecretBytes.copyOf(new byte[16]));
        for (int n = 0; n < 200; n++) {
            java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
            int units = 1 + rnd.nextInt(5);
            for (int u = 0; u < units; u++) {
                b.write(0);
                b.write(0);
                b.write(1);
                b.write(0x60 | new int[] {1, 5, 6, 7, 8, 9}[rnd.nextInt(6)]);
                int len = 1 + rnd.nextInt(1500);
                int prev = 1;
                for (int i = 0; i < len; i++) {
                    int v = rnd.nextInt(256);
                    if (v == 0 && prev == 0) {
                        v = 0x80;
                    }
                    b.write(v);
                    prev = v;
                }
                b.write(0x80);
            }
            byte[] frame = b.toByteArray();
            H264ClearRanges.Layout l = H264ClearRanges.layout(frame, 0, frame.length);
            byte[] out = s.encryptH264(frame, 0, frame.length);
            assertTrue(!ClearRanges.hasEmulatedStartCode(out, l.ranges()), "frame " + n);
            byte[] back = new byte[out.length];
            assertEquals(new DecryptResult.Decrypted(l.frame().length), r.decryptRanged(out, 0, out.length, back, 0, 0));
            assertArrayEquals(l.frame(), java.util.Arrays.copyOf(back, l.frame().length), "frame " + n);
        }
    }
}
