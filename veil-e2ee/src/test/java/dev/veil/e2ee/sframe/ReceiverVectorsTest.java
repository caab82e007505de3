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
import dev.veil.e2ee.jframe.JFrameReceiver;
import dev.veil.e2ee.key.KeyId;
import dev.veil.e2ee.util.SecretBytes;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Checks test-vectors/frames-receiver.json: a fresh receiver per scenario, steps in order, expected outcomes. */
class ReceiverVectorsTest {

    @Test
    void framesReceiver_everyScenarioStepMatches() throws Exception {
        JsonNode root = FrameVectorFiles.read(FrameVectorsGenerator.RECEIVER);
        Set<dev.veil.e2ee.codec.Rejection> seen = EnumSet.noneOf(dev.veil.e2ee.codec.Rejection.class);
        for (JsonNode sc : root.get("scenarios")) {
            String name = sc.get("name").asText();
            boolean sframe = sc.get("format").asText().equals("sframe");
            SFrameReceiver sr = null;
            JFrameReceiver jr = null;
            if (sframe) {
                sr = new SFrameReceiver(CipherSuite.fromId(sc.get("cipher_suite").asInt()).orElseThrow());
                for (JsonNode k : sc.get("keys")) {
                    sr.addKey(KeyId.fromKid(Long.parseUnsignedLong(k.get("kid").asText())),
                            SecretBytes.copyOf(unhex(k.get("base_key"))));
                }
            } else {
                jr = new JFrameReceiver();
                for (JsonNode k : sc.get("keys")) {
                    if (k.has("raw_key")) {
                        jr.setRawKey(k.get("key_index").asInt(), SecretBytes.copyOf(unhex(k.get("raw_key"))));
                    } else {
                        jr.setKey(k.get("key_index").asInt(), SecretBytes.copyOf(unhex(k.get("material"))));
                    }
                }
            }
            long at = 0;
            for (JsonNode st : sc.get("steps")) {
                String what = name + " / " + st.get("note").asText();
                at = st.has("at_ms") ? st.get("at_ms").asLong() : at;
                if (st.has("install")) {
                    sr.addKey(KeyId.fromKid(Long.parseUnsignedLong(st.get("install").get("kid").asText())),
                            SecretBytes.copyOf(unhex(st.get("install").get("base_key"))), at);
                    continue;
                }
                Codec codec = Codec.valueOf(st.get("codec").asText());
                FrameType type = FrameType.valueOf(st.get("frame_type").asText());
                byte[] in = unhex(st.get("input"));
                byte[] out = new byte[in.length];
                DecryptResult r = sframe
                        ? sr.decryptFrame(codec, type, in, 0, in.length, out, 0, at)
                        : jr.decrypt(codec, type, in, 0, in.length, out, 0, at);
                String expect = st.get("expect").asText();
                if (expect.equals("OK")) {
                    byte[] want = unhex(st.get("output"));
                    assertEquals(new DecryptResult.Decrypted(want.length), r, what);
                    assertArrayEquals(want, Arrays.copyOf(out, want.length), what);
                } else {
                    dev.veil.e2ee.codec.Rejection reason = dev.veil.e2ee.codec.Rejection.valueOf(expect);
                    assertEquals(DecryptResult.Rejected.of(reason), r, what);
                    seen.add(reason);
                }
            }
        }
        assertTrue(seen.containsAll(EnumSet.allOf(dev.veil.e2ee.codec.Rejection.class)),
                "the scenarios exercise every rejection reason, saw " + seen);
    }
}
