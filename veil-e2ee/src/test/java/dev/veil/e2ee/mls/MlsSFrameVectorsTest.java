package dev.veil.e2ee.mls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.veil.e2ee.codec.FrameVectorFiles;
import org.junit.jupiter.api.Test;

/**
 * test-vectors/mls-sframe.json (written by veil-js/test-support/e2ee/gen-mls-vectors.mjs, also read by
 * veil-js/test/e2ee/mls-kid.test.mjs): the browser and Java compute S, the RFC 9605 §5.2 KIDs and the verification
 * code of an epoch authenticator alike.
 */
class MlsSFrameVectorsTest {
    @Test
    void browserAndJavaAgreeOnIndexBitsKidsAndCodes() throws Exception {
        JsonNode v = FrameVectorFiles.read("mls-sframe.json");
        int n = 0;
        for (JsonNode c : v.get("index_bits")) {
            assertEquals(c.get("index_bits").asInt(), MlsKid.indexBits(c.get("group_size").asLong()), c.toString());
            n++;
        }
        for (JsonNode c : v.get("kids")) {
            long kid = MlsKid.kid(c.get("context").asLong(), c.get("sender_index").asLong(), c.get("epoch").asLong(),
                    c.get("index_bits").asInt(), c.get("epoch_bits").asInt());
            assertEquals(Long.parseUnsignedLong(c.get("kid").asText()), kid, c.toString());
            n++;
        }
        for (JsonNode c : v.get("codes")) {
            assertEquals(c.get("code").asText(),
                    MlsVerificationCode.of(FrameVectorFiles.unhex(c.get("epoch_authenticator"))), c.toString());
            n++;
        }
        assertTrue(n >= 30, "cases checked: " + n);
    }
}
