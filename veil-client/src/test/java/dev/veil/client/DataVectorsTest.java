package dev.veil.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.veil.e2ee.key.KeyId;
import dev.veil.e2ee.util.SecretBytes;
import java.nio.file.Path;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/**
 * E2EE data messages against test-vectors/data-messages.json (written by veil-js's
 * test-support/e2ee/gen-data-vectors.mjs, read by its test/e2ee/data-vectors.test.mjs too): sealing the same messages
 * in order gives the same payloads, each opens to its kind and body, and a re-addressed one fails to authenticate.
 */
class DataVectorsTest {
    private static final HexFormat HEX = HexFormat.of();

    private static JsonNode vectors() throws Exception {
        String dir = System.getProperty("veil.testVectors", "../test-vectors");
        return new ObjectMapper().readTree(Path.of(dir, "data-messages.json").toFile());
    }

    private static String to(JsonNode m) {
        return m.get("to").isNull() ? null : m.get("to").asText();
    }

    @Test
    void seal_inOrder_givesTheKnownPayloads() throws Exception {
        JsonNode v = vectors();
        assertEquals(DataCrypto.SUITE.id(), v.get("cipher_suite").asInt());
        DataCrypto d = new DataCrypto();
        d.setSendKey(KeyId.fromKid(Long.parseUnsignedLong(v.get("kid").asText())),
            SecretBytes.copyOf(HEX.parseHex(v.get("base_key").asText())));
        assertTrue(v.get("messages").size() >= 5);
        for (JsonNode m : v.get("messages")) {
            byte[] sealed = d.seal(to(m), (byte) m.get("kind").asInt(), HEX.parseHex(m.get("body").asText()));
            assertEquals(m.get("payload").asText(), HEX.formatHex(sealed), m.get("name").asText());
        }
    }

    @Test
    void open_everyPayload_andReAddressedFails() throws Exception {
        JsonNode v = vectors();
        String from = v.get("from").asText();
        DataCrypto d = new DataCrypto();
        d.installKey(from, KeyId.fromKid(Long.parseUnsignedLong(v.get("kid").asText())),
            SecretBytes.copyOf(HEX.parseHex(v.get("base_key").asText())), 0);
        for (JsonNode m : v.get("messages")) {
            String name = m.get("name").asText();
            byte[] payload = HEX.parseHex(m.get("payload").asText());
            String other = to(m) == null ? v.get("other_addressee").asText() : null;
            assertEquals("BAD_TAG", d.open(from, other, payload, 0), name + ": re-addressed");
            DataCrypto.Opened o = assertInstanceOf(DataCrypto.Opened.class, d.open(from, to(m), payload, 0), name);
            assertEquals(m.get("kind").asInt(), o.kind(), name);
            assertEquals(m.get("body").asText(), HEX.formatHex(o.body()), name);
        }
    }
}
