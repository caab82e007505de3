package dev.veil.e2ee.passphrase;

import static dev.veil.e2ee.codec.FrameVectorFiles.unhex;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import dev.veil.e2ee.codec.FrameVectorFiles;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;
import org.junit.jupiter.api.Test;

/** test-vectors/frames-passphrase.json, cross-checked against the JDK's own PBKDF2WithHmacSHA256. */
class PassphraseVectorsTest {

    @Test
    void framesPassphrase_everyCaseMatches() throws Exception {
        JsonNode root = FrameVectorFiles.read("frames-passphrase.json");
        for (JsonNode c : root.get("cases")) {
            String pass = c.get("passphrase").asText();
            String room = c.get("room").asText();
            String pid = c.get("participant_id").asText();
            assertEquals(PassphraseKeys.ITERATIONS, c.get("iterations").asInt());
            byte[] salt = unhex(c.get("salt"));
            byte[] expect = (room + "\0" + pid).getBytes(StandardCharsets.UTF_8);
            assertArrayEquals(expect, salt);
            assertArrayEquals(salt, PassphraseKeys.salt(room, pid));
            byte[] key = unhex(c.get("key"));
            assertArrayEquals(key, PassphraseKeys.deriveSenderKey(pass, room, pid).toByteArray());
            // The JDK's PBKDF2 turns the password chars into UTF-8 bytes, as WebCrypto callers do.
            SecretKeyFactory f = SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256");
            byte[] jdk = f.generateSecret(new PBEKeySpec(pass.toCharArray(), salt, PassphraseKeys.ITERATIONS, 128))
                    .getEncoded();
            assertArrayEquals(key, jdk, "JDK PBKDF2 for " + pass);
        }
    }

    @Test
    void deriveSenderKey_separatorKeepsRoomAndParticipantApart() {
        byte[] a = PassphraseKeys.deriveSenderKey("x", "room", "x1").toByteArray();
        byte[] b = PassphraseKeys.deriveSenderKey("x", "roomx", "1").toByteArray();
        assertFalse(Arrays.equals(a, b));
    }

    @Test
    void pbkdf2_rfc7914Vector() {
        // RFC 7914 section 11: PBKDF2-HMAC-SHA256, P = "passwd", S = "salt", c = 1, dkLen = 64.
        byte[] dk = PassphraseKeys.pbkdf2Sha256("passwd".getBytes(StandardCharsets.US_ASCII),
                "salt".getBytes(StandardCharsets.US_ASCII), 1, 64);
        assertArrayEquals(HexFormat.of().parseHex("55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
                + "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783"), dk);
    }

    @Test
    void deriveSenderKey_emptyPassphrase_throws() {
        assertThrows(IllegalArgumentException.class, () -> PassphraseKeys.deriveSenderKey("", "r", "p"));
    }
}
