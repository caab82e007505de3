package dev.veil.webrtc.srtp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

class SrtpSessionTest {
    private static final int SSRC = 0x11223344;

    static SrtpKeyingMaterial keys(SrtpProfile p, long seed) throws Exception {
        byte[] exported = new byte[p.exportLength()];
        new Random(seed).nextBytes(exported);
        return SrtpKeyingMaterial.fromDtlsExport(p, exported);
    }

    static byte[] rtp(int seq, int ssrc, int payloadLength, long seed) {
        byte[] p = new byte[12 + payloadLength];
        p[0] = (byte) 0x80;
        p[1] = (byte) 111;
        p[2] = (byte) (seq >>> 8);
        p[3] = (byte) seq;
        p[4] = 0x12;
        p[8] = (byte) (ssrc >>> 24);
        p[9] = (byte) (ssrc >>> 16);
        p[10] = (byte) (ssrc >>> 8);
        p[11] = (byte) ssrc;
        Random r = new Random(seed ^ seq);
        for (int i = 12; i < p.length; i++) {
            p[i] = (byte) r.nextInt();
        }
        return p;
    }

    static byte[] rtcpSenderReport(int ssrc) {
        byte[] p = new byte[28];
        p[0] = (byte) 0x80;
        p[1] = (byte) 200;
        p[3] = 6;
        SrtpCipher.putInt(p, 4, ssrc);
        for (int i = 8; i < p.length; i++) {
            p[i] = (byte) (i * 7);
        }
        return p;
    }

    @ParameterizedTest
    @EnumSource(SrtpProfile.class)
    void protectRtp_thenUnprotect_roundTripsBothDirections(SrtpProfile profile) throws Exception {
        SrtpKeyingMaterial km = keys(profile, 1);
        SrtpSession server = SrtpSession.forServer(km);
        SrtpSession client = SrtpSession.forClient(km);
        for (int seq = 1000; seq < 1010; seq++) {
            byte[] plain = rtp(seq, SSRC, 160, 7);
            byte[] prot = client.protectRtp(plain);
            assertEquals(plain.length + profile.tagLength(), prot.length);
            assertArrayEquals(Arrays.copyOf(plain, 12), Arrays.copyOf(prot, 12), "header stays in the clear");
            assertFalse(Arrays.equals(Arrays.copyOfRange(plain, 12, plain.length),
                    Arrays.copyOfRange(prot, 12, plain.length)), "payload is encrypted");
            assertArrayEquals(plain, server.unprotectRtp(prot));
            byte[] back = server.protectRtp(plain);
            assertArrayEquals(plain, client.unprotectRtp(back));
        }
    }

    @ParameterizedTest
    @EnumSource(SrtpProfile.class)
    void protectRtcp_thenUnprotect_roundTripsAndIndexIncrements(SrtpProfile profile) throws Exception {
        SrtpKeyingMaterial km = keys(profile, 2);
        SrtpSession server = SrtpSession.forServer(km);
        SrtpSession client = SrtpSession.forClient(km);
        byte[] sr = rtcpSenderReport(SSRC);
        for (int i = 0; i < 5; i++) {
            byte[] prot = server.protectRtcp(sr);
            assertEquals(sr.length + profile.tagLength() + 4, prot.length);
            int word = SrtpSession.readInt(prot, profile.isAead() ? prot.length - 4 : prot.length - 14);
            assertEquals(0x80000000 | i, word, "E bit set and SRTCP index " + i);
            assertArrayEquals(sr, client.unprotectRtcp(prot));
        }
    }

