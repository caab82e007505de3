package dev.veil.e2ee.jframe;

import static dev.veil.e2ee.codec.FrameVectorFiles.unhex;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.veil.e2ee.codec.Codec;
import dev.veil.e2ee.codec.DecryptResult;
import dev.veil.e2ee.codec.FrameType;
import dev.veil.e2ee.codec.FrameVectorFiles;
import dev.veil.e2ee.util.SecretBytes;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.random.RandomGenerator;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;

/** Checks test-vectors/frames-jframe.json: outputs recomputed by the sender and, independently, by plain JCE. */
class JFrameVectorsTest {

    static RandomGenerator fixedCount(int value) {
        return new RandomGenerator() {
            @Override
            public long nextLong() {
                throw new UnsupportedOperationException();
            }

            @Override
            public int nextInt(int bound) {
                assertEquals(0xFFFF, bound, "initial count drawn from [0, 65534]");
                return value;
            }
        };
    }

    @Test
    void framesJframe_everyCaseMatches() throws Exception {
        JsonNode root = FrameVectorFiles.read("frames-jframe.json");
        int n = 0;
        for (JsonNode c : root.get("cases")) {
            check(c);
            n++;
        }
        assertTrue(n >= 10);
    }

    @Test
    void framesJframe_counterSequenceWrapsModulo65535() throws Exception {
        JsonNode seq = FrameVectorFiles.read("frames-jframe.json").get("counter_sequence");
        JFrameSender s = new JFrameSender(fixedCount(seq.get("initial_count").asInt()));
        s.setKey(0, SecretBytes.copyOf(new byte[32]));
        for (JsonNode expected : seq.get("send_counts")) {
            byte[] enc = s.encrypt(Codec.OPUS, FrameType.UNSPECIFIED, 42, 0, new byte[3]);
            assertEquals(expected.asInt(), JFrameReceiver.getInt(enc, enc.length - 6));
        }
    }

    private static void check(JsonNode c) throws Exception {
        String name = c.get("name").asText();
        boolean raw = c.get("key_mode").asText().equals("raw");
        byte[] aesKey = unhex(c.get("aes_key"));
        if (raw) {
            assertArrayEquals(unhex(c.get("raw_key")), aesKey, name);
        } else {
            assertArrayEquals(aesKey, JFrameKeys.frameKey(unhex(c.get("material"))), name);
        }
        int keyIndex = c.get("key_index").asInt();
        long ssrc = c.get("ssrc").asLong();
        long ts = c.get("rtp_timestamp").asLong();
        int count = c.get("send_count").asInt();
        byte[] iv = ByteBuffer.allocate(12).putInt((int) ssrc).putInt((int) ts).putInt(count).array();
        assertArrayEquals(unhex(c.get("iv")), iv, name);
        Codec codec = Codec.valueOf(c.get("codec").asText());
        FrameType type = FrameType.valueOf(c.get("frame_type").asText());
        byte[] frame = unhex(c.get("frame"));
        int p = c.get("clear_prefix_length").asInt();
        assertEquals(p, codec.clearPrefixLength(frame, 0, frame.length, type), name);
        byte[] encrypted = unhex(c.get("encrypted"));

        // Independent construction with plain JCE, following the byte layout.
        Cipher gcm = Cipher.getInstance("AES/GCM/NoPadding");
        gcm.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(aesKey, "AES"), new GCMParameterSpec(128, iv));
        gcm.updateAAD(frame, 0, p);
        byte[] ct = gcm.doFinal(frame, p, frame.length - p);
        ByteBuffer expect = ByteBuffer.allocate(frame.length + 30);
        expect.put(frame, 0, p).put(ct).put(iv).put((byte) 12).put((byte) c.get("key_index_byte").asInt());
        assertArrayEquals(expect.array(), encrypted, name + " (JCE)");
        assertEquals(keyIndex % 16, c.get("key_index_byte").asInt(), name);

        JFrameSender s = new JFrameSender(fixedCount(count));
        JFrameReceiver r = new JFrameReceiver();
        if (raw) {
            s.setRawKey(keyIndex, SecretBytes.copyOf(aesKey));
            r.setRawKey(keyIndex, SecretBytes.copyOf(aesKey));
        } else {
            s.setKey(keyIndex, SecretBytes.copyOf(unhex(c.get("material"))));
            r.setKey(keyIndex, SecretBytes.copyOf(unhex(c.get("material"))));
        }
        assertArrayEquals(encrypted, s.encrypt(codec, type, (int) ssrc, (int) ts, frame), name);
        byte[] out = new byte[encrypted.length];
        assertEquals(new DecryptResult.Decrypted(frame.length),
                r.decrypt(codec, type, encrypted, 0, encrypted.length, out, 0), name);
        assertArrayEquals(frame, Arrays.copyOf(out, frame.length), name);
    }
}
