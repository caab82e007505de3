package dev.veil.webrtc.srtp;

import static dev.veil.webrtc.srtp.TestVectors.hex;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** RFC 3711 Appendix B and RFC 7714 §16-17, from src/test/resources/dev/veil/webrtc/srtp/srtp-vectors.txt. */
class SrtpRfcVectorsTest {
    private static Map<String, Map<String, String>> vectors;

    @BeforeAll
    static void load() throws Exception {
        vectors = TestVectors.load("srtp-vectors.txt");
    }

    private static Map<String, String> v(String name) {
        Map<String, String> m = vectors.get(name);
        if (m == null) {
            throw new AssertionError("no vector " + name);
        }
        return m;
    }

    @Test
    void rfc3711B2_aesCmKeystream_matchesEveryListedBlock() throws Exception {
        Map<String, String> v = v("rfc3711-b2-aes-cm-keystream");
        byte[] counter = new byte[16];
        AesCmHmacSrtpCipher.counterBlock(counter, hex(v.get("session_salt")),
                (int) Long.parseLong(v.get("ssrc"), 16), Long.parseLong(v.get("index"), 16));
        assertArrayEquals(hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000"), counter);
        // The RFC's segment is 65282 blocks long; produce all of it and check the blocks it lists.
        byte[] keystream = SrtpKdf.keystream(hex(v.get("session_key")), counter, 65282 * 16);
        int checked = 0;
        for (Map.Entry<String, String> e : v.entrySet()) {
            if (e.getKey().startsWith("keystream.")) {
                int block = Integer.parseInt(e.getKey().substring("keystream.".length()), 16);
                assertArrayEquals(hex(e.getValue()), Arrays.copyOfRange(keystream, block * 16, block * 16 + 16),
                        "keystream block " + e.getKey());
                checked++;
            }
        }
        assertEquals(6, checked);
    }

    @Test
    void rfc3711B3_keyDerivation_matchesCipherKeySaltAndAuthKey() throws Exception {
        Map<String, String> v = v("rfc3711-b3-key-derivation");
        byte[] mk = hex(v.get("master_key"));
        byte[] ms = hex(v.get("master_salt"));
        assertArrayEquals(hex(v.get("cipher_key")), SrtpKdf.derive(mk, ms, SrtpKdf.LABEL_RTP_ENCRYPTION, 16));
        assertArrayEquals(hex(v.get("cipher_salt")), SrtpKdf.derive(mk, ms, SrtpKdf.LABEL_RTP_SALT, 14));
        byte[] auth = hex(v.get("auth_key"));
        assertEquals(94, auth.length);
        assertArrayEquals(auth, SrtpKdf.derive(mk, ms, SrtpKdf.LABEL_RTP_AUTH, 94));
    }

    @Test
    void rfc7714_16_1_1_protectRtp_matchesEncryptedAndTaggedPacket() throws Exception {
        Map<String, String> v = v("rfc7714-16.1.1-srtp-aead-aes-128-gcm");
        SrtpSession s = gcmSession(v);
        assertArrayEquals(hex(v.get("protected")), s.protectRtp(hex(v.get("plain"))));
    }

    @Test
    void rfc7714_16_1_1_iv_matchesRfc() throws Exception {
        Map<String, String> v = v("rfc7714-16.1.1-srtp-aead-aes-128-gcm");
        AesGcmSrtpCipher c = new AesGcmSrtpCipher(hex(v.get("key")), hex(v.get("salt")));
        byte[] plain = hex(v.get("plain"));
        long index = (Long.parseLong(v.get("roc"), 16) << 16) | SrtpSession.readU16(plain, 2);
        assertArrayEquals(hex(v.get("iv")), c.rtpIvFor(SrtpSession.readInt(plain, 8), index));
    }

    @Test
    void rfc7714_16_1_1_unprotectRtp_recoversPlainPacket() throws Exception {
        Map<String, String> v = v("rfc7714-16.1.1-srtp-aead-aes-128-gcm");
        assertArrayEquals(hex(v.get("plain")), gcmSession(v).unprotectRtp(hex(v.get("protected"))));
    }

    @Test
    void rfc7714_17_1_protectRtcp_matchesEncryptedPacket() throws Exception {
        Map<String, String> v = v("rfc7714-17.1-srtcp-aead-aes-128-gcm-encrypted");
        SrtpSession s = gcmSession(v);
        byte[] plain = hex(v.get("plain"));
        s.setSendRtcpIndex(SrtpSession.readInt(plain, 4), (int) Long.parseLong(v.get("srtcp_index"), 16));
        assertArrayEquals(hex(v.get("protected")), s.protectRtcp(plain));
    }

    @Test
    void rfc7714_17_1_iv_matchesRfc() throws Exception {
        Map<String, String> v = v("rfc7714-17.1-srtcp-aead-aes-128-gcm-encrypted");
        AesGcmSrtpCipher c = new AesGcmSrtpCipher(hex(v.get("key")), hex(v.get("salt")));
        byte[] plain = hex(v.get("plain"));
        assertArrayEquals(hex(v.get("iv")),
                c.rtcpIvFor(SrtpSession.readInt(plain, 4), (int) Long.parseLong(v.get("srtcp_index"), 16)));
    }

    @Test
    void rfc7714_17_1_unprotectRtcp_recoversPlainPacket() throws Exception {
        Map<String, String> v = v("rfc7714-17.1-srtcp-aead-aes-128-gcm-encrypted");
        assertArrayEquals(hex(v.get("plain")), gcmSession(v).unprotectRtcp(hex(v.get("protected"))));
    }

    @Test
    void rfc7714_17_2_protectRtcpUnencrypted_matchesAuthenticatedPacket() throws Exception {
        Map<String, String> v = v("rfc7714-17.2-srtcp-aead-aes-128-gcm-authenticated-only");
        SrtpSession s = gcmSession(v);
        byte[] plain = hex(v.get("plain"));
        s.setSendRtcpIndex(SrtpSession.readInt(plain, 4), (int) Long.parseLong(v.get("srtcp_index"), 16));
        assertArrayEquals(hex(v.get("protected")), s.protectRtcp(plain, 0, plain.length, false));
    }

    @Test
    void rfc7714_17_2_unprotectRtcpWithEbitClear_verifiesAndReturnsPacket() throws Exception {
        Map<String, String> v = v("rfc7714-17.2-srtcp-aead-aes-128-gcm-authenticated-only");
        assertArrayEquals(hex(v.get("plain")), gcmSession(v).unprotectRtcp(hex(v.get("protected"))));
    }

    @Test
    void rfc7714_17_1_tamperedTag_isAuthFail() throws Exception {
        Map<String, String> v = v("rfc7714-17.1-srtcp-aead-aes-128-gcm-encrypted");
        byte[] p = hex(v.get("protected"));
        p[p.length - 6] ^= 0x01;
        SrtpException e = org.junit.jupiter.api.Assertions.assertThrows(SrtpException.class,
                () -> gcmSession(v).unprotectRtcp(p));
        assertEquals(SrtpRejection.AUTH_FAIL, e.reason());
    }

    /** RFC 7714 gives session keys: both directions use the same key and salt. */
    private static SrtpSession gcmSession(Map<String, String> v) throws Exception {
        byte[] key = hex(v.get("key"));
        byte[] salt = hex(v.get("salt"));
        return new SrtpSession(SrtpProfile.AEAD_AES_128_GCM, new AesGcmSrtpCipher(key, salt),
                new AesGcmSrtpCipher(key, salt));
    }
}
