package dev.veil.webrtc.rtcp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.veil.webrtc.rtcp.TransportFeedback.Received;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class TransportFeedbackTest {

    private static final HexFormat HEX = HexFormat.of();

    /**
     * Hand-assembled from the draft's §3.1 diagram: base 65534 (the range wraps), 5 statuses (received small,
     * lost, received large +256, received large -4, received small 255) in one two-bit status vector chunk.
     */
    private static final String WRAP_VECTOR_HEX =
            "8fcd0006" // V=2 FMT=15 PT=205 length 6 (28 bytes)
            + "01020304" // sender SSRC
            + "05060708" // media source SSRC
            + "fffe0005" // base 65534, status count 5
            + "00010207" // reference time 0x000102, feedback packet count 7
            + "d290" // T=1 S=1: 01 00 10 10 01 (+ two unused symbols)
            + "04" + "0100" + "fffc" + "ff"; // deltas: 4, 256, -4, 255

    /** One received packet: a run length chunk, one small delta, one byte of padding (P bit, count 1). */
    private static final String PADDED_VECTOR_HEX =
            "afcd0005" + "00000001" + "00000002" + "00640001" + "00000000" + "2001" + "00" + "01";

    @Test
    void encodesTheWrapVector() throws Exception {
        TransportFeedback fb = new TransportFeedback(0x01020304L, 0x05060708L, 65534, 5, 0x000102, 7,
                List.of(new Received(65534, 4), new Received(0, 256), new Received(1, -4), new Received(2, 255)));
        assertEquals(WRAP_VECTOR_HEX, HEX.formatHex(fb.encode()));
        assertEquals(fb, RtcpCompound.parse(HEX.parseHex(WRAP_VECTOR_HEX)).get(0));
    }

    @Test
    void padsWithThePaddingBitAndCountLikeLibwebrtc() throws Exception {
        TransportFeedback fb = new TransportFeedback(1, 2, 100, 1, 0, 0, List.of(new Received(100, 0)));
        assertEquals(PADDED_VECTOR_HEX, HEX.formatHex(fb.encode()));
        List<RtcpPacket> parsed = RtcpCompound.parse(HEX.parseHex(PADDED_VECTOR_HEX));
        assertEquals(List.of(fb), parsed);
    }

    @Test
    void choosesRunLengthOneBitAndTwoBitChunks() {
        // 20 lost then one received: a run of 20 lost, then a run of 1
        assertEquals(List.of(0x0014, 0x2001), TransportFeedback.chunks(statuses("00000000000000000000" + "1")));
        // 14 alternating small/lost: one one-bit vector
        assertEquals(List.of(0x8000 | 0b10101010101010), TransportFeedback.chunks(statuses("10101010101010")));
        // a large delta among them: two-bit vectors of 7
        assertEquals(List.of(0xC000 | 0b01000100010001, 0xC000 | 0b10000100010000),
                TransportFeedback.chunks(statuses("1010101" + "201010")));
        // 8 large deltas then 1 small: a run of 8 twos (two-bit would need 2 chunks), then a run of 1
        assertEquals(List.of(0x4008, 0x2001), TransportFeedback.chunks(statuses("222222221")));
        // a run longer than 8191 is split
        String longRun = "0".repeat(9000) + "1";
        assertEquals(List.of(0x1FFF, 809, 0x2001), TransportFeedback.chunks(statuses(longRun)));
    }

    private static byte[] statuses(String s) {
        byte[] b = new byte[s.length()];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) (s.charAt(i) - '0');
        }
        return b;
    }

    @Test
    void roundTripsRandomFeedback() throws Exception {
        Random r = new Random(42);
        for (int iter = 0; iter < 2000; iter++) {
            int base = r.nextInt(0x10000);
            int count = 1 + r.nextInt(r.nextBoolean() ? 40 : 3000);
            List<Received> rec = new ArrayList<>();
            double lossRate = r.nextDouble();
            for (int i = 0; i < count; i++) {
                if (r.nextDouble() >= lossRate || (i == count - 1 && rec.isEmpty())) {
                    int delta = switch (r.nextInt(4)) {
                        case 0 -> r.nextInt(256);
                        case 1 -> r.nextInt(65536) - 32768;
                        case 2 -> 0;
                        default -> r.nextInt(40);
                    };
                    rec.add(new Received((base + i) & 0xFFFF, delta));
                }
            }
            TransportFeedback fb = new TransportFeedback(r.nextLong() & 0xFFFF_FFFFL, r.nextLong() & 0xFFFF_FFFFL,
                    base, count, r.nextInt(1 << 24), r.nextInt(256), rec);
            byte[] wire = fb.encode();
            assertEquals(0, wire.length % 4);
            assertEquals(wire.length, fb.encodedLength());
            List<RtcpPacket> parsed = RtcpCompound.parse(wire);
            assertEquals(1, parsed.size());
            assertEquals(fb, parsed.get(0));
        }
    }

    @Test
    void arrivalTicksAccumulateFromTheReferenceTime() {
        TransportFeedback fb = new TransportFeedback(1, 2, 10, 3, 5, 0,
                List.of(new Received(10, 3), new Received(12, -1)));
        assertArrayEquals(new long[] {5 * 256 + 3, 5 * 256 + 2}, fb.arrivalTicks());
    }

    @Test
    void rejectsMalformedPackets() {
        // status count 0
        assertThrows(RtcpException.class, () -> RtcpCompound.parse(HEX.parseHex(
                "8fcd0005" + "00000001" + "00000002" + "00640000" + "00000000" + "20010001")));
        // chunks end before the statuses: count 40, one run of 1
        assertThrows(RtcpException.class, () -> RtcpCompound.parse(HEX.parseHex(
                "8fcd0005" + "00000001" + "00000002" + "00640028" + "00000000" + "20010000")));
        // reserved symbol in a run length chunk (S=3)
        assertThrows(RtcpException.class, () -> RtcpCompound.parse(HEX.parseHex(
                "8fcd0005" + "00000001" + "00000002" + "00640001" + "00000000" + "60010000")));
        // reserved symbol in a two-bit vector
        assertThrows(RtcpException.class, () -> RtcpCompound.parse(HEX.parseHex(
                "8fcd0005" + "00000001" + "00000002" + "00640001" + "00000000" + "f0000000")));
        // a large delta cut off: one status "large", but only one delta byte before the end
        assertThrows(RtcpException.class, () -> RtcpCompound.parse(HEX.parseHex(
                "afcd0005" + "00000001" + "00000002" + "00640001" + "00000000" + "4001" + "00" + "01")));
        // shorter than the header
        assertThrows(RtcpException.class, () -> RtcpCompound.parse(HEX.parseHex(
                "8fcd0003" + "00000001" + "00000002" + "00640001")));
    }

    @Test
    void aHugeClaimedStatusCountIsBoundedByTheCountField() throws Exception {
        // 65529 statuses claimed by 8 run length chunks of 8191 lost and a run of 1 received: 40 bytes of input
        // stand for 64 KiB of statuses, which is the most any packet can claim (the count field is 16 bits)
        StringBuilder ok = new StringBuilder("8fcd0000" + "00000001" + "00000002" + "0000fff9" + "00000000");
        for (int i = 0; i < 8; i++) {
            ok.append("1fff");
        }
        ok.append("2001").append("05").append("00");
        byte[] w2 = HEX.parseHex(ok.toString());
        w2[3] = (byte) (w2.length / 4 - 1);
        TransportFeedback fb = assertInstanceOf(TransportFeedback.class, RtcpCompound.parse(w2).get(0));
        assertEquals(65529, fb.packetStatusCount());
        assertEquals(List.of(new Received(65528, 5)), fb.received());
    }

    @Test
    void validatesItsFields() {
        assertThrows(IllegalArgumentException.class, () -> new TransportFeedback(1, 2, 0, 0, 0, 0, List.of()));
        assertThrows(IllegalArgumentException.class, () -> new TransportFeedback(1, 2, 0, 2, 1 << 24, 0, List.of()));
        assertThrows(IllegalArgumentException.class,
                () -> new TransportFeedback(1, 2, 0, 2, 0, 0, List.of(new Received(2, 0))));
        assertThrows(IllegalArgumentException.class, () -> new TransportFeedback(1, 2, 0, 3, 0, 0,
                List.of(new Received(1, 0), new Received(0, 0))));
        assertThrows(IllegalArgumentException.class, () -> new Received(0, 40000));
        assertTrue(new Received(0, 255).small());
        assertTrue(!new Received(0, -1).small());
    }
}
