package dev.veil.webrtc.srtp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The in-place RTP transforms of the forwarding path, on the JDK's intrinsics ({@link JdkAes}), against the public
 * JCE implementation: byte-identical output for every payload length around the AES block size, the same refusals,
 * and a refused packet leaves the buffer untouched.
 */
class SrtpInPlaceTest {
    private static final int SSRC = 0x0a0b0c0d;

    @Test
    void intrinsicPath_isAvailableInTheBuild() {
        // the build opens java.base/com.sun.crypto.provider to tests (root pom argLine), as the server jar's manifest
        // does: the allocation-free path must be the one these tests exercise
        assertNull(JdkAes.UNAVAILABLE_REASON);
        assertTrue(SrtpSession.allocationFree());
    }

    private static SrtpCipher cipher(SrtpProfile p, byte[] key, byte[] salt, boolean fast) throws Exception {
        return p == SrtpProfile.AEAD_AES_128_GCM ? new AesGcmSrtpCipher(p, key, salt, fast)
                : new AesCmHmacSrtpCipher(p, key, salt, fast);
    }

    @ParameterizedTest
    @EnumSource(SrtpProfile.class)
    void cipher_fastAndJce_agreeOnEveryLength(SrtpProfile p) throws Exception {
        Random r = new Random(5);
        byte[] key = new byte[p.keyLength()];
        byte[] salt = new byte[p.saltLength()];
        r.nextBytes(key);
        r.nextBytes(salt);
        SrtpCipher fast = cipher(p, key, salt, true);
        SrtpCipher jce = cipher(p, key, salt, false);
        int tag = fast.tagLength();
        for (int payload = 0; payload <= 70; payload++) {
            for (int hdr : new int[] {12, 20, 33}) {
                long index = (7L << 16) | (payload * 977 & 0xFFFF);
                byte[] plain = new byte[hdr + payload];
                r.nextBytes(plain);
                byte[] expected = jce.protectRtp(plain, 0, plain.length, hdr, SSRC, index);
                assertArrayEquals(expected, fast.protectRtp(plain, 0, plain.length, hdr, SSRC, index));

                byte[] buf = new byte[5 + plain.length + tag + 3];
                System.arraycopy(plain, 0, buf, 5, plain.length);
                assertEquals(plain.length + tag, fast.protectRtpInPlace(buf, 5, plain.length, hdr, SSRC, index));
                assertArrayEquals(expected, Arrays.copyOfRange(buf, 5, 5 + expected.length));

                assertArrayEquals(plain, jce.unprotectRtp(buf, 5, expected.length, hdr, SSRC, index));
                assertArrayEquals(plain, fast.unprotectRtp(buf, 5, expected.length, hdr, SSRC, index));
                assertEquals(plain.length, fast.unprotectRtpInPlace(buf, 5, expected.length, hdr, SSRC, index));
                assertArrayEquals(plain, Arrays.copyOfRange(buf, 5, 5 + plain.length));
            }
        }
    }

    @ParameterizedTest
    @EnumSource(SrtpProfile.class)
    void cipher_videoSizedPackets_agree(SrtpProfile p) throws Exception {
        Random r = new Random(6);
        byte[] key = new byte[p.keyLength()];
        byte[] salt = new byte[p.saltLength()];
        r.nextBytes(key);
        r.nextBytes(salt);
        SrtpCipher fast = cipher(p, key, salt, true);
        SrtpCipher jce = cipher(p, key, salt, false);
        for (int len : new int[] {100, 1183, 1200, 1400}) {
            byte[] plain = new byte[len];
            r.nextBytes(plain);
            long index = (1L << 32) | 65535;
            assertArrayEquals(jce.protectRtp(plain, 0, len, 24, SSRC, index),
                    fast.protectRtp(plain, 0, len, 24, SSRC, index));
        }
    }

    @ParameterizedTest
    @EnumSource(SrtpProfile.class)
    void unprotectInPlace_forgedTag_isRefusedAndLeavesTheBufferAlone(SrtpProfile p) throws Exception {
        SrtpKeyingMaterial km = SrtpSessionTest.keys(p, 9);
        SrtpSession client = SrtpSession.forClient(km);
        SrtpSession server = SrtpSession.forServer(km);
        byte[] srtp = client.protectRtp(SrtpSessionTest.rtp(100, SSRC, 300, 1));
        for (int at : new int[] {1 + 12, srtp.length - 1, 5}) {
            byte[] forged = srtp.clone();
            forged[at] ^= 0x40;
            byte[] copy = forged.clone();
            SrtpException e = assertThrows(SrtpException.class,
                    () -> server.unprotectRtpInPlace(forged, 0, forged.length));
            assertEquals(SrtpRejection.AUTH_FAIL, e.reason());
            assertArrayEquals(copy, forged);
        }
        byte[] good = srtp.clone();
        assertEquals(srtp.length - p.tagLength(), server.unprotectRtpInPlace(good, 0, good.length));
        byte[] again = srtp.clone();
        assertEquals(SrtpRejection.REPLAY,
                assertThrows(SrtpException.class, () -> server.unprotectRtpInPlace(again, 0, again.length)).reason());
    }

    @ParameterizedTest
    @EnumSource(SrtpProfile.class)
    void session_inPlace_matchesTheCopyingCalls_acrossStreamsAndRollover(SrtpProfile p) throws Exception {
        SrtpKeyingMaterial km = SrtpSessionTest.keys(p, 3);
        SrtpSession copying = SrtpSession.forServer(km);
        SrtpSession inPlace = SrtpSession.forServer(km);
        SrtpSession receiver = SrtpSession.forClient(km);
        int tag = inPlace.tagLength();
        byte[] buf = new byte[1500];
        int[] ssrcs = {SSRC, 0x55667788, SSRC};
        for (int i = 0; i < 200; i++) {
            int ssrc = ssrcs[i % 3];
            int seq = (65_500 + i) & 0xFFFF; // the ROC increments mid-run
            byte[] plain = SrtpSessionTest.rtp(seq, ssrc, 40 + i, i);
            byte[] expected = copying.protectRtp(plain);
            System.arraycopy(plain, 0, buf, 8, plain.length);
            int n = inPlace.protectRtpInPlace(buf, 8, plain.length);
            assertEquals(plain.length + tag, n);
            assertArrayEquals(expected, Arrays.copyOfRange(buf, 8, 8 + n));
            assertEquals(plain.length, receiver.unprotectRtpInPlace(buf, 8, n));
            assertArrayEquals(plain, Arrays.copyOfRange(buf, 8, 8 + plain.length));
        }
    }

    @Test
    void protectInPlace_withoutRoomForTheTag_isRefused() throws Exception {
        SrtpSession s = SrtpSession.forServer(SrtpSessionTest.keys(SrtpProfile.AEAD_AES_128_GCM, 1));
        byte[] plain = SrtpSessionTest.rtp(1, SSRC, 50, 1);
        assertEquals(SrtpRejection.MALFORMED,
                assertThrows(SrtpException.class, () -> s.protectRtpInPlace(plain, 0, plain.length)).reason());
    }
}
