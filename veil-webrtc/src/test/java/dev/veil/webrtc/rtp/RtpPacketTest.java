package dev.veil.webrtc.rtp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class RtpPacketTest {

    private static final HexFormat HEX = HexFormat.of();

    @Test
    void parse_handBuiltPacket_readsEveryField() throws Exception {
        // V=2 P=0 X=0 CC=0 | M=1 PT=111 | seq 0x1234 | ts 0xDEADBEEF | ssrc 0x01020304 | payload 3 bytes
        byte[] b = HEX.parseHex("80ef1234deadbeef01020304aabbcc");
        RtpPacket p = RtpPacket.parse(b);
        RtpHeader h = p.header();
        assertTrue(h.marker());
        assertEquals(111, h.payloadType());
        assertEquals(0x1234, h.sequenceNumber());
        assertEquals(0xDEADBEEFL, h.timestamp());
        assertEquals(0x01020304L, h.ssrc());
        assertEquals(-1, h.extensionProfile());
        assertEquals(12, p.headerLength());
        assertEquals(12, p.payloadOffset());
        assertEquals(3, p.payloadLength());
        assertSame(b, p.buffer(), "no copy");
    }

    @Test
    void parse_oneByteExtensionsCsrcsAndPadding_readsAll() throws Exception {
        // X=1, P=1, CC=2; ext profile BEDE, 2 words: id1 len1 (0x30 0x31) , id3 len0 (0x77), pad 0x00
        byte[] b = HEX.parseHex("b260000100000064000000070000000a0000000b"
                + "bede0002" + "113031" + "3077" + "000000" + "cafe" + "000003");
        RtpPacket p = RtpPacket.parse(b);
        RtpHeader h = p.header();
        assertEquals(List.of(10L, 11L), h.csrcs());
        assertEquals(RtpHeader.PROFILE_ONE_BYTE, h.extensionProfile());
        assertEquals(List.of(new HeaderExtension(1, new byte[] {0x30, 0x31}), new HeaderExtension(3, new byte[] {0x77})),
                h.extensions());
        assertEquals(12 + 8 + 4 + 8, p.headerLength());
        assertEquals(3, p.paddingLength());
        assertEquals(2, p.payloadLength());
        assertEquals((byte) 0xca, b[p.payloadOffset()]);
        // re-encoding the header gives the same bytes
        byte[] again = p.rewrite(h);
        assertArrayEquals(b, again);
    }

    @Test
    void parse_twoByteExtension_readsAndWrites() throws Exception {
        RtpHeader h = RtpHeader.of(false, 96, 65535, 90000, 42).withExtensions(
                List.of(new HeaderExtension(20, new byte[] {1, 2, 3}), new HeaderExtension(2, new byte[0])));
        assertEquals(RtpHeader.PROFILE_TWO_BYTE, h.extensionProfile());
        byte[] pkt = RtpPacket.build(h, new byte[] {9, 8, 7}, 0, 3);
        RtpPacket p = RtpPacket.parse(pkt);
        assertEquals(h, p.header());
        assertEquals(3, p.payloadLength());
        assertEquals(9, pkt[p.payloadOffset()]);
    }

    @Test
    void rewrite_stripAndReplaceExtensions_keepsPayloadAndPadding() throws Exception {
        RtpHeader h = RtpHeader.of(true, 96, 7, 1000, 5).withExtensions(List.of(
                new HeaderExtension(1, "0".getBytes()), new HeaderExtension(3, new byte[] {1, 2, 3})));
        byte[] payload = {10, 11, 12, 13, 14};
        byte[] pkt = RtpPacket.build(h, payload, 0, payload.length);
        RtpPacket p = RtpPacket.parse(pkt);

        byte[] stripped = p.rewrite(p.header().withExtensions(List.of()));
        RtpPacket s = RtpPacket.parse(stripped);
        assertEquals(-1, s.header().extensionProfile());
        assertEquals(12, s.headerLength());
        assertEquals(5, s.payloadLength());
        assertEquals(10, stripped[12]);

        byte[] kept = p.rewrite(p.header().retainExtensions(Set.of(3)));
        RtpPacket k = RtpPacket.parse(kept);
        assertNull(k.header().extension(1));
        assertArrayEquals(new byte[] {1, 2, 3}, k.header().extension(3).data());

        byte[] midRewritten = p.rewrite(p.header().withExtensions(List.of(new HeaderExtension(1, "12".getBytes()))));
        assertArrayEquals("12".getBytes(), RtpPacket.parse(midRewritten).header().extension(1).data());
    }

    @Test
    void inPlaceSetters_rewriteOnlyTheirField() throws Exception {
        byte[] b = HEX.parseHex("80ef1234deadbeef01020304aabbcc");
        RtpPacket.setSequenceNumber(b, 0, 0xFFFF);
        RtpPacket.setTimestamp(b, 0, 0xFFFF_FFFEL);
        RtpPacket.setSsrc(b, 0, 0xCAFEBABEL);
        RtpPacket.setPayloadType(b, 0, 96);
        RtpHeader h = RtpPacket.parse(b).header();
        assertEquals(0xFFFF, h.sequenceNumber());
        assertEquals(0xFFFF_FFFEL, h.timestamp());
        assertEquals(0xCAFEBABEL, h.ssrc());
        assertEquals(96, h.payloadType());
        assertTrue(h.marker());
    }

    @Test
    void parse_genericProfileExtension_keptRaw() throws Exception {
        byte[] b = HEX.parseHex("9060000100000064000000070123000111223344ff");
        RtpHeader h = RtpPacket.parse(b).header();
        assertEquals(0x0123, h.extensionProfile());
        assertArrayEquals(HEX.parseHex("11223344"), h.rawExtension());
        assertTrue(h.extensions().isEmpty());
        assertArrayEquals(b, RtpPacket.parse(b).rewrite(h));
    }

    @Test
    void parse_malformed_throwsRtpException() {
        assertThrows(RtpException.class, () -> RtpPacket.parse(new byte[11]));
        assertThrows(RtpException.class, () -> RtpPacket.parse(HEX.parseHex("40ef1234deadbeef01020304"))); // V=1
        assertThrows(RtpException.class, () -> RtpPacket.parse(HEX.parseHex("83ef1234deadbeef01020304aabbccdd")));
        assertThrows(RtpException.class, () -> RtpPacket.parse(HEX.parseHex("90ef1234deadbeef01020304bede")));
        assertThrows(RtpException.class,
                () -> RtpPacket.parse(HEX.parseHex("90ef1234deadbeef01020304bede000210")));
        assertThrows(RtpException.class, () -> RtpPacket.parse(HEX.parseHex("a0ef1234deadbeef01020304")));
        assertThrows(RtpException.class, () -> RtpPacket.parse(HEX.parseHex("a0ef1234deadbeef01020304aa00")));
        assertThrows(RtpException.class, () -> RtpPacket.parse(HEX.parseHex("a0ef1234deadbeef01020304aa09")));
        // one-byte element longer than the block
        assertThrows(RtpException.class,
                () -> RtpPacket.parse(HEX.parseHex("90ef1234deadbeef01020304bede00011f000000")));
        assertThrows(RtpException.class, () -> RtpPacket.parse(null));
    }

    @Test
    void parse_randomMutations_neverThrowUnchecked() {
        Random r = new Random(3);
        byte[] base = HEX.parseHex("b260000100000064000000070000000a0000000bbede0002113031307700000" + "0cafe000003");
        for (int i = 0; i < 50_000; i++) {
            byte[] b = base.clone();
            for (int f = 0; f < 3; f++) {
                b[r.nextInt(b.length)] = (byte) r.nextInt(256);
            }
            int len = r.nextInt(b.length + 1);
            try {
                RtpPacket p = RtpPacket.parse(b, 0, len);
                assertTrue(p.payloadLength() >= 0);
                p.rewrite(p.header());
            } catch (RtpException expected) {
                // typed rejection
            }
        }
    }

    @Test
    void header_invalidValues_rejected() {
        assertThrows(IllegalArgumentException.class, () -> RtpHeader.of(false, 128, 0, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> RtpHeader.of(false, 1, 65536, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> RtpHeader.of(false, 1, 0, -1, 0));
        assertThrows(IllegalArgumentException.class, () -> new RtpHeader(false, 1, 0, 0, 0, List.of(),
                RtpHeader.PROFILE_ONE_BYTE, List.of(new HeaderExtension(15, new byte[1])), null));
    }

    @Test
    void seqDelta_wrapsAround() {
        assertEquals(1, RtpHeader.seqDelta(65535, 0));
        assertEquals(-1, RtpHeader.seqDelta(0, 65535));
        assertEquals(100, RtpHeader.seqDelta(65500, 64));
        assertFalse(RtpHeader.seqDelta(10, 5) > 0);
    }
}
