package dev.veil.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.veil.e2ee.codec.FrameCryptoException;
import dev.veil.e2ee.key.KeyId;
import dev.veil.e2ee.key.KeyRatchet;
import dev.veil.e2ee.sframe.CipherSuite;
import dev.veil.e2ee.sframe.SFrameSender;
import dev.veil.e2ee.util.SecretBytes;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Data-message encryption in memory (docs/PROTOCOL.md §1.7): round trip, tampering, re-addressing, replay, ratchet. */
class DataCryptoTest {
    private static final String ALICE = "AAAAAAAAAAAAAAAAAAAAAAAAAA";
    private static final String BOB = "BBBBBBBBBBBBBBBBBBBBBBBBBB";
    private static final String CAROL = "CCCCCCCCCCCCCCCCCCCCCCCCCC";

    private static byte[] base(long seed) {
        byte[] b = new byte[32];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static DataCrypto[] pair(KeyId id, byte[] base) {
        DataCrypto alice = new DataCrypto();
        DataCrypto bob = new DataCrypto();
        alice.setSendKey(id, SecretBytes.copyOf(base));
        bob.installKey(ALICE, id, SecretBytes.copyOf(base), 0);
        return new DataCrypto[] {alice, bob};
    }

    @Test
    void roundTrip_broadcastAndDirect_textAndBytes() throws Exception {
        DataCrypto[] p = pair(new KeyId(7, 0), base(1));
        byte[] sealed = p[0].seal(null, DataCrypto.KIND_TEXT, "hello".getBytes(StandardCharsets.UTF_8));
        DataCrypto.Opened o = assertInstanceOf(DataCrypto.Opened.class, p[1].open(ALICE, null, sealed, 10));
        assertEquals(DataCrypto.KIND_TEXT, o.kind());
        assertEquals("hello", new String(o.body(), StandardCharsets.UTF_8));
        byte[] direct = p[0].seal(BOB, DataCrypto.KIND_BYTES, new byte[] {0, 1, 2});
        o = assertInstanceOf(DataCrypto.Opened.class, p[1].open(ALICE, BOB, direct, 11));
        assertEquals(DataCrypto.KIND_BYTES, o.kind());
        assertArrayEquals(new byte[] {0, 1, 2}, o.body());
        // the plaintext is nowhere in what the server relays
        assertFalse(new String(sealed, StandardCharsets.ISO_8859_1).contains("hello"));
    }

    @Test
    void everyFlippedByte_isDropped_andReAddressingOrReattributingFails() throws Exception {
        DataCrypto[] p = pair(new KeyId(7, 0), base(2));
        byte[] sealed = p[0].seal(BOB, DataCrypto.KIND_TEXT, "secret plan".getBytes(StandardCharsets.UTF_8));
        for (int i = 0; i < sealed.length; i++) {
            byte[] t = sealed.clone();
            t[i] ^= 0x01;
            assertInstanceOf(String.class, p[1].open(ALICE, BOB, t, 10), "flipped byte " + i);
        }
        assertEquals("BAD_TAG", p[1].open(ALICE, CAROL, sealed, 10), "a direct message re-addressed to carol");
        assertEquals("BAD_TAG", p[1].open(ALICE, null, sealed, 10), "a direct message turned into a broadcast");
        assertEquals("NO_KEY", p[1].open(CAROL, BOB, sealed, 10), "attributed to a sender without keys");
        assertInstanceOf(DataCrypto.Opened.class, p[1].open(ALICE, BOB, sealed, 10));
        assertEquals("REPLAY", p[1].open(ALICE, BOB, sealed, 11), "a replayed message");
    }

    @Test
    void dataAndMediaUnderTheSameKidAndCounter_useIndependentKeysAndNonces() throws Exception {
        KeyId id = new KeyId(3, 0);
        byte[] b = base(3);
        SFrameSender media = new SFrameSender(CipherSuite.AES_128_GCM_SHA256_128);
        media.setKey(id, SecretBytes.copyOf(b));
        DataCrypto data = new DataCrypto();
        data.setSendKey(id, SecretBytes.copyOf(b));
        byte[] zeros = new byte[64];
        byte[] m = media.encrypt(DataCrypto.metadata(null), zeros);
        byte[] d = data.seal(null, DataCrypto.KIND_BYTES, Arrays.copyOf(zeros, 63));
        // same header (KID 3/0, CTR 0), yet unrelated keystreams over the same all-zero plaintext
        int h = 3; // past the header (at most 3 bytes for KID 3, CTR 0)
        assertEquals(m[0], d[0], "same header");
        int same = 0;
        for (int i = h; i < 40; i++) {
            same += m[i] == d[i] ? 1 : 0;
        }
        assertFalse(same > 8, "media and data keystreams must be unrelated, " + same + " equal bytes");
    }

    @Test
    void receiverRatchetsToTheSendersNextStep_andNoKeyMeansNoSend() throws Exception {
        byte[] b0 = base(4);
        DataCrypto[] p = pair(new KeyId(9, 0), b0);
        p[0].setSendKey(new KeyId(9, 1), SecretBytes.copyOf(KeyRatchet.VEIL.next(b0)));
        byte[] sealed = p[0].seal(null, DataCrypto.KIND_TEXT, "after a join".getBytes(StandardCharsets.UTF_8));
        assertInstanceOf(DataCrypto.Opened.class, p[1].open(ALICE, null, sealed, 10));
        assertThrows(FrameCryptoException.class, () -> new DataCrypto().seal(null, DataCrypto.KIND_TEXT, new byte[1]));
        p[1].forget(ALICE, 20, 20);
        byte[] later = p[0].seal(null, DataCrypto.KIND_TEXT, new byte[1]);
        assertEquals("NO_KEY", p[1].open(ALICE, null, later, 30), "a departed sender's keys are gone");
    }
}