    @ParameterizedTest
    @EnumSource(SrtpProfile.class)
    void unprotectRtp_withCsrcAndHeaderExtension_authenticatesWholeHeader(SrtpProfile profile) throws Exception {
        SrtpKeyingMaterial km = keys(profile, 3);
        SrtpSession server = SrtpSession.forServer(km);
        SrtpSession client = SrtpSession.forClient(km);
        // V=2, X=1, CC=1: 12 + 4 (CSRC) + 4 (ext header) + 8 (ext body) = 28 bytes of header, then payload.
        byte[] p = new byte[28 + 20];
        p[0] = (byte) 0x91;
        p[1] = 96;
        p[3] = 5;
        SrtpCipher.putInt(p, 8, SSRC);
        SrtpCipher.putInt(p, 12, 0xCAFEBABE);
        p[16] = (byte) 0xBE;
        p[17] = (byte) 0xDE;
        p[19] = 2;
        Arrays.fill(p, 20, 28, (byte) 0x42);
        Arrays.fill(p, 28, p.length, (byte) 0x55);
        byte[] prot = client.protectRtp(p);
        assertArrayEquals(Arrays.copyOf(p, 28), Arrays.copyOf(prot, 28));
        byte[] tampered = prot.clone();
        tampered[25] ^= 0x01; // inside the header extension: authenticated, not encrypted
        SrtpException e = assertThrows(SrtpException.class, () -> server.unprotectRtp(tampered));
        assertEquals(SrtpRejection.AUTH_FAIL, e.reason());
        assertArrayEquals(p, server.unprotectRtp(prot));
    }

    @ParameterizedTest
    @EnumSource(SrtpProfile.class)
    void unprotectRtp_acrossSequenceWrap_incrementsRocAndDecryptsAll(SrtpProfile profile) throws Exception {
        SrtpKeyingMaterial km = keys(profile, 4);
        SrtpSession server = SrtpSession.forServer(km);
        SrtpSession client = SrtpSession.forClient(km);
        for (int i = 0; i < 20; i++) {
            int seq = (65530 + i) & 0xffff;
            byte[] plain = rtp(seq, SSRC, 50, 9);
            assertArrayEquals(plain, server.unprotectRtp(client.protectRtp(plain)), "seq " + seq);
        }
        assertEquals(1, server.receiveRoc(SSRC));
    }

    @ParameterizedTest
    @EnumSource(SrtpProfile.class)
    void unprotectRtp_lateOldRocPacketAfterWrap_isDecryptedWithRocMinusOne(SrtpProfile profile) throws Exception {
        SrtpKeyingMaterial km = keys(profile, 5);
        SrtpSession server = SrtpSession.forServer(km);
        SrtpSession client = SrtpSession.forClient(km);
        byte[] p65534 = client.protectRtp(rtp(65534, SSRC, 40, 1));
        byte[] p65535 = client.protectRtp(rtp(65535, SSRC, 40, 1));
        byte[] p0 = client.protectRtp(rtp(0, SSRC, 40, 1));
        byte[] p1 = client.protectRtp(rtp(1, SSRC, 40, 1));
        server.unprotectRtp(p65534);
        server.unprotectRtp(p0); // ROC moves to 1
        server.unprotectRtp(p1);
        assertArrayEquals(rtp(65535, SSRC, 40, 1), server.unprotectRtp(p65535), "reordered packet from ROC 0");
        assertEquals(1, server.receiveRoc(SSRC));
    }

    @ParameterizedTest
    @EnumSource(SrtpProfile.class)
    void protectRtp_afterManyWraps_keepsSenderAndReceiverRocInStep(SrtpProfile profile) throws Exception {
        SrtpKeyingMaterial km = keys(profile, 6);
        SrtpSession server = SrtpSession.forServer(km);
        SrtpSession client = SrtpSession.forClient(km);
        client.setSendRoc(SSRC, 65000, 7);
        server.setReceiveRoc(SSRC, 65000, 7);
        for (int seq = 65000; seq < 65536 + 100; seq += 50) {
            byte[] plain = rtp(seq & 0xffff, SSRC, 30, 2);
            assertArrayEquals(plain, server.unprotectRtp(client.protectRtp(plain)));
        }
        assertEquals(8, server.receiveRoc(SSRC));
    }

    @ParameterizedTest
    @EnumSource(SrtpProfile.class)
    void unprotectRtp_withReceiverRocOutOfStep_isAuthFail(SrtpProfile profile) throws Exception {
        SrtpKeyingMaterial km = keys(profile, 7);
        SrtpSession server = SrtpSession.forServer(km);
        SrtpSession client = SrtpSession.forClient(km);
        client.setSendRoc(SSRC, 100, 3);
        server.setReceiveRoc(SSRC, 100, 2);
        SrtpException e = assertThrows(SrtpException.class,
                () -> server.unprotectRtp(client.protectRtp(rtp(100, SSRC, 30, 2))));
        assertEquals(SrtpRejection.AUTH_FAIL, e.reason(), "the ROC is authenticated");
    }

