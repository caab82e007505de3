package dev.veil.e2ee.mls;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.veil.e2ee.codec.Rejection;
import dev.veil.e2ee.sframe.CipherSuite;
import dev.veil.e2ee.sframe.SFrameHeader;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.List;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class MlsFrameCryptoTest {
    private static final CipherSuite SUITE = CipherSuite.AES_128_GCM_SHA256_128;
    private static final byte[] MD = new byte[] {9, 9};
    private final SecureRandom random = new SecureRandom();

    private static byte[] id(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void membersDecryptEachOtherAndTheOldEpochExpiresAfterTheGrace() throws Exception {
        MlsGroupSession a = MlsGroupSession.create(id("g"), MlsKeyPackage.create(id("a")), random);
        MlsKeyPackage bKp = MlsKeyPackage.create(id("b"));
        MlsCommit c = a.commit(List.of(bKp.bytes()), List.of());
        a.handle(c.commit());
        MlsGroupSession b = MlsGroupSession.join(bKp, c.welcome(), random);

        MlsFrameCrypto fa = new MlsFrameCrypto(SUITE, 1_000);
        MlsFrameCrypto fb = new MlsFrameCrypto(SUITE, 1_000);
        fa.install(MlsEpochKeys.of(a, SUITE), 0);
        fb.install(MlsEpochKeys.of(b, SUITE), 0);
        byte[] f1 = fa.encrypt(MD, id("hello"));
        // KID = index 0 << 8 | epoch 1 (S = 2 for a tree of 2 leaves)
        assertEquals(MlsKid.kid(0, 1, MlsKid.indexBits(a.leafCount())), SFrameHeader.decode(f1, 0, f1.length).kid());
        assertArrayEquals(id("hello"), fb.decrypt(MD, f1, 10));
        assertNull(fa.decrypt(MD, f1, 10), "own KID is never accepted");
        assertArrayEquals(id("yo"), fa.decrypt(MD, fb.encrypt(MD, id("yo")), 10));
        assertNull(fb.decrypt(MD, f1, 11), "replay");

        // epoch 2: b moves first; a's epoch-1 frame still decrypts at b within the grace, not after
        MlsCommit c2 = b.commit(List.of(MlsKeyPackage.create(id("c")).bytes()), List.of());
        b.handle(c2.commit());
        fb.install(MlsEpochKeys.of(b, SUITE), 100);
        assertEquals(OptionalLong.of(1_100), fb.nextTimeoutMillis());
        byte[] late = fa.encrypt(MD, id("late"));
        assertArrayEquals(id("late"), fb.decrypt(MD, late, 1_099));
        byte[] tooLate = fa.encrypt(MD, id("too late"));
        assertNull(fb.decrypt(MD, tooLate, 1_100));
        assertFalse(fb.holdsPreviousEpoch());
        byte[] e2 = fb.encrypt(MD, id("epoch 2"));
        assertNull(fa.decrypt(MD, e2, 1_100), "a has not applied the commit yet");
        a.handle(c2.commit());
        fa.install(MlsEpochKeys.of(a, SUITE), 1_200);
        assertArrayEquals(id("epoch 2"), fa.decrypt(MD, e2, 1_200));
        assertThrows(IllegalArgumentException.class, () -> fa.install(MlsEpochKeys.of(a, SUITE), 1_300));
    }

    @Test
    void forgedKidsAreRejectedBeforeAnyDerivation() throws Exception {
        MlsGroupSession a = MlsGroupSession.create(id("g"), MlsKeyPackage.create(id("a")), random);
        MlsKeyPackage bKp = MlsKeyPackage.create(id("b"));
        MlsCommit c = a.commit(List.of(bKp.bytes()), List.of());
        a.handle(c.commit());
        MlsFrameCrypto fa = new MlsFrameCrypto(SUITE);
        fa.install(MlsEpochKeys.of(a, SUITE), 0);
        int s = MlsKid.indexBits(a.leafCount());
        Rejection[] why = new Rejection[1];
        long[] forged = {
            MlsKid.kid(0, 1, 7, s, MlsKid.EPOCH_BITS), // epoch not held
            MlsKid.kid(1, 1, 1, s, MlsKid.EPOCH_BITS), // context 1
            MlsKid.kid(0, 3, 1, s, MlsKid.EPOCH_BITS), // not a member
            MlsKid.kid(0, 0, 1, s, MlsKid.EPOCH_BITS), // own index
        };
        for (long kid : forged) {
            byte[] frame = new byte[40];
            int h = new SFrameHeader(kid, 0).encode(frame, 0);
            assertTrue(h > 0);
            assertTrue(fa.receiverFor(frame, 0, frame.length, 0, why).isEmpty(), Long.toHexString(kid));
            assertEquals(Rejection.NO_KEY, why[0]);
        }
        assertTrue(fa.receiverFor(new byte[] {(byte) 0xff}, 0, 1, 0, why).isEmpty());
        assertEquals(Rejection.MALFORMED_HEADER, why[0]);
    }
}
