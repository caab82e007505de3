package dev.veil.webrtc.srtp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import org.jitsi.srtp.SrtcpCryptoContext;
import org.jitsi.srtp.SrtpContextFactory;
import org.jitsi.srtp.SrtpCryptoContext;
import org.jitsi.srtp.SrtpErrorStatus;
import org.jitsi.srtp.SrtpPolicy;
import org.jitsi.srtp.crypto.Aes;
import org.jitsi.utils.ByteArrayBuffer;
import org.jitsi.utils.logging2.LoggerImpl;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Cross-check against an independent implementation, jitsi-srtp (the one Jitsi Videobridge runs against browsers):
 * packets protected by one side must unprotect on the other, both directions, both profiles, across a sequence
 * number wrap, for SRTP and SRTCP. This covers what the RFC vectors do not: the AES-CM packet formats (tag over
 * ROC, SRTCP E || index) and the GCM key derivation from a 96-bit master salt.
 */
class JitsiSrtpCrossCheckTest {
    private static final int SSRC = 0x1234ABCD;

    @BeforeAll
    static void useSunJce() {
        Aes.setFactoryClassName("SunJCE"); // skip jitsi's start-up micro-benchmark of AES providers
    }

    private static SrtpPolicy policy(SrtpProfile p) {
        return p.isAead()
                ? new SrtpPolicy(SrtpPolicy.AESGCM_ENCRYPTION, p.keyLength(), SrtpPolicy.NULL_AUTHENTICATION, 0,
                        p.tagLength(), p.saltLength())
                : new SrtpPolicy(SrtpPolicy.AESCM_ENCRYPTION, p.keyLength(), SrtpPolicy.HMACSHA1_AUTHENTICATION,
                        p.authKeyLength(), p.tagLength(), p.saltLength());
    }

    private static SrtpContextFactory jitsi(boolean sender, SrtpProfile p, byte[] key, byte[] salt) {
        return new SrtpContextFactory(sender, key, salt, policy(p), policy(p), new LoggerImpl("jitsi-srtp"));
    }

    @ParameterizedTest
    @EnumSource(SrtpProfile.class)
    void rtp_oursToJitsiAndBack_acrossSequenceWrap(SrtpProfile profile) throws Exception {
        SrtpKeyingMaterial km = SrtpSessionTest.keys(profile, 77);
        SrtpSession client = SrtpSession.forClient(km);
        SrtpCryptoContext jitsiReceiver = jitsi(false, profile, km.clientKey(), km.clientSalt()).deriveContext(SSRC, 0);
        SrtpCryptoContext jitsiSender = jitsi(true, profile, km.serverKey(), km.serverSalt()).deriveContext(SSRC, 0);
        for (int i = 0; i < 16; i++) {
            int seq = (65528 + i) & 0xffff;
            byte[] plain = SrtpSessionTest.rtp(seq, SSRC, 100 + i, 3);

            Buf up = new Buf(client.protectRtp(plain));
            assertEquals(SrtpErrorStatus.OK, jitsiReceiver.reverseTransformPacket(up, false), "seq " + seq);
            assertArrayEquals(plain, up.bytes(), "jitsi decrypts ours, seq " + seq);

            Buf down = new Buf(plain.clone());
            assertEquals(SrtpErrorStatus.OK, jitsiSender.transformPacket(down));
            assertArrayEquals(plain, client.unprotectRtp(down.bytes()), "we decrypt jitsi's, seq " + seq);
        }
    }

    @ParameterizedTest
    @EnumSource(SrtpProfile.class)
    void rtp_sameKeysAndIndex_giveIdenticalBytes(SrtpProfile profile) throws Exception {
        SrtpKeyingMaterial km = SrtpSessionTest.keys(profile, 78);
        SrtpSession server = SrtpSession.forServer(km);
        SrtpCryptoContext jitsiSender = jitsi(true, profile, km.serverKey(), km.serverSalt()).deriveContext(SSRC, 0);
        byte[] plain = SrtpSessionTest.rtp(321, SSRC, 60, 4);
        Buf theirs = new Buf(plain.clone());
        jitsiSender.transformPacket(theirs);
        assertArrayEquals(theirs.bytes(), server.protectRtp(plain));
    }

    @ParameterizedTest
    @EnumSource(SrtpProfile.class)
    void rtcp_oursToJitsiAndBack(SrtpProfile profile) throws Exception {
        SrtpKeyingMaterial km = SrtpSessionTest.keys(profile, 79);
        SrtpSession client = SrtpSession.forClient(km);
        SrtcpCryptoContext jitsiReceiver = jitsi(false, profile, km.clientKey(), km.clientSalt())
                .deriveControlContext(SSRC);
        SrtcpCryptoContext jitsiSender = jitsi(true, profile, km.serverKey(), km.serverSalt())
                .deriveControlContext(SSRC);
        for (int i = 0; i < 5; i++) {
            byte[] plain = SrtpSessionTest.rtcpSenderReport(SSRC);
            plain[20] = (byte) i;
            Buf up = new Buf(client.protectRtcp(plain));
            assertEquals(SrtpErrorStatus.OK, jitsiReceiver.reverseTransformPacket(up));
            assertArrayEquals(plain, up.bytes());

            Buf down = new Buf(plain.clone());
            assertEquals(SrtpErrorStatus.OK, jitsiSender.transformPacket(down));
            assertArrayEquals(plain, client.unprotectRtcp(down.bytes()));
        }
    }

    /** A growable ByteArrayBuffer for jitsi's in-place transforms. */
    private static final class Buf implements ByteArrayBuffer {
        private byte[] buffer;
        private int offset;
        private int length;

        Buf(byte[] data) {
            buffer = Arrays.copyOf(data, data.length + 64);
            length = data.length;
        }

        byte[] bytes() {
            return Arrays.copyOfRange(buffer, offset, offset + length);
        }

        @Override
        public byte[] getBuffer() {
            return buffer;
        }

        @Override
        public int getOffset() {
            return offset;
        }

        @Override
        public int getLength() {
            return length;
        }

        @Override
        public void setLength(int len) {
            length = len;
        }

        @Override
        public void setOffset(int off) {
            offset = off;
        }

        @Override
        public boolean isInvalid() {
            return false;
        }

        @Override
        public void readRegionToBuff(int off, int len, byte[] out) {
            System.arraycopy(buffer, offset + off, out, 0, len);
        }

        @Override
        public void grow(int howMuch) {
            if (buffer.length - offset - length < howMuch) {
                buffer = Arrays.copyOf(buffer, offset + length + howMuch + 64);
            }
        }

        @Override
        public void append(byte[] data, int len) {
            grow(len);
            System.arraycopy(data, 0, buffer, offset + length, len);
            length += len;
        }

        @Override
        public void shrink(int len) {
            length = Math.max(0, length - len);
        }
    }
}