    @ParameterizedTest
    @EnumSource(SrtpProfile.class)
    void unprotectRtp_sameIndexTwice_isReplay(SrtpProfile profile) throws Exception {
        SrtpKeyingMaterial km = keys(profile, 8);
        SrtpSession server = SrtpSession.forServer(km);
        SrtpSession client = SrtpSession.forClient(km);
        byte[] prot = client.protectRtp(rtp(500, SSRC, 20, 3));
        server.unprotectRtp(prot);
        SrtpException e = assertThrows(SrtpException.class, () -> server.unprotectRtp(prot));
        assertEquals(SrtpRejection.REPLAY, e.reason());
    }

    @ParameterizedTest
    @EnumSource(SrtpProfile.class)
    void unprotectRtp_olderThanWindow_isTooOld(SrtpProfile profile) throws Exception {
        SrtpKeyingMaterial km = keys(profile, 9);
        SrtpSession server = SrtpSession.forServer(km);
        SrtpSession client = SrtpSession.forClient(km);
        byte[] first = client.protectRtp(rtp(1000, SSRC, 20, 3));
        byte[] later = client.protectRtp(rtp(1000 + ReplayWindow.SIZE, SSRC, 20, 3));
        byte[] inWindow = client.protectRtp(rtp(1001, SSRC, 20, 3));
        server.unprotectRtp(later);
        SrtpException e = assertThrows(SrtpException.class, () -> server.unprotectRtp(first));
        assertEquals(SrtpRejection.TOO_OLD, e.reason());
        server.unprotectRtp(inWindow); // 127 behind: still inside the window
    }

    @ParameterizedTest
    @EnumSource(SrtpProfile.class)
    void unprotectRtp_reorderedInsideWindow_isAccepted(SrtpProfile profile) throws Exception {
        SrtpKeyingMaterial km = keys(profile, 10);
        SrtpSession server = SrtpSession.forServer(km);
        SrtpSession client = SrtpSession.forClient(km);
        byte[][] prot = new byte[10][];
        for (int i = 0; i < 10; i++) {
            prot[i] = client.protectRtp(rtp(2000 + i, SSRC, 20, 4));
        }
        for (int i : new int[] {0, 5, 3, 9, 1, 2, 8, 4, 7, 6}) {
            assertArrayEquals(rtp(2000 + i, SSRC, 20, 4), server.unprotectRtp(prot[i]));
        }
    }

    @ParameterizedTest
    @EnumSource(SrtpProfile.class)
    void unprotectRtcp_sameIndexTwice_isReplay(SrtpProfile profile) throws Exception {
        SrtpKeyingMaterial km = keys(profile, 11);
        SrtpSession server = SrtpSession.forServer(km);
        SrtpSession client = SrtpSession.forClient(km);
        byte[] prot = client.protectRtcp(rtcpSenderReport(SSRC));
        server.unprotectRtcp(prot);
        SrtpException e = assertThrows(SrtpException.class, () -> server.unprotectRtcp(prot));
        assertEquals(SrtpRejection.REPLAY, e.reason());
    }

