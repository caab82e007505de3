package dev.veil.webrtc.srtp;

import static dev.veil.webrtc.srtp.TestVectors.hex;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The receive side in place (the server's socket buffer, reused for every datagram): SRTP and SRTCP are checked and
 * decrypted inside the caller's buffer. The RFC vectors still match, the result equals the copying calls' for every
 * length, a refused packet leaves the whole buffer (its other packets included) as it was, and only the given range
 * is ever read or written.
 */
class SrtpReceiveInPlaceTest {
    private static Map<String, Map<String, String>> vectors;

    @BeforeAll
    static void load() throws Exception {
        vectors = TestVectors.load("srtp-vectors.txt");
    }

    private static SrtpSession gcmSession(String name) throws Exception {
        Map<String, String> v = vectors.get(name);
        byte[] key = hex(v.get("key"));
        byte[] salt = hex(v.get("salt"));
        return new SrtpSession(SrtpProfile.AEAD_AES_128_GCM, new AesGcmSrtpCipher(key, salt),
                new AesGcmSrtpCipher(key, salt));
    }

    /** {@code packet} at offset {@code off} of a buffer filled with 0xA5 sentinels. */
    private static byte[] embed(byte[] packet, int off, int size) {
        byte[] buf = new byte[size];
        Arrays.fill(buf, (byte) 0xA5);
        System.arraycopy(packet, 0, buf, off, packet.length);
        return buf;
    }

    private static void assertSentinels(byte[] buf, int from, int to) {
        for (int i = from; i < to; i++) {
            assertEquals((byte) 0xA5, buf[i], "byte " + i + " outside the packet was touched");
        }
    }

    @Test
    void rfc7714_vectors_inPlace_recoverThePlainPackets() throws Exception {
        String[] names = {"rfc7714-16.1.1-srtp-aead-aes-128-gcm", "rfc7714-17.1-srtcp-aead-aes-128-gcm-encrypted",
            "rfc7714-17.2-srtcp-aead-aes-128-gcm-authenticated-only"};
        for (String name : names) {
            byte[] wire = hex(vectors.get(name).get("protected"));
            byte[] plain = hex(vectors.get(name).get("plain"));
            byte[] buf = embed(wire, 7, wire.length + 20);
            SrtpSession s = gcmSession(name);
            int n = name.contains("srtcp") ? s.unprotectRtcpInPlace(buf, 7, wire.length)
                    : s.unprotectRtpInPlace(buf, 7, wire.length);
            assertEquals(plain.length, n, name);
            assertArrayEquals(plain, Arrays.copyOfRange(buf, 7, 7 + n), name);
            assertSentinels(buf, 0, 7);
            assertSentinels(buf, 7 + wire.length, buf.length);
        }
    }

    @ParameterizedTest
    @EnumSource(SrtpProfile.class)
    void rtcpInPlace_equalsTheCopyingCall_forEveryLength_encryptedOrNot(SrtpProfile p) throws Exception {
        SrtpKeyingMaterial km = SrtpSessionTest.keys(p, 21);
        SrtpSession client = SrtpSession.forClient(km);
        SrtpSession copying = SrtpSession.forServer(km);
        SrtpSession inPlace = SrtpSession.forServer(km);
        Random r = new Random(21);
        int[] ssrcs = {0x01020304, 0x7f000001, 0x01020304, 0xdeadbeef};
        for (int words = 2; words <= 40; words++) {
            for (boolean encrypt : new boolean[] {true, false}) {
                byte[] plain = new byte[4 * words];
                r.nextBytes(plain);
                plain[0] = (byte) 0x81;
                plain[1] = (byte) 201; // RR
                int ssrc = ssrcs[words % ssrcs.length];
                plain[4] = (byte) (ssrc >>> 24);
                plain[5] = (byte) (ssrc >>> 16);
                plain[6] = (byte) (ssrc >>> 8);
                plain[7] = (byte) ssrc;
                byte[] wire = client.protectRtcp(plain, 0, plain.length, encrypt);
                assertArrayEquals(plain, copying.unprotectRtcp(wire));
                byte[] buf = embed(wire, 3, wire.length + 9);
                int n = inPlace.unprotectRtcpInPlace(buf, 3, wire.length);
                assertEquals(plain.length, n);
                assertArrayEquals(plain, Arrays.copyOfRange(buf, 3, 3 + n));
                assertSentinels(buf, 0, 3);
                assertSentinels(buf, 3 + wire.length, buf.length);
                // the same packet again: a replay, refused by the in-place path as by the copying one
                byte[] again = embed(wire, 3, wire.length + 9);
                assertEquals(SrtpRejection.REPLAY, assertThrows(SrtpException.class,
                        () -> inPlace.unprotectRtcpInPlace(again, 3, wire.length)).reason());
            }
        }
    }

    @ParameterizedTest
    @EnumSource(SrtpProfile.class)
    void rtcpInPlace_jceFallback_equalsTheIntrinsicPath(SrtpProfile p) throws Exception {
        Random r = new Random(4);
        byte[] key = new byte[p.keyLength()];
        byte[] salt = new byte[p.saltLength()];
        r.nextBytes(key);
        r.nextBytes(salt);
        SrtpCipher fast = p == SrtpProfile.AEAD_AES_128_GCM ? new AesGcmSrtpCipher(p, key, salt, true)
                : new AesCmHmacSrtpCipher(p, key, salt, true);
        SrtpCipher jce = p == SrtpProfile.AEAD_AES_128_GCM ? new AesGcmSrtpCipher(p, key, salt, false)
                : new AesCmHmacSrtpCipher(p, key, salt, false);
        for (int len = 8; len <= 80; len += 4) {
            byte[] plain = new byte[len];
            r.nextBytes(plain);
            plain[0] = (byte) 0x80;
            byte[] wire = fast.protectRtcp(plain, 0, len, 0x0a0b0c0d, len, true);
            byte[] a = wire.clone();
            byte[] b = wire.clone();
            assertEquals(len, fast.unprotectRtcpInPlace(a, 0, wire.length, 0x0a0b0c0d, len, true));
            assertEquals(len, jce.unprotectRtcpInPlace(b, 0, wire.length, 0x0a0b0c0d, len, true));
            assertArrayEquals(plain, Arrays.copyOf(a, len));
            assertArrayEquals(plain, Arrays.copyOf(b, len));
        }
    }

    /**
     * Several datagrams side by side in one buffer (as a batched receive would hold them): a tampered one is refused
     * and no byte of the buffer changes, neither its own nor its neighbours'; the good ones then decrypt in place.
     */
    @ParameterizedTest
    @EnumSource(SrtpProfile.class)
    void tamperedPacket_isRefused_withoutTouchingTheBuffersOtherPackets(SrtpProfile p) throws Exception {
        SrtpKeyingMaterial km = SrtpSessionTest.keys(p, 8);
        SrtpSession client = SrtpSession.forClient(km);
        SrtpSession server = SrtpSession.forServer(km);
        byte[][] wire = new byte[4][];
        byte[][] plain = new byte[4][];
        for (int i = 0; i < 3; i++) {
            plain[i] = SrtpSessionTest.rtp(1000 + i, 0x11223344, 50 + 40 * i, i);
            wire[i] = client.protectRtp(plain[i]);
        }
        plain[3] = SrtpSessionTest.rtcpSenderReport(0x11223344);
        wire[3] = client.protectRtcp(plain[3]);
        int[] at = new int[5];
        for (int i = 0; i < 4; i++) {
            at[i + 1] = at[i] + wire[i].length + 5; // 5 bytes of gap between the datagrams
        }
        byte[] buf = new byte[at[4]];
        Arrays.fill(buf, (byte) 0xA5);
        for (int i = 0; i < 4; i++) {
            System.arraycopy(wire[i], 0, buf, at[i], wire[i].length);
        }
        for (int victim = 0; victim < 4; victim++) {
            for (int flip : new int[] {2, 13, wire[victim].length / 2, wire[victim].length - 1}) {
                buf[at[victim] + flip] ^= 0x10;
                byte[] before = buf.clone();
                int v = victim;
                SrtpException e = assertThrows(SrtpException.class, () -> {
                    if (v == 3) {
                        server.unprotectRtcpInPlace(buf, at[v], wire[v].length);
                    } else {
                        server.unprotectRtpInPlace(buf, at[v], wire[v].length);
                    }
                });
                assertArrayEquals(before, buf, "a refused packet changed the buffer (" + e.reason() + ")");
                buf[at[victim] + flip] ^= 0x10;
            }
        }
        for (int i = 0; i < 4; i++) {
            int n = i == 3 ? server.unprotectRtcpInPlace(buf, at[i], wire[i].length)
                    : server.unprotectRtpInPlace(buf, at[i], wire[i].length);
            assertArrayEquals(plain[i], Arrays.copyOfRange(buf, at[i], at[i] + n));
            assertSentinels(buf, at[i] + wire[i].length, at[i + 1]);
        }
    }

    @Test
    void outOfBoundsRanges_areRefusedAsMalformed_beforeAnyByteIsRead() throws Exception {
        SrtpSession s = SrtpSession.forServer(SrtpSessionTest.keys(SrtpProfile.AEAD_AES_128_GCM, 2));
        byte[] buf = new byte[100];
        int[][] ranges = {{-1, 50}, {0, -1}, {60, 41}, {100, 1}, {Integer.MAX_VALUE, 10}, {10, Integer.MAX_VALUE}};
        for (int[] r : ranges) {
            assertEquals(SrtpRejection.MALFORMED, assertThrows(SrtpException.class,
                    () -> s.unprotectRtpInPlace(buf, r[0], r[1])).reason());
            assertEquals(SrtpRejection.MALFORMED, assertThrows(SrtpException.class,
                    () -> s.unprotectRtcpInPlace(buf, r[0], r[1])).reason());
        }
        // too short for an SRTCP trailer and tag, and too short for an SRTP header and tag
        buf[0] = (byte) 0x80;
        buf[1] = (byte) 200;
        assertEquals(SrtpRejection.TOO_SHORT, assertThrows(SrtpException.class,
                () -> s.unprotectRtcpInPlace(buf, 0, 27)).reason());
        buf[1] = 96;
        assertEquals(SrtpRejection.TOO_SHORT, assertThrows(SrtpException.class,
                () -> s.unprotectRtpInPlace(buf, 0, 27)).reason());
        assertThrows(NullPointerException.class, () -> s.unprotectRtcpInPlace(null, 0, 0));
    }

    /** Streams interleaved beyond the one-entry cache of before: each still has its own ROC and replay window. */
    @ParameterizedTest
    @EnumSource(SrtpProfile.class)
    void manyInterleavedStreams_keepTheirOwnState(SrtpProfile p) throws Exception {
        SrtpKeyingMaterial km = SrtpSessionTest.keys(p, 12);
        SrtpSession client = SrtpSession.forClient(km);
        SrtpSession server = SrtpSession.forServer(km);
        int[] ssrcs = new int[40]; // more than the 16 cache slots: some collide
        for (int i = 0; i < ssrcs.length; i++) {
            ssrcs[i] = 0x1000 + i * 0x10001;
        }
        byte[] buf = new byte[1500];
        for (int round = 0; round < 30; round++) {
            for (int i = 0; i < ssrcs.length; i++) {
                int seq = (65_520 + round + i * 1000) & 0xFFFF; // some streams wrap their ROC mid-run
                byte[] plain = SrtpSessionTest.rtp(seq, ssrcs[i], 30, round * 100 + i);
                byte[] wire = client.protectRtp(plain);
                System.arraycopy(wire, 0, buf, 0, wire.length);
                assertEquals(plain.length, server.unprotectRtpInPlace(buf, 0, wire.length));
                assertArrayEquals(plain, Arrays.copyOf(buf, plain.length));
                System.arraycopy(wire, 0, buf, 0, wire.length);
                assertEquals(SrtpRejection.REPLAY, assertThrows(SrtpException.class,
                        () -> server.unprotectRtpInPlace(buf, 0, wire.length)).reason());
            }
        }
        for (int i = 0; i < ssrcs.length; i++) {
            long firstSeq = (65_520 + i * 1000) & 0xFFFF;
            assertEquals((firstSeq + 29) >> 16, server.receiveRoc(ssrcs[i]), "ROC of stream " + i);
        }
    }
}
