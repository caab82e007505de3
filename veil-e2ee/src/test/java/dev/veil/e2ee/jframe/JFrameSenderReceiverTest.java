package dev.veil.e2ee.jframe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.veil.e2ee.codec.Codec;
import dev.veil.e2ee.codec.DecryptResult;
import dev.veil.e2ee.codec.FrameCryptoException;
import dev.veil.e2ee.codec.FrameType;
import dev.veil.e2ee.codec.FrameVectorFiles;
import dev.veil.e2ee.codec.Rejection;
import dev.veil.e2ee.util.SecretBytes;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class JFrameSenderReceiverTest {
    static final SecretBytes A = SecretBytes.copyOf(FrameVectorFiles.bytes("jframe A", 32));
    static final SecretBytes B = SecretBytes.copyOf(FrameVectorFiles.bytes("jframe B", 32));

    static DecryptResult decrypt(JFrameReceiver r, byte[] wire) {
        return r.decrypt(Codec.OPUS, FrameType.UNSPECIFIED, wire, 0, wire.length, new byte[wire.length], 0);
    }

    static byte[] opus(JFrameSender s, int ts) throws FrameCryptoException {
        return opus(s, 1234, ts);
    }

    static byte[] opus(JFrameSender s, int ssrc, int ts) throws FrameCryptoException {
        return s.encrypt(Codec.OPUS, FrameType.UNSPECIFIED, ssrc, ts, FrameVectorFiles.opusFrame(20, "o" + ts));
    }

    @Test
    void roundTrip_codecsAndSizes() throws Exception {
        JFrameSender s = new JFrameSender(new SplittableRandom(3));
        s.setKey(5, A);
        JFrameReceiver r = new JFrameReceiver();
        r.setKey(5, A);
        int ts = 0;
        for (Codec codec : Codec.values()) {
            for (FrameType type : FrameType.values()) {
                for (int len = 0; len < 30; len++) {
                    byte[] frame = FrameVectorFiles.bytes("rt" + len, len);
                    byte[] wire = s.encrypt(codec, type, 99, ts++, frame);
                    assertEquals(len + JFrameSender.OVERHEAD, wire.length);
                    byte[] out = new byte[len];
                    assertEquals(new DecryptResult.Decrypted(len),
                            r.decrypt(codec, type, wire, 0, wire.length, out, 0), codec + " " + type + " " + len);
                    assertArrayEquals(frame, out);
                }
            }
        }
    }

    @Test
    void encrypt_noKeyOrRemovedKey_throws() throws Exception {
        JFrameSender s = new JFrameSender(new SplittableRandom(1));
        assertThrows(FrameCryptoException.class, () -> opus(s, 0));
        s.setKey(2, A);
        opus(s, 1);
        s.removeKey(2);
        assertThrows(FrameCryptoException.class, () -> opus(s, 2));
    }

    @Test
    void ratchet_rawKey_throws() {
        JFrameSender s = new JFrameSender(new SplittableRandom(1));
        s.setRawKey(0, SecretBytes.copyOf(new byte[16]));
        assertThrows(FrameCryptoException.class, s::ratchet);
    }

    @Test
    void setKey_indexReducedModulo16_andNegativeRefused() throws Exception {
        JFrameSender s = new JFrameSender(new SplittableRandom(1));
        s.setKey(33, A);
        assertEquals(1, s.currentKeyIndex());
        byte[] f = opus(s, 0);
        assertEquals(1, f[f.length - 1]);
        assertEquals(12, f[f.length - 2]);
        assertThrows(IllegalArgumentException.class, () -> s.setKey(-1, A));
    }

    @Test
    void sendCount_perSsrcRandomStart_notResetOnKeyChange() throws Exception {
        JFrameSender s = new JFrameSender(new SplittableRandom(11));
        s.setKey(0, A);
        byte[] a1 = s.encrypt(Codec.OPUS, FrameType.UNSPECIFIED, 1, 0, new byte[3]);
        byte[] b1 = s.encrypt(Codec.OPUS, FrameType.UNSPECIFIED, 2, 0, new byte[3]);
        s.setKey(1, B);
        byte[] a2 = s.encrypt(Codec.OPUS, FrameType.UNSPECIFIED, 1, 0, new byte[3]);
        int c1 = JFrameReceiver.getInt(a1, a1.length - 6);
        int c2 = JFrameReceiver.getInt(a2, a2.length - 6);
        assertTrue(c1 >= 0 && c1 < 0xFFFF);
        assertEquals((c1 + 1) % 0xFFFF, c2);
        int d1 = JFrameReceiver.getInt(b1, b1.length - 6);
        assertTrue(d1 >= 0 && d1 < 0xFFFF);
    }

    /** Jitsi ratchets the current slot; Veil ratchets the slot named by the frame's key index. */
    @Test
    void decrypt_senderAheadOnNonCurrentSlot_ratchetsThatSlotOnly() throws Exception {
        JFrameReceiver r = new JFrameReceiver();
        r.setKey(1, A);
        r.setKey(2, B); // installed last: Jitsi's "current" slot
        JFrameSender sa = new JFrameSender(new SplittableRandom(2));
        sa.setKey(1, A);
        sa.ratchet();
        sa.ratchet();
        JFrameSender sb = new JFrameSender(new SplittableRandom(3));
        sb.setKey(2, B);
        assertEquals(new DecryptResult.Decrypted(20), decrypt(r, opus(sa, 10)));
        assertEquals(new DecryptResult.Decrypted(20), decrypt(r, opus(sb, 5678, 10)), "slot 2 untouched");
        assertEquals(new DecryptResult.Decrypted(20), decrypt(r, opus(sa, 20)), "slot 1 now holds step 2");
    }

    @Test
    void decrypt_failedRatchet_leavesSlotUnchanged() throws Exception {
        JFrameReceiver r = new JFrameReceiver();
        r.setKey(0, A);
        JFrameSender far = new JFrameSender(new SplittableRandom(4));
        far.setKey(0, A);
        for (int i = 0; i < 9; i++) {
            far.ratchet();
        }
        assertEquals(DecryptResult.Rejected.of(Rejection.BAD_TAG), decrypt(r, opus(far, 1)));
        JFrameSender near = new JFrameSender(new SplittableRandom(5));
        near.setKey(0, A);
        assertEquals(new DecryptResult.Decrypted(20), decrypt(r, opus(near, 2)));
        for (int i = 0; i < 8; i++) {
            near.ratchet();
        }
        assertEquals(new DecryptResult.Decrypted(20), decrypt(r, opus(near, 3)), "8 steps ahead still decrypts");
    }

    @Test
    void decrypt_randomGarbageAndMutations_neverThrowNeverAccept() throws Exception {
        SplittableRandom rnd = new SplittableRandom(5);
        JFrameSender s = new JFrameSender(new SplittableRandom(6));
        s.setKey(3, A);
        JFrameReceiver r = new JFrameReceiver();
        r.setKey(3, A);
        for (int i = 0; i < 300; i++) {
            byte[] g = new byte[rnd.nextInt(0, 80)];
            rnd.nextBytes(g);
            if (g.length >= 2 && rnd.nextBoolean()) {
                g[g.length - 2] = 12;
                g[g.length - 1] = 3;
            }
            assertTrue(decrypt(r, g) instanceof DecryptResult.Rejected);
            byte[] f = opus(s, 100 + i);
            byte[] m = rnd.nextBoolean() ? Arrays.copyOf(f, rnd.nextInt(f.length)) : f.clone();
            if (m.length == f.length) {
                m[rnd.nextInt(m.length - 2)] ^= (byte) (1 << rnd.nextInt(8));
            }
            assertTrue(decrypt(r, m) instanceof DecryptResult.Rejected, "mutated frame accepted");
        }
    }

    @Test
    void sharedKeyMode_rawAesKeyRoundTrip() throws Exception {
        SecretBytes k = SecretBytes.copyOf(FrameVectorFiles.bytes("shared", 16));
        JFrameSender s = new JFrameSender(new SplittableRandom(8));
        s.setRawKey(0, k);
        JFrameReceiver r = new JFrameReceiver();
        r.setRawKey(0, k);
        assertEquals(new DecryptResult.Decrypted(20), decrypt(r, opus(s, 0)));
        assertThrows(IllegalArgumentException.class, () -> r.setRawKey(1, SecretBytes.copyOf(new byte[15])));
    }

    @Test
    void forgottenSsrc_isRetired_andOlderSlotsExpireAfterANewerKey() throws Exception {
        JFrameSender s = new JFrameSender(new SplittableRandom(9));
        s.setKey(0, A);
        JFrameReceiver r = new JFrameReceiver();
        r.setKey(0, A, 0);
        byte[] recorded = opus(s, 1, 0);
        byte[] again = opus(s, 1, 960);
        assertEquals(new DecryptResult.Decrypted(recorded.length - JFrameSender.OVERHEAD),
                r.decrypt(Codec.OPUS, FrameType.UNSPECIFIED, recorded, 0, recorded.length, new byte[recorded.length], 0, 0));
        for (int ssrc = 2; ssrc <= 1 + JFrameReceiver.MAX_SSRCS; ssrc++) {
            byte[] f = opus(s, ssrc, 0);
            r.decrypt(Codec.OPUS, FrameType.UNSPECIFIED, f, 0, f.length, new byte[f.length], 0, 10);
        }
        assertEquals(DecryptResult.Rejected.of(Rejection.REPLAY),
                r.decrypt(Codec.OPUS, FrameType.UNSPECIFIED, again, 0, again.length, new byte[again.length], 0, 20),
                "SSRC 1's window was forgotten: it is retired, its frames refused");
        r.setKey(1, B, 1_000);                                   // a newer key: slot 0 expires 2 s later
        byte[] late = opus(s, 40, 0);
        assertTrue(r.decrypt(Codec.OPUS, FrameType.UNSPECIFIED, late, 0, late.length, new byte[late.length], 0, 2_999)
                instanceof DecryptResult.Decrypted);
        byte[] later = opus(s, 40, 960);
        assertEquals(DecryptResult.Rejected.of(Rejection.NO_KEY), r.decrypt(Codec.OPUS, FrameType.UNSPECIFIED, later,
                0, later.length, new byte[later.length], 0, 3_000));
    }
}