    @ParameterizedTest
    @EnumSource(SrtpProfile.class)
    void unprotect_anySingleBitFlipped_isAuthFail(SrtpProfile profile) throws Exception {
        SrtpKeyingMaterial km = keys(profile, 12);
        SrtpSession client = SrtpSession.forClient(km);
        byte[] prot = client.protectRtp(rtp(42, SSRC, 33, 5));
        byte[] protRtcp = client.protectRtcp(rtcpSenderReport(SSRC));
        // Every byte after the first two (V/P/X/CC and M/PT change the header layout) and every bit in it.
        for (int i = 2; i < prot.length; i++) {
            if (i >= 8 && i < 12) {
                continue; // SSRC bytes: a different SSRC is a different (new) stream, still AUTH_FAIL below
            }
            for (int bit = 0; bit < 8; bit += 3) {
                byte[] t = prot.clone();
                t[i] ^= (byte) (1 << bit);
                SrtpSession server = SrtpSession.forServer(km);
                SrtpException e = assertThrows(SrtpException.class, () -> server.unprotectRtp(t), "byte " + i);
                assertEquals(SrtpRejection.AUTH_FAIL, e.reason(), "byte " + i);
                assertEquals(-1, server.receiveRoc(SrtpSession.readInt(t, 8)), "no state for a forged packet");
            }
        }
        for (int i = 8; i < protRtcp.length; i++) {
            byte[] t = protRtcp.clone();
            t[i] ^= 0x10;
            SrtpSession server = SrtpSession.forServer(km);
            SrtpException e = assertThrows(SrtpException.class, () -> server.unprotectRtcp(t), "rtcp byte " + i);
            assertEquals(SrtpRejection.AUTH_FAIL, e.reason(), "rtcp byte " + i);
        }
    }

    @ParameterizedTest
    @EnumSource(SrtpProfile.class)
    void unprotect_withOtherSessionsKeys_isAuthFail(SrtpProfile profile) throws Exception {
        SrtpSession client = SrtpSession.forClient(keys(profile, 13));
        SrtpSession stranger = SrtpSession.forServer(keys(profile, 14));
        SrtpException e = assertThrows(SrtpException.class,
                () -> stranger.unprotectRtp(client.protectRtp(rtp(1, SSRC, 10, 1))));
        assertEquals(SrtpRejection.AUTH_FAIL, e.reason());
        SrtpException e2 = assertThrows(SrtpException.class,
                () -> stranger.unprotectRtcp(client.protectRtcp(rtcpSenderReport(SSRC))));
        assertEquals(SrtpRejection.AUTH_FAIL, e2.reason());
    }

    @ParameterizedTest
    @EnumSource(SrtpProfile.class)
    void unprotect_truncatedOrWrongVersion_isTypedRejection(SrtpProfile profile) throws Exception {
        SrtpSession server = SrtpSession.forServer(keys(profile, 15));
        assertEquals(SrtpRejection.TOO_SHORT,
                assertThrows(SrtpException.class, () -> server.unprotectRtp(new byte[5])).reason());
        byte[] headerOnly = rtp(1, SSRC, 0, 1);
        assertEquals(SrtpRejection.TOO_SHORT,
                assertThrows(SrtpException.class, () -> server.unprotectRtp(headerOnly)).reason());
        byte[] v1 = rtp(1, SSRC, 40, 1);
        v1[0] = 0x40;
        assertEquals(SrtpRejection.MALFORMED,
                assertThrows(SrtpException.class, () -> server.unprotectRtp(v1)).reason());
        byte[] manyCsrc = rtp(1, SSRC, 10, 1);
        manyCsrc[0] = (byte) 0x8F; // 15 CSRCs = 60 bytes, longer than the packet
        assertEquals(SrtpRejection.MALFORMED,
                assertThrows(SrtpException.class, () -> server.unprotectRtp(manyCsrc)).reason());
        assertEquals(SrtpRejection.TOO_SHORT,
                assertThrows(SrtpException.class, () -> server.unprotectRtcp(new byte[12])).reason());
        assertEquals(SrtpRejection.MALFORMED,
                assertThrows(SrtpException.class, () -> server.unprotectRtp(new byte[40], 30, 20)).reason());
    }

    @ParameterizedTest
    @EnumSource(SrtpProfile.class)
    void protectRtp_sameIndexTwice_givesIdenticalBytesForRetransmission(SrtpProfile profile) throws Exception {
        SrtpSession client = SrtpSession.forClient(keys(profile, 16));
        byte[] plain = rtp(77, SSRC, 100, 1);
        byte[] a = client.protectRtp(plain);
        byte[] b = client.protectRtp(plain);
        assertArrayEquals(a, b);
    }

