package dev.veil.e2ee.identity;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.InvalidKeyException;
import java.security.SecureRandom;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class IdentityTest {
    /** Seeded randomness: the same seed gives the same identity. */
    static SecureRandom seeded(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        return new SecureRandom() {
            private static final long serialVersionUID = 1L;

            @Override
            public void nextBytes(byte[] bytes) {
                r.nextBytes(bytes);
            }
        };
    }

    @Test
    void generate_isReproducibleFromTheRandomSourceAndDifferentPerSeed() {
        Identity a1 = Identity.generate(seeded(1));
        Identity a2 = Identity.generate(seeded(1));
        Identity b = Identity.generate(seeded(2));
        assertArrayEquals(a1.identityKey(), a2.identityKey());
        assertArrayEquals(a1.kxKey(), a2.kxKey());
        assertFalse(java.util.Arrays.equals(a1.identityKey(), b.identityKey()));
        assertTrue(a1.bundle("x").verify());
    }

    @Test
    void destroy_makesTheIdentityUnusable() {
        Identity id = Identity.generate(seeded(3));
        byte[] peer = Identity.generate(seeded(4)).kxKey();
        id.destroy();
        assertTrue(id.isDestroyed());
        assertThrows(IllegalStateException.class, () -> id.agree(peer));
        assertThrows(IllegalStateException.class, () -> id.bundle("x"));
        assertFalse(id.toString().isEmpty());
    }

    @Test
    void agree_isSymmetric_andRefusesSmallOrderKeys() throws Exception {
        Identity a = Identity.generate(seeded(5));
        Identity b = Identity.generate(seeded(6));
        assertArrayEquals(a.agree(b.kxKey()), b.agree(a.kxKey()));
        assertThrows(InvalidKeyException.class, () -> a.agree(new byte[32]));          // u = 0
        byte[] one = new byte[32];
        one[0] = 1;
        assertThrows(InvalidKeyException.class, () -> a.agree(one));                   // u = 1
        assertThrows(InvalidKeyException.class, () -> a.agree(new byte[31]));
    }

    @Test
    void bundle_jsonRoundTrip_andAnyChangeBreaksTheSignature() throws Exception {
        Bundle b = TestIdentities.bundle("alice");
        Bundle parsed = Bundle.fromJson("other-id", b.toJson());
        assertEquals("other-id", parsed.connectionId());
        assertTrue(parsed.verify(), "the connection id is not signed");
        byte[] kx = b.kxKey();
        kx[3] ^= 1;
        assertFalse(new Bundle(b.connectionId(), b.identityKey(), kx, b.signature()).verify());
        assertThrows(BundleFormatException.class, () -> Bundle.fromJson("", b.toJson()));
        assertThrows(BundleFormatException.class, () -> Bundle.fromJson("x", null));
        assertThrows(BundleFormatException.class, () -> Bundle.fromJson("x", "{\"version\":1,"));
        assertThrows(BundleFormatException.class, () -> Bundle.fromJson("x", "{} {}"));
        assertThrows(BundleFormatException.class, () -> Bundle.fromJson("x", "{\"a\":[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]}"));
        assertThrows(BundleFormatException.class, () -> Bundle.fromJson("x", "{\"version\":1e0}"));
        assertFalse(b.toString().contains(b.toJson()));
    }

    @Test
    void bundle_arraysAreCopied() {
        Bundle b = TestIdentities.bundle("bob");
        b.identityKey()[0] ^= 1;
        assertTrue(b.verify());
        assertEquals(b, TestIdentities.bundle("bob"));
    }

    @Test
    void fingerprint_displayMatchesIgnoringSpacesColonsAndCase() {
        Fingerprint f = TestIdentities.identity("alice").fingerprint();
        String d = f.display();
        assertEquals(79, d.length());
        assertEquals(16, d.split(" ").length);
        assertTrue(f.matches(d));
        assertTrue(f.matches(d.replace(' ', ':').toUpperCase()));
        assertFalse(f.matches(d.substring(0, 78) + (d.charAt(78) == '0' ? '1' : '0')));
        assertFalse(f.matches("zz" + d.substring(2)));
        assertFalse(f.matches(null));
        assertEquals(f, TestIdentities.bundle("alice").fingerprint());
        assertNotEquals(f, TestIdentities.bundle("bob").fingerprint());
    }

    @Test
    void verificationCode_dependsOnEveryIdAndKey_notOnOrder() {
        VerificationCode.Member a = VerificationCode.Member.of(TestIdentities.bundle("alice"));
        VerificationCode.Member b = VerificationCode.Member.of(TestIdentities.bundle("bob"));
        VerificationCode.Member bOtherId = new VerificationCode.Member("bob-2", b.identityKey());
        VerificationCode.Member bOtherKey = new VerificationCode.Member(b.connectionId(),
                TestIdentities.identity("carol").identityKey());
        VerificationCode ab = VerificationCode.of(List.of(a, b));
        assertEquals(ab, VerificationCode.of(List.of(b, a)));
        assertNotEquals(ab, VerificationCode.of(List.of(a, bOtherId)));
        assertNotEquals(ab, VerificationCode.of(List.of(a, bOtherKey)));
        assertNotEquals(ab, VerificationCode.of(List.of(a)));
        assertTrue(ab.display().matches("\\d{5}( \\d{5}){5}"));
        assertTrue(ab.matches(ab.display().replace(" ", "")));
        assertFalse(ab.matches("00000 00000 00000 00000 00000 00000"));
        assertThrows(IllegalArgumentException.class, () -> VerificationCode.of(List.of(a, a)));
        assertThrows(IllegalArgumentException.class, () -> VerificationCode.of(List.of()));
    }

    @Test
    void connectionIds_areOneTo255Utf8Bytes_sortedByBytes() {
        assertTrue(ConnectionIds.isValid("a"));
        assertTrue(ConnectionIds.isValid("é".repeat(127)));    // 254 bytes
        assertFalse(ConnectionIds.isValid("é".repeat(128)));   // 256 bytes
        assertFalse(ConnectionIds.isValid(""));
        assertFalse(ConnectionIds.isValid(null));
        assertFalse(ConnectionIds.isValid("\uD800"));         // lone surrogate
        assertTrue(ConnectionIds.ORDER.compare("\uE000", "\uD83D\uDE00") < 0);
        assertTrue("\uE000".compareTo("\uD83D\uDE00") > 0, "UTF-16 order differs");
        assertEquals(null, ConnectionIds.decode(new byte[] {(byte) 0xC0, (byte) 0x80}, 0, 2));
        assertEquals("ab", ConnectionIds.decode(new byte[] {'a', 'b'}, 0, 2));
    }
}
