package dev.veil.webrtc.srtp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.security.GeneralSecurityException;
import java.util.Arrays;

/**
 * Fuzz targets for SRTP/SRTCP unprotect, the first thing every media datagram from a validated address meets, with
 * fixed keys for both negotiated profiles.
 *
 * <ul>
 *   <li>{@link #unprotect}: arbitrary bytes as SRTP or SRTCP: only {@link SrtpException} (forging a tag is out of
 *       reach, so nothing decrypts), and the per-session stream table stays bounded.
 *   <li>{@link #protectThenTamper}: a fuzzed plain packet that the sender's session protects unprotects to exactly
 *       the same bytes on the receiver's; any single flipped bit in the protected packet is refused.
 * </ul>
 */
class SrtpFuzzTest {

    private static SrtpKeyingMaterial keys(SrtpProfile p) throws GeneralSecurityException {
        byte[] ck = new byte[p.keyLength()];
        byte[] cs = new byte[p.saltLength()];
        byte[] sk = new byte[p.keyLength()];
        byte[] ss = new byte[p.saltLength()];
        for (int i = 0; i < ck.length; i++) {
            ck[i] = (byte) (0x10 + i);
            sk[i] = (byte) (0x50 + i);
        }
        for (int i = 0; i < cs.length; i++) {
            cs[i] = (byte) (0x90 + i);
            ss[i] = (byte) (0xC0 + i);
        }
        return SrtpKeyingMaterial.of(p, ck, cs, sk, ss);
    }

    /** One long-lived receiving session per profile, as a server holds one per peer across many packets. */
    private static final SrtpSession[] SERVER = new SrtpSession[2];

    static {
        try {
            SERVER[0] = SrtpSession.forServer(keys(SrtpProfile.AEAD_AES_128_GCM));
            SERVER[1] = SrtpSession.forServer(keys(SrtpProfile.AES_CM_128_HMAC_SHA1_80));
        } catch (GeneralSecurityException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /**
     * Per profile, the ciphers of a client/server session pair (client tx, client rx, server tx, server rx), keyed
     * once per run: deriving keys and looking up JCA ciphers per input (16 look-ups) was 80 % of the target's time.
     * Each input still gets fresh sessions (stream tables, rollover counters, replay windows); the ciphers carry no
     * per-packet state that changes results (every packet re-initialises them), as in a long-lived session.
     */
    private static final SrtpCipher[][] PAIR = new SrtpCipher[2][];

    static {
        try {
            for (SrtpProfile p : new SrtpProfile[] {SrtpProfile.AEAD_AES_128_GCM, SrtpProfile.AES_CM_128_HMAC_SHA1_80}) {
                SrtpKeyingMaterial k = keys(p);
                PAIR[p == SrtpProfile.AEAD_AES_128_GCM ? 0 : 1] = new SrtpCipher[] {
                    SrtpCipher.create(p, k.clientKey(), k.clientSalt()),
                    SrtpCipher.create(p, k.serverKey(), k.serverSalt()),
                    SrtpCipher.create(p, k.serverKey(), k.serverSalt()),
                    SrtpCipher.create(p, k.clientKey(), k.clientSalt())};
            }
        } catch (GeneralSecurityException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    @FuzzTest
    void unprotect(byte[] data) {
        if (data.length == 0) {
            return;
        }
        SrtpSession s = SERVER[data[0] & 1];
        boolean rtcp = (data[0] & 2) != 0;
        byte[] packet = Arrays.copyOfRange(data, 1, data.length);
        try {
            byte[] plain = rtcp ? s.unprotectRtcp(packet) : s.unprotectRtp(packet);
            throw new AssertionError("unauthenticated " + (rtcp ? "SRTCP" : "SRTP") + " packet of " + packet.length
                    + " bytes decrypted to " + plain.length + " bytes");
        } catch (SrtpException e) {
            // the documented rejection
        }
    }

    @FuzzTest
    void protectThenTamper(FuzzedDataProvider in) throws GeneralSecurityException {
        SrtpProfile profile = in.consumeBoolean() ? SrtpProfile.AEAD_AES_128_GCM : SrtpProfile.AES_CM_128_HMAC_SHA1_80;
        boolean rtcp = in.consumeBoolean();
        int flip = in.consumeInt() & Integer.MAX_VALUE;
        byte[] plain = in.consumeRemainingAsBytes();
        SrtpCipher[] c = PAIR[profile == SrtpProfile.AEAD_AES_128_GCM ? 0 : 1];
        SrtpSession client = new SrtpSession(profile, c[0], c[1]); // = forClient(keys(profile)), fresh state
        SrtpSession server = new SrtpSession(profile, c[2], c[3]); // = forServer(keys(profile)), fresh state
        byte[] wire;
        try {
            wire = rtcp ? client.protectRtcp(plain) : client.protectRtp(plain);
        } catch (SrtpException e) {
            return; // not a packet the sender accepts (header too short or malformed)
        }
        assertTrue(wire.length <= plain.length + 4 + profile.tagLength() + 16, "protected packet grew unboundedly");
        byte[] tampered = wire.clone();
        int bit = flip % (wire.length * 8);
        tampered[bit / 8] ^= (byte) (1 << (bit % 8));
        assertThrows(SrtpException.class,
                () -> unprotect(server, rtcp, tampered), () -> "a packet with bit " + bit + " flipped was accepted");
        assertArrayEquals(plain, unprotect(server, rtcp, wire));
    }

    private static byte[] unprotect(SrtpSession s, boolean rtcp, byte[] wire) throws SrtpException {
        return rtcp ? s.unprotectRtcp(wire) : s.unprotectRtp(wire);
    }
}
