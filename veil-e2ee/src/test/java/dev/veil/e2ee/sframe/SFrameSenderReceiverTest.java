package dev.veil.e2ee.sframe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.veil.e2ee.codec.Codec;
import dev.veil.e2ee.codec.DecryptResult;
import dev.veil.e2ee.codec.FrameCryptoException;
import dev.veil.e2ee.codec.FrameType;
import dev.veil.e2ee.codec.FrameVectorFiles;
import dev.veil.e2ee.codec.Rejection;
import dev.veil.e2ee.key.KeyId;
import dev.veil.e2ee.util.SecretBytes;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class SFrameSenderReceiverTest {
    static final CipherSuite GCM = CipherSuite.AES_128_GCM_SHA256_128;
    static final SecretBytes BASE = SecretBytes.copyOf(FrameVectorFiles.bytes("sframe unit base", 32));

    static SFrameSender sender(CipherSuite suite, KeyId id) {
        SFrameSender s = new SFrameSender(suite);
        s.setKey(id, BASE);
        return s;
    }

    static SFrameReceiver receiver(CipherSuite suite, KeyId id) {
        SFrameReceiver r = new SFrameReceiver(suite);
        r.addKey(id, BASE);
        return r;
    }

    static DecryptResult decrypt(SFrameReceiver r, byte[] wire) {
        return decrypt(r, Codec.OPUS, wire);
    }

    static DecryptResult decrypt(SFrameReceiver r, Codec codec, byte[] wire) {
        return r.decryptFrame(codec, FrameType.UNSPECIFIED, wire, 0, wire.length, new byte[wire.length], 0);
    }

    @Test
    void roundTrip_everySuiteCodecAndSize_withOffsets() throws Exception {
        SplittableRandom rnd = new SplittableRandom(1);
        for (CipherSuite suite : CipherSuite.values()) {
            SFrameSender s = sender(suite, new KeyId(7, 3));
            SFrameReceiver r = receiver(suite, new KeyId(7, 3));
            for (Codec codec : Codec.values()) {
                for (FrameType type : FrameType.values()) {
                    for (int len = 0; len < 40; len++) {
                        byte[] frame = new byte[len + 5];
                        rnd.nextBytes(frame);
                        byte[] wire = new byte[s.maxEncryptedLength(len) + 9];
                        int w = s.encryptFrame(codec, type, frame, 5, len, wire, 9);
                        byte[] out = new byte[r.maxDecryptedLength(w) + 3];
                        int n = r.decryptFrameRaw(codec, type, wire, 9, w, out, 3);
                        assertEquals(len, n, suite + " " + codec + " " + type + " " + len);
                        assertArrayEquals(Arrays.copyOfRange(frame, 5, 5 + len), Arrays.copyOfRange(out, 3, 3 + len));
                    }
                }
            }
        }
    }

    /** Frames shorter than their prefix behind multi-byte headers: both readings fit, the short one authenticates. */
    @Test
    void shortFrames_bigKidAndCounter_roundTrip() throws Exception {
        SFrameSender s = new SFrameSender(GCM, 0x0102030405L);
        s.setKey(KeyId.fromKid(0x0a0b0c0d0e0fL), BASE);
        SFrameReceiver r = receiver(GCM, KeyId.fromKid(0x0a0b0c0d0e0fL));
        for (int len = 0; len < 12; len++) {
            for (Codec codec : Codec.values()) {
                byte[] frame = FrameVectorFiles.vp8KeyFrame(len, "short" + len);
                byte[] wire = s.encryptFrame(codec, FrameType.UNSPECIFIED, frame);
                byte[] out = new byte[r.maxDecryptedLength(wire.length)];
                assertEquals(new DecryptResult.Decrypted(len),
                        r.decryptFrame(codec, FrameType.UNSPECIFIED, wire, 0, wire.length, out, 0), codec + " " + len);
                assertArrayEquals(frame, Arrays.copyOf(out, len));
            }
        }
    }

    @Test
    void encrypt_noKey_throws() {
        SFrameSender s = new SFrameSender(GCM);
        assertThrows(FrameCryptoException.class, () -> s.encryptFrame(Codec.OPUS, FrameType.UNSPECIFIED, new byte[3]));
        assertThrows(FrameCryptoException.class, s::ratchet);
    }

    @Test
    void encrypt_counterExhausted_throwsAfterLastValue() throws Exception {
        SFrameSender s = new SFrameSender(GCM, -2L);
        s.setKey(new KeyId(0, 0), BASE);
        SFrameReceiver r = receiver(GCM, new KeyId(0, 0));
        byte[] a = s.encryptFrame(Codec.OPUS, FrameType.UNSPECIFIED, new byte[] {1, 2});
        byte[] b = s.encryptFrame(Codec.OPUS, FrameType.UNSPECIFIED, new byte[] {3, 4});
        assertEquals(new DecryptResult.Decrypted(2), decrypt(r, a));
        assertEquals(new DecryptResult.Decrypted(2), decrypt(r, b));
        FrameCryptoException e = assertThrows(FrameCryptoException.class,
                () -> s.encryptFrame(Codec.OPUS, FrameType.UNSPECIFIED, new byte[] {5}));
        assertTrue(e.getMessage().contains("exhausted"));
        s.setKey(new KeyId(1, 0), BASE);
        assertThrows(FrameCryptoException.class, () -> s.encryptFrame(Codec.OPUS, FrameType.UNSPECIFIED, new byte[1]),
                "a new key does not reset the counter");
    }

    @Test
    void setKey_doesNotResetCounter() throws Exception {
        SFrameSender s = sender(GCM, new KeyId(0, 0));
        s.encryptFrame(Codec.OPUS, FrameType.UNSPECIFIED, new byte[3]);
        s.setKey(new KeyId(1, 0), BASE);
        assertEquals(1, s.nextCounter());
    }

    @Test
    void encrypt_outputOverlapsInput_throws() {
        SFrameSender s = sender(GCM, new KeyId(0, 0));
        byte[] buf = new byte[100];
        assertThrows(IllegalArgumentException.class,
                () -> s.encryptFrame(Codec.OPUS, FrameType.UNSPECIFIED, buf, 0, 40, buf, 10));
        assertThrows(IllegalArgumentException.class,
                () -> s.encryptFrame(Codec.OPUS, FrameType.UNSPECIFIED, buf, 0, 40, new byte[50], 0));
    }

    @Test
    void decrypt_outputTooSmall_throws() throws Exception {
        byte[] wire = sender(GCM, new KeyId(0, 0)).encryptFrame(Codec.OPUS, FrameType.UNSPECIFIED, new byte[30]);
        SFrameReceiver r = receiver(GCM, new KeyId(0, 0));
        assertEquals(wire.length - 17, r.maxDecryptedLength(wire.length));
        assertThrows(IllegalArgumentException.class, () -> r.decryptFrame(Codec.OPUS, FrameType.UNSPECIFIED, wire, 0,
                wire.length, new byte[r.maxDecryptedLength(wire.length) - 1], 0));
    }

    @Test
    void decrypt_senderRatchetedAhead_receiverRatchetsAndInstallsAfterSuccess() throws Exception {
        SFrameSender s = sender(GCM, new KeyId(4, 0));
        SFrameReceiver r = receiver(GCM, new KeyId(4, 0));
        assertEquals(new KeyId(4, 1), s.ratchet());
        assertEquals(new KeyId(4, 2), s.ratchet());
        assertFalse(r.hasKey(new KeyId(4, 2)));
        byte[] f = s.encryptFrame(Codec.OPUS, FrameType.UNSPECIFIED, new byte[] {9, 9, 9});
        assertEquals(new DecryptResult.Decrypted(3), decrypt(r, f));
        assertTrue(r.hasKey(new KeyId(4, 2)));
        assertEquals(DecryptResult.Rejected.of(Rejection.REPLAY), decrypt(r, f), "window of the ratcheted key");
    }

    @Test
    void decrypt_forgedFrameForHigherStep_installsNothing() throws Exception {
        SFrameSender wrong = new SFrameSender(GCM);
        wrong.setKey(new KeyId(4, 5), SecretBytes.copyOf(new byte[32]));
        SFrameReceiver r = receiver(GCM, new KeyId(4, 0));
        byte[] f = wrong.encryptFrame(Codec.OPUS, FrameType.UNSPECIFIED, new byte[4]);
        assertEquals(DecryptResult.Rejected.of(Rejection.BAD_TAG), decrypt(r, f));
        assertFalse(r.hasKey(new KeyId(4, 5)));
    }

    @Test
    void keyRing_retiresOldestBeyondCapacity() throws Exception {
        SFrameReceiver r = new SFrameReceiver(GCM, 2);
        for (int g = 0; g < 3; g++) {
            r.addKey(new KeyId(g, 0), BASE);
        }
        byte[] old = sender(GCM, new KeyId(0, 0)).encryptFrame(Codec.OPUS, FrameType.UNSPECIFIED, new byte[2]);
        byte[] cur = sender(GCM, new KeyId(2, 0)).encryptFrame(Codec.OPUS, FrameType.UNSPECIFIED, new byte[2]);
        assertEquals(DecryptResult.Rejected.of(Rejection.NO_KEY), decrypt(r, old));
        assertEquals(new DecryptResult.Decrypted(2), decrypt(r, cur));
    }

    @Test
    void removeKey_thenNoKey() throws Exception {
        SFrameReceiver r = receiver(GCM, new KeyId(0, 0));
        byte[] f = sender(GCM, new KeyId(0, 0)).encryptFrame(Codec.OPUS, FrameType.UNSPECIFIED, new byte[2]);
        assertTrue(r.removeKey(new KeyId(0, 0)));
        assertEquals(DecryptResult.Rejected.of(Rejection.NO_KEY), decrypt(r, f));
    }

    @Test
    void decrypt_randomGarbageAndMutations_neverThrowNeverAccept() throws Exception {
        SplittableRandom rnd = new SplittableRandom(99);
        for (CipherSuite suite : CipherSuite.values()) {
            SFrameSender s = sender(suite, new KeyId(0, 0));
            SFrameReceiver r = receiver(suite, new KeyId(0, 0));
            for (int i = 0; i < 300; i++) {
                byte[] garbage = new byte[rnd.nextInt(0, 60)];
                rnd.nextBytes(garbage);
                if (garbage.length > 0 && rnd.nextBoolean()) {
                    garbage[0] = 0; // KID 0, CTR 0: reaches the AEAD
                }
                assertTrue(decrypt(r, Codec.VP8, garbage) instanceof DecryptResult.Rejected, "garbage accepted");
                byte[] f = s.encryptFrame(Codec.VP8, FrameType.UNSPECIFIED, FrameVectorFiles.vp8KeyFrame(30, "m" + i));
                byte[] m = f.clone();
                int mode = rnd.nextInt(3);
                if (mode == 0) {
                    m[rnd.nextInt(m.length)] ^= (byte) (1 << rnd.nextInt(8));
                } else if (mode == 1) {
                    m = Arrays.copyOf(m, rnd.nextInt(m.length));
                } else {
                    m = Arrays.copyOf(m, m.length + 1 + rnd.nextInt(5));
                }
                DecryptResult res = decrypt(r, Codec.VP8, m);
                assertTrue(res instanceof DecryptResult.Rejected, suite + " mutated frame accepted, mode " + mode);
            }
        }
    }

    @Test
    void toString_revealsNoKeyBytes() {
        SFrameSender s = sender(GCM, new KeyId(0, 0));
        assertFalse(s.toString().contains(FrameVectorFiles.hex(BASE.toByteArray()).substring(0, 8)));
        assertTrue(s.toString().contains("kid=0"));
    }

    @Test
    void rfcMode_metadataIsAuthenticated() throws Exception {
        SFrameSender s = sender(GCM, new KeyId(0, 0));
        SFrameReceiver r = receiver(GCM, new KeyId(0, 0));
        byte[] md = {1, 2, 3};
        byte[] ct = s.encrypt(md, new byte[] {4, 5});
        byte[] out = new byte[ct.length];
        assertEquals(DecryptResult.Rejected.of(Rejection.BAD_TAG),
                r.decrypt(new byte[] {1, 2, 4}, 0, 3, ct, 0, ct.length, out, 0));
        assertEquals(new DecryptResult.Decrypted(2), r.decrypt(md, 0, 3, ct, 0, ct.length, out, 0));
    }

    @Test
    void keyForAKidReachedByRatcheting_keepsItsReplayWindow_andExpiredKidsStayRefused() throws Exception {
        SFrameSender s = sender(GCM, new KeyId(4, 0));
        SFrameReceiver r = receiver(GCM, new KeyId(4, 0));
        s.ratchet();
        s.ratchet();                                            // (4, 2)
        byte[] f = s.encryptFrame(Codec.OPUS, FrameType.UNSPECIFIED, new byte[] {(byte) 0xfc, 1, 2});
        assertEquals(new DecryptResult.Decrypted(3), r.decryptFrame(Codec.OPUS, FrameType.UNSPECIFIED, f, 0,
                f.length, new byte[64], 0, 100));               // ratcheted to (4, 2) and installed
        // the sender's KEY for (4, 2) arrives afterwards (a refresh): the window must not be reset
        byte[] k2 = dev.veil.e2ee.key.KeyRatchet.VEIL.next(dev.veil.e2ee.key.KeyRatchet.VEIL.next(BASE.toByteArray()));
        assertTrue(r.addKey(new KeyId(4, 2), SecretBytes.copyOf(k2), 110));
        assertEquals(DecryptResult.Rejected.of(Rejection.REPLAY), r.decryptFrame(Codec.OPUS, FrameType.UNSPECIFIED,
                f, 0, f.length, new byte[64], 0, 120), "the frame seen before the install is still a replay");
        // (4, 0) expires 250 ms after (4, 2) authenticated; a KEY for it is then ignored
        assertTrue(r.hasKey(new KeyId(4, 0)), "still held 20 ms after");
        r.decryptFrame(Codec.OPUS, FrameType.UNSPECIFIED, f, 0, f.length, new byte[64], 0, 350);
        assertFalse(r.hasKey(new KeyId(4, 0)));
        assertTrue(r.isExpired(new KeyId(4, 0)));
        assertFalse(r.addKey(new KeyId(4, 0), BASE, 400), "an expired KID is never installed again");
        assertTrue(r.hasKey(new KeyId(4, 2)));
    }
}
