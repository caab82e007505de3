package dev.veil.e2ee.group;

import static dev.veil.e2ee.identity.VectorFiles.JSON;
import static dev.veil.e2ee.identity.VectorFiles.hex;
import static dev.veil.e2ee.identity.VectorFiles.unhex;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.veil.e2ee.identity.VectorFiles;
import dev.veil.e2ee.key.KeyId;
import dev.veil.e2ee.util.SecretBytes;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** keys-messages.json: KEY / KEY_ACK encodings and malformed key messages. */
class KeyMessageVectorsTest {
    static final String FILE = "keys-messages.json";

    static ObjectNode build() {
        ObjectNode root = JSON.createObjectNode();
        root.put("description", "Veil key messages (docs/PROTOCOL.md §3.4), the plaintext of a pairwise message."
                + " KEY = 0x01 ‖ flags (0x01 = ACTIVE) ‖ KID (uint64) ‖ base key (32); KEY_ACK = 0x02 ‖ 0x00 ‖"
                + " KID (uint64). KID = generation << 8 | step.");
        ArrayNode valid = root.putArray("valid");
        byte[] key = VectorFiles.seed("veil vector base key");
        addKey(valid, new KeyId(0, 0), key, true);
        addKey(valid, new KeyId(0, 1), key, true);
        addKey(valid, new KeyId(1, 0), key, false);
        addKey(valid, new KeyId(0x1234, 0xFF), key, true);
        addKey(valid, new KeyId(KeyId.MAX_GENERATION, KeyId.MAX_STEP), key, false);
        addAck(valid, new KeyId(1, 0));
        addAck(valid, new KeyId(KeyId.MAX_GENERATION, 7));
        ArrayNode invalid = root.putArray("malformed");
        byte[] good = new KeyMessage.Key(new KeyId(2, 3), SecretBytes.copyOf(key), false).encode();
        byte[] ack = new KeyMessage.KeyAck(new KeyId(2, 3)).encode();
        addBad(invalid, "empty", new byte[0]);
        addBad(invalid, "type only", new byte[] {1});
        addBad(invalid, "KEY one byte short", Arrays.copyOf(good, 41));
        addBad(invalid, "KEY one byte long", Arrays.copyOf(good, 43));
        byte[] flag = good.clone();
        flag[1] = 0x02;
        addBad(invalid, "KEY reserved flag bit", flag);
        flag = good.clone();
        flag[1] = (byte) 0x81;
        addBad(invalid, "KEY active and a reserved flag bit", flag);
        addBad(invalid, "KEY_ACK one byte short", Arrays.copyOf(ack, 9));
        addBad(invalid, "KEY_ACK with a base key", Arrays.copyOf(ack, 42));
        byte[] ackFlag = ack.clone();
        ackFlag[1] = 1;
        addBad(invalid, "KEY_ACK with a flag", ackFlag);
        byte[] type0 = good.clone();
        type0[0] = 0;
        addBad(invalid, "type 0", type0);
        byte[] type3 = ack.clone();
        type3[0] = 3;
        addBad(invalid, "type 3", type3);
        return root;
    }

    private static void addKey(ArrayNode a, KeyId id, byte[] key, boolean active) {
        ObjectNode n = a.addObject();
        n.put("type", "KEY");
        n.put("generation", id.generation());
        n.put("step", id.step());
        n.put("kid", Long.toUnsignedString(id.toKid()));
        n.put("active", active);
        n.put("base_key", hex(key));
        n.put("bytes", hex(new KeyMessage.Key(id, SecretBytes.copyOf(key), active).encode()));
    }

    private static void addAck(ArrayNode a, KeyId id) {
        ObjectNode n = a.addObject();
        n.put("type", "KEY_ACK");
        n.put("generation", id.generation());
        n.put("step", id.step());
        n.put("kid", Long.toUnsignedString(id.toKid()));
        n.put("bytes", hex(new KeyMessage.KeyAck(id).encode()));
    }

    private static void addBad(ArrayNode a, String description, byte[] bytes) {
        ObjectNode n = a.addObject();
        n.put("description", description);
        n.put("bytes", hex(bytes));
    }

    @Test
    void vectors_matchImplementation() throws Exception {
        JsonNode file = VectorFiles.sync(FILE, build());
        assertEquals(VectorFiles.normalized(build()), file, FILE + " is stale: run with -Dveil.vectors.write=true");
        for (JsonNode n : file.get("valid")) {
            byte[] bytes = unhex(n.get("bytes"));
            KeyMessage m = KeyMessage.decode(bytes);
            KeyId id = new KeyId(n.get("generation").asLong(), n.get("step").asInt());
            assertEquals(id, m.keyId());
            assertEquals(Long.parseUnsignedLong(n.get("kid").asText()), m.keyId().toKid());
            if (n.get("type").asText().equals("KEY")) {
                KeyMessage.Key k = (KeyMessage.Key) m;
                assertEquals(n.get("active").asBoolean(), k.active());
                assertArrayEquals(unhex(n.get("base_key")), k.baseKey().toByteArray());
            } else {
                assertTrue(m instanceof KeyMessage.KeyAck);
            }
            assertArrayEquals(bytes, m.encode());
        }
        int bad = 0;
        for (JsonNode n : file.get("malformed")) {
            assertThrows(KeyMessageException.class, () -> KeyMessage.decode(unhex(n.get("bytes"))),
                    n.get("description").asText());
            bad++;
        }
        assertEquals(11, bad);
    }
}