    @ParameterizedTest
    @EnumSource(SrtpProfile.class)
    void protectRtp_pastMaximumIndex_isIndexExhausted(SrtpProfile profile) throws Exception {
        SrtpSession client = SrtpSession.forClient(keys(profile, 17));
        client.setSendRoc(SSRC, 65535, 0xFFFFFFFFL);
        client.protectRtp(rtp(65535, SSRC, 10, 1)); // index 2^48 - 1: the last one
        SrtpException e = assertThrows(SrtpException.class, () -> client.protectRtp(rtp(0, SSRC, 10, 1)));
        assertEquals(SrtpRejection.INDEX_EXHAUSTED, e.reason());
    }

    @ParameterizedTest
    @EnumSource(SrtpProfile.class)
    void protectRtcp_pastMaximumIndex_isIndexExhausted(SrtpProfile profile) throws Exception {
        SrtpSession client = SrtpSession.forClient(keys(profile, 18));
        client.setSendRtcpIndex(SSRC, 0x7fffffff);
        client.protectRtcp(rtcpSenderReport(SSRC));
        SrtpException e = assertThrows(SrtpException.class, () -> client.protectRtcp(rtcpSenderReport(SSRC)));
        assertEquals(SrtpRejection.INDEX_EXHAUSTED, e.reason());
    }

    @ParameterizedTest
    @EnumSource(SrtpProfile.class)
    void protectRtcp_unencrypted_isAuthenticatedAndAccepted(SrtpProfile profile) throws Exception {
        SrtpKeyingMaterial km = keys(profile, 19);
        SrtpSession server = SrtpSession.forServer(km);
        SrtpSession client = SrtpSession.forClient(km);
        byte[] sr = rtcpSenderReport(SSRC);
        byte[] prot = client.protectRtcp(sr, 0, sr.length, false);
        assertArrayEquals(sr, Arrays.copyOf(prot, sr.length), "E = 0: the packet stays in the clear");
        assertArrayEquals(sr, server.unprotectRtcp(prot));
    }

    @Test
    void unprotectRtp_newSsrcBeyondCap_isTooManyStreams() throws Exception {
        SrtpKeyingMaterial km = keys(SrtpProfile.AEAD_AES_128_GCM, 20);
        SrtpSession server = SrtpSession.forServer(km);
        SrtpSession client = SrtpSession.forClient(km);
        for (int i = 0; i < SrtpSession.MAX_STREAMS; i++) {
            server.unprotectRtp(client.protectRtp(rtp(1, i, 4, 1)));
        }
        SrtpException e = assertThrows(SrtpException.class,
                () -> server.unprotectRtp(client.protectRtp(rtp(1, SrtpSession.MAX_STREAMS, 4, 1))));
        assertEquals(SrtpRejection.TOO_MANY_STREAMS, e.reason());
    }

    @Test
    void keyingMaterial_fromDtlsExport_splitsClientServerKeysAndSalts() throws Exception {
        byte[] exported = new byte[60];
        for (int i = 0; i < exported.length; i++) {
            exported[i] = (byte) i;
        }
        SrtpKeyingMaterial km = SrtpKeyingMaterial.fromDtlsExport(SrtpProfile.AES_CM_128_HMAC_SHA1_80, exported);
        assertArrayEquals(Arrays.copyOfRange(exported, 0, 16), km.clientKey());
        assertArrayEquals(Arrays.copyOfRange(exported, 16, 32), km.serverKey());
        assertArrayEquals(Arrays.copyOfRange(exported, 32, 46), km.clientSalt());
        assertArrayEquals(Arrays.copyOfRange(exported, 46, 60), km.serverSalt());
        assertFalse(km.toString().contains("00010203"));
        assertThrows(java.security.GeneralSecurityException.class,
                () -> SrtpKeyingMaterial.fromDtlsExport(SrtpProfile.AEAD_AES_128_GCM, exported));
        SrtpKeyingMaterial gcm = SrtpKeyingMaterial.fromDtlsExport(SrtpProfile.AEAD_AES_128_GCM,
                Arrays.copyOf(exported, 56));
        assertArrayEquals(Arrays.copyOfRange(exported, 44, 56), gcm.serverSalt());
        assertTrue(gcm.sameKeysAs(SrtpKeyingMaterial.fromDtlsExport(SrtpProfile.AEAD_AES_128_GCM,
                Arrays.copyOf(exported, 56))));
    }
}
