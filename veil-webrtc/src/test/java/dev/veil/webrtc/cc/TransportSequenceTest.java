package dev.veil.webrtc.cc;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.veil.webrtc.rtp.HeaderExtension;
import dev.veil.webrtc.rtp.RtpHeader;
import dev.veil.webrtc.rtp.RtpPacket;
import dev.veil.webrtc.sdp.Extmap;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class TransportSequenceTest {

    private static byte[] packet(List<HeaderExtension> ext, int csrcs) {
        RtpHeader h = RtpHeader.of(false, 96, 1, 2, 3).withExtensions(ext);
        if (csrcs > 0) {
            h = new RtpHeader(false, 96, 1, 2, 3, java.util.Collections.nCopies(csrcs, 9L), h.extensionProfile(),
                    h.extensions(), null);
        }
        return RtpPacket.build(h, new byte[] {1, 2, 3}, 0, 3);
    }

    @Test
    void findsTheSequenceNumberInOneAndTwoByteForms() {
        byte[] p = packet(List.of(new HeaderExtension(1, "0".getBytes()), new HeaderExtension(3, new byte[] {(byte) 0xAB, 0x12})), 0);
        assertEquals(0xAB12, TransportSequence.find(p, 0, p.length, 3));
        assertEquals(-1, TransportSequence.find(p, 0, p.length, 1), "mid is not 2 bytes");
        assertEquals(-1, TransportSequence.find(p, 0, p.length, 4));
        byte[] two = packet(List.of(new HeaderExtension(20, new byte[0]), new HeaderExtension(3, new byte[] {0, 7})), 2);
        assertEquals(0x1000, ((two[12 + 8] & 0xFF) << 8 | (two[12 + 9] & 0xF0)), "two-byte form");
        assertEquals(7, TransportSequence.find(two, 0, two.length, 3));
        byte[] none = packet(List.of(), 0);
        assertEquals(-1, TransportSequence.find(none, 0, none.length, 3));
    }

    @Test
    void aHandWrittenChromiumStylePacket() {
        // V=2 X=1, PT 96, one-byte extension block of 2 words: id 3 len 2 (0x0102), id 1 "0", padding
        byte[] p = HexFormat.of().parseHex("90600001" + "00000002" + "00000003" + "bede0002" + "310102" + "1030" + "000000" + "aabb");
        assertEquals(0x0102, TransportSequence.find(p, 0, p.length, 3));
    }

    @Test
    void neverThrowsOnGarbage() {
        Random r = new Random(5);
        for (int i = 0; i < 100_000; i++) {
            byte[] b = new byte[r.nextInt(40)];
            r.nextBytes(b);
            if (b.length > 0) {
                b[0] = (byte) (0x90 | (b[0] & 0x0F));
            }
            int v = TransportSequence.find(b, 0, b.length, 1 + r.nextInt(14));
            assertEquals(true, v >= -1 && v <= 0xFFFF);
        }
        assertEquals(-1, TransportSequence.find(null, 0, 0, 3));
    }

    @Test
    void theUriIsTheSdpConstant() {
        assertEquals(Extmap.TRANSPORT_WIDE_CC, TransportSequence.URI);
    }
}
