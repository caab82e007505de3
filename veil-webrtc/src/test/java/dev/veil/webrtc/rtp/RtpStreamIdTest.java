package dev.veil.webrtc.rtp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** RFC 8852 RtpStreamId / RepairedRtpStreamId header extensions as the SFU reads them off a parsed packet. */
class RtpStreamIdTest {

    private static byte[] packet(List<HeaderExtension> ext) {
        RtpHeader h = RtpHeader.of(false, 96, 7, 1234, 0xCAFEL).withExtensions(ext);
        return RtpPacket.build(h, new byte[] {0x10, 0, 0, 0}, 0, 4);
    }

    private static HeaderExtension ext(int id, String s) {
        return new HeaderExtension(id, s.getBytes(StandardCharsets.US_ASCII));
    }

    @Test
    void readsTheRidOfItsExtensionIdFromAParsedPacket() throws Exception {
        RtpPacket p = RtpPacket.parse(packet(List.of(ext(1, "0"), ext(4, "q"), ext(5, "h"))));
        assertEquals("q", RtpStreamId.read(p.header(), 4));
        assertEquals("h", RtpStreamId.read(p.header(), 5));
        assertNull(RtpStreamId.read(p.header(), 6), "absent");
        assertNull(RtpStreamId.read(p.header(), 0), "not negotiated");
    }

    @Test
    void twoByteFormAndLongRids() throws Exception {
        String rid = "layer_high-1080p";
        RtpPacket p = RtpPacket.parse(packet(List.of(ext(20, rid + "x"), ext(4, rid))));
        assertEquals(rid, RtpStreamId.read(p.header(), 4));
        assertEquals(rid + "x", RtpStreamId.read(p.header(), 20));
    }

    @Test
    void trailingZerosAreIgnoredAndAnythingButARidIsNone() {
        assertEquals("f", RtpStreamId.parse(new byte[] {'f', 0, 0}));
        assertNull(RtpStreamId.parse(new byte[] {0}));
        assertNull(RtpStreamId.parse(new byte[0]));
        assertNull(RtpStreamId.parse("a b".getBytes(StandardCharsets.US_ASCII)));
        assertNull(RtpStreamId.parse(new byte[] {'q', (byte) 0xC3, (byte) 0xA9}));
        assertNull(RtpStreamId.parse(new byte[] {'q', 0, 'h'}), "a zero inside is not padding");
    }
}
