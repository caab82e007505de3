package dev.veil.webrtc.rtcp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class RtcpCompoundTest {

    private static final HexFormat HEX = HexFormat.of();

    /** A hand-assembled SR (1 report block) + SDES CNAME "ab", byte for byte from the RFC 3550 diagrams. */
    private static final String SR_SDES_HEX =
            "81c8000c" // V=2 RC=1 PT=200 length=12 (52 bytes)
            + "11223344" // sender SSRC
            + "e8a0b1c2" + "80000000" // NTP
            + "0000abcd" // RTP ts
            + "00000010" // packets
            + "00000400" // octets
            + "55667788" // block: SSRC
            + "05fffffe" // fraction 5, cumulative -2
            + "0001000a" // ext highest seq (1 cycle, seq 10)
            + "00000020" // jitter
            + "a0b1c280" // LSR
            + "00010000" // DLSR (1 s)
            + "81ca0003" // SDES SC=1 length=3 (16 bytes)
            + "11223344" + "0102" + "6162" + "00000000"; // CNAME "ab", null item, pad

    @Test
    void parse_srAndSdes_readsEveryField() throws Exception {
        List<RtcpPacket> ps = RtcpCompound.parse(HEX.parseHex(SR_SDES_HEX));
        assertEquals(2, ps.size());
        SenderReport sr = assertInstanceOf(SenderReport.class, ps.get(0));
        assertEquals(0x11223344L, sr.ssrc());
        assertEquals(0xe8a0b1c280000000L, sr.ntpTimestamp());
        assertEquals(0xb1c28000L, sr.compactNtp());
        assertEquals(0xabcdL, sr.rtpTimestamp());
        assertEquals(16, sr.packetCount());
        assertEquals(1024, sr.octetCount());
        ReportBlock rb = sr.reports().get(0);
        assertEquals(new ReportBlock(0x55667788L, 5, -2, 0x1000aL, 32, 0xa0b1c280L, 65536), rb);
        SourceDescription sdes = assertInstanceOf(SourceDescription.class, ps.get(1));
        assertEquals("ab", sdes.chunks().get(0).cname().orElseThrow());
        assertEquals(0x11223344L, sdes.chunks().get(0).ssrc());
    }

    @Test
    void write_srAndSdes_matchesHandAssembledBytes() {
        SenderReport sr = new SenderReport(0x11223344L, 0xe8a0b1c280000000L, 0xabcd, 16, 1024,
                List.of(new ReportBlock(0x55667788L, 5, -2, 0x1000aL, 32, 0xa0b1c280L, 65536)));
        byte[] out = RtcpCompound.write(List.of(sr, SourceDescription.cname(0x11223344L, "ab")));
        assertArrayEquals(HEX.parseHex(SR_SDES_HEX), out);
    }

    @Test
    void roundTrip_everyType() throws Exception {
        List<RtcpPacket> in = List.of(
                new ReceiverReport(1, List.of(new ReportBlock(2, 0, 0, 65535, 0, 0, 0),
                        new ReportBlock(3, 255, 0x7FFFFF, 0xFFFFFFFFL, 1, 2, 3))),
                new ReceiverReport(4, List.of()),
                new SourceDescription(List.of(
                        new SourceDescription.Chunk(5, List.of(new SourceDescription.Item(1, "x@y"),
                                new SourceDescription.Item(6, "tool"))),
                        new SourceDescription.Chunk(6, List.of(new SourceDescription.Item(1, "abc"))))),
                new Bye(List.of(7L, 8L), "bye now"),
                new Bye(List.of(9L), ""),
                new GenericNack(10, 11, List.of(100, 101, 116, 117, 200)),
                new PictureLossIndication(12, 13),
                new FullIntraRequest(14, List.of(new FullIntraRequest.Entry(15, 200), new FullIntraRequest.Entry(16, 0))),
                new Remb(17, 1_500_000, List.of(18L, 19L)),
                new TransportFeedback(20, 21, 65535, 3, 77, 1, List.of(new TransportFeedback.Received(65535, 3),
                        new TransportFeedback.Received(1, -300))),
                new UnknownRtcp(205, 3, new byte[] {1, 2, 3, 4, 5, 6, 7, 8})); // TMMBR: not interpreted
        byte[] bytes = RtcpCompound.write(in);
        List<RtcpPacket> out = RtcpCompound.parse(bytes);
        assertEquals(in.size(), out.size());
        for (int i = 0; i < in.size(); i++) {
            if (in.get(i) instanceof Remb r) {
                Remb back = (Remb) out.get(i);
                assertEquals(r.ssrcs(), back.ssrcs());
                // 18-bit mantissa: exact here because 1.5e6 = 0x16E360 -> 0x5B8D8 << 2
                assertEquals(1_500_000, back.bitrate());
            } else {
                assertEquals(in.get(i), out.get(i), "packet " + i);
            }
        }
    }

    @Test
    void genericNack_packsPidBlpAcrossWrap() throws Exception {
        GenericNack n = new GenericNack(1, 2, List.of(65534, 65535, 0, 1, 15, 16));
        byte[] b = n.encode();
        // PID 65534 with BLP bits for 65535 (bit 0), 0 (bit 1), 1 (bit 2); 15 is 17 away, past the 16-bit mask,
        // so it starts a second pair whose BLP bit 0 is 16
        assertEquals(12 + 8, b.length);
        assertEquals("fffe0007", HEX.formatHex(b, 12, 16));
        assertEquals("000f0001", HEX.formatHex(b, 16, 20));
        GenericNack back = (GenericNack) RtcpCompound.parse(b).get(0);
        assertEquals(List.of(65534, 65535, 0, 1, 15, 16), back.lostSequenceNumbers());
    }

    @Test
    void parse_paddedPacket_paddingStripped() throws Exception {
        // PLI with the padding bit and 4 bytes of padding (count 4)
        byte[] b = HEX.parseHex("a1ce0003" + "00000001" + "00000002" + "00000004");
        PictureLossIndication pli = assertInstanceOf(PictureLossIndication.class, RtcpCompound.parse(b).get(0));
        assertEquals(1, pli.senderSsrc());
        assertEquals(2, pli.mediaSsrc());
    }

    @Test
    void parse_unknownTypes_skippedAsUnknown() throws Exception {
        byte[] app = HEX.parseHex("80cc0002" + "00000001" + "41424344"); // APP "ABCD"
        byte[] xr = HEX.parseHex("80cf0001" + "00000001"); // XR
        byte[] compound = new byte[app.length + xr.length + 12];
        System.arraycopy(app, 0, compound, 0, app.length);
        System.arraycopy(xr, 0, compound, app.length, xr.length);
        System.arraycopy(new PictureLossIndication(5, 6).encode(), 0, compound, app.length + xr.length, 12);
        List<RtcpPacket> ps = RtcpCompound.parse(compound);
        assertEquals(204, assertInstanceOf(UnknownRtcp.class, ps.get(0)).packetType());
        assertEquals(207, assertInstanceOf(UnknownRtcp.class, ps.get(1)).packetType());
        assertInstanceOf(PictureLossIndication.class, ps.get(2));
    }

    @Test
    void parse_malformed_throwsRtcpException() {
        assertThrows(RtcpException.class, () -> RtcpCompound.parse(new byte[3]));
        assertThrows(RtcpException.class, () -> RtcpCompound.parse(HEX.parseHex("41c90001" + "00000001"))); // V=1
        assertThrows(RtcpException.class, () -> RtcpCompound.parse(HEX.parseHex("81c90007" + "00000001"))); // len
        assertThrows(RtcpException.class, () -> RtcpCompound.parse(HEX.parseHex("81c90001" + "00000001"))); // RC=1
        assertThrows(RtcpException.class, () -> RtcpCompound.parse(HEX.parseHex("81c80001" + "00000001"))); // SR
        assertThrows(RtcpException.class, () -> RtcpCompound.parse(HEX.parseHex("a1ce0002" + "0000000100000000")));
        assertThrows(RtcpException.class, () -> RtcpCompound.parse(HEX.parseHex("a1ce0002" + "0000000100000009")));
        assertThrows(RtcpException.class, () -> RtcpCompound.parse(HEX.parseHex("81cd0002" + "0000000100000002")));
        assertThrows(RtcpException.class, () -> RtcpCompound.parse(HEX.parseHex("84ce0003" + "000000010000000000000005")));
        assertThrows(RtcpException.class, () -> RtcpCompound.parse(HEX.parseHex("81ca0002" + "00000001" + "01056162")));
        assertThrows(RtcpException.class, () -> RtcpCompound.parse(HEX.parseHex("81c90000" + "00")));
        assertThrows(RtcpException.class, () -> RtcpCompound.parse(HEX.parseHex("81cb0001" + "00000001" + "0500")));
        assertThrows(RtcpException.class, () -> RtcpCompound.parse(null));
    }

    @Test
    void parse_randomMutations_neverThrowUnchecked() {
        byte[] base = RtcpCompound.write(List.of(
                new SenderReport(1, 2, 3, 4, 5, List.of(new ReportBlock(6, 1, 2, 3, 4, 5, 6))),
                SourceDescription.cname(1, "cname"), new GenericNack(1, 2, List.of(1, 2, 40)),
                new FullIntraRequest(1, List.of(new FullIntraRequest.Entry(2, 3))), new Remb(1, 1000, List.of(2L)),
                new Bye(List.of(1L), "r")));
        Random r = new Random(11);
        for (int i = 0; i < 20_000; i++) {
            byte[] b = base.clone();
            for (int f = 0; f < 3; f++) {
                b[r.nextInt(b.length)] = (byte) r.nextInt(256);
            }
            try {
                for (RtcpPacket p : RtcpCompound.parse(b, 0, r.nextInt(b.length + 1))) {
                    p.encode();
                }
            } catch (RtcpException expected) {
                // typed rejection
            }
        }
    }

    @Test
    void unknownPadded_keepsItsPBit_roundTripsByteForByte() throws Exception {
        // PSFB FMT 15 (the REMB FMT) too short to be a REMB once its 4 padding bytes are removed; written without
        // the P bit it read back as a REMB of no SSRC (RtcpFuzzTestInputs/parse/unknown-padded-reads-as-remb)
        byte[] b = HEX.parseHex("afce0004" + "00000001" + "00000000" + "52454d42" + "00000004");
        UnknownRtcp u = assertInstanceOf(UnknownRtcp.class, RtcpCompound.parse(b).get(0));
        assertTrue(u.padding());
        assertEquals(16, u.body().length);
        byte[] unpadded = b.clone();
        unpadded[0] &= ~0x20;
        assertInstanceOf(Remb.class, RtcpCompound.parse(unpadded).get(0)); // what the P bit used to be lost into
        assertArrayEquals(b, RtcpCompound.write(List.of(u)));
        assertEquals(List.of(u), RtcpCompound.parse(RtcpCompound.write(List.of(u))));
        // an unpadded one stays unpadded; APP with padding too
        byte[] app = HEX.parseHex("80cc0002" + "00000001" + "41424344" + "a0cc0003" + "00000001" + "41424344"
                + "00000004");
        List<RtcpPacket> ps = RtcpCompound.parse(app);
        assertFalse(((UnknownRtcp) ps.get(0)).padding());
        assertTrue(((UnknownRtcp) ps.get(1)).padding());
        assertArrayEquals(app, RtcpCompound.write(ps));
    }

    @Test
    void unknownPadded_fuzzFindings_roundTripExactly() throws Exception {
        for (String name : List.of("unknown-padded-reads-as-remb", "unknown-padded-reads-as-remb-2",
                "unknown-padded-reencoding-unparseable")) {
            byte[] in;
            try (var s = getClass().getResourceAsStream("RtcpFuzzTestInputs/parse/" + name)) {
                in = s.readAllBytes();
            }
            List<RtcpPacket> ps = RtcpCompound.parse(in);
            byte[] once = RtcpCompound.write(ps);
            List<RtcpPacket> again = RtcpCompound.parse(once);
            assertEquals(ps, again, name);
            for (int i = 0; i < ps.size(); i++) {
                if (ps.get(i) instanceof UnknownRtcp u && u.padding()) {
                    assertEquals(ps.get(i).getClass(), again.get(i).getClass(), name);
                }
            }
            assertArrayEquals(once, RtcpCompound.write(again), name);
        }
    }

    @Test
    void unknownRtcp_badPadding_refused() {
        assertThrows(IllegalArgumentException.class, () -> new UnknownRtcp(204, 0, true, new byte[0]));
        assertThrows(IllegalArgumentException.class, () -> new UnknownRtcp(204, 0, true, new byte[] {1, 2, 3, 0}));
        assertThrows(IllegalArgumentException.class, () -> new UnknownRtcp(204, 0, true, new byte[] {1, 2, 3, 5}));
        assertEquals(8, new UnknownRtcp(204, 0, true, new byte[] {1, 2, 3, 4}).encodedLength());
    }

    @Test
    void remb_bitrateBeyondALong_readsAsTheLargestEncodable_andEveryValueRoundTrips() throws Exception {
        // exp 63, mantissa 0x1FF1234 & 0x3FFFF: read as Long.MAX_VALUE, which the writer cannot encode exactly, so
        // write(parse(x)) parsed to another bitrate (RtcpFuzzTestInputs/parse/finding-remb-bitrate-beyond-long)
        for (int exp : new int[] {0, 1, 17, 45, 46, 50, 63}) {
            for (int mantissa : new int[] {0, 1, 0x1234, 0x3FFFF}) {
                byte[] b = HEX.parseHex("8fce0005" + "00000001" + "00000000" + "52454d42"
                        + String.format("01%06x", (exp << 18) | mantissa) + "00000002");
                Remb r = (Remb) RtcpCompound.parse(b).get(0);
                java.math.BigInteger exact = java.math.BigInteger.valueOf(mantissa).shiftLeft(exp);
                long expected = exact.bitLength() <= 63 ? exact.longValueExact() : Remb.MAX_BITRATE;
                assertEquals(expected, r.bitrate(), "exp " + exp + " mantissa " + mantissa);
                assertEquals(r, RtcpCompound.parse(RtcpCompound.write(List.of(r))).get(0));
            }
        }
        assertEquals(Remb.MAX_BITRATE,
                ((Remb) RtcpCompound.parse(new Remb(1, Long.MAX_VALUE, List.of(2L)).encode()).get(0)).bitrate());
    }
}
