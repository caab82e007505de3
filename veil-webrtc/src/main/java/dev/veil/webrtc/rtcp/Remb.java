package dev.veil.webrtc.rtcp;

import java.util.ArrayList;
import java.util.List;

/**
 * Receiver Estimated Maximum Bitrate, PSFB (PT=206) FMT=15 "application layer feedback" with the identifier "REMB"
 * (draft-alvestrand-rmcat-remb-03 §2.2). The SFU sends it to publishers that do not do transport-cc ({@code
 * dev.veil.webrtc.cc.RembGenerator}); a received one is parsed and ignored (no downlink estimation yet).
 *
 * <pre>
 * |V=2|P| FMT=15  |   PT=206      |             length            |
 * |                  SSRC of packet sender                        |
 * |                  SSRC of media source (0)                     |
 * |  Unique identifier 'R' 'E' 'M' 'B'                            |
 * |  Num SSRC     | BR Exp    |  BR Mantissa (18 bits)            |
 * |   SSRC feedback                                               |  (Num SSRC times)
 * </pre>
 *
 * @param senderSsrc SSRC of the packet sender
 * @param bitrate the estimate in bits per second (mantissa * 2^exp)
 * @param ssrcs the media sources the estimate applies to
 */
public record Remb(long senderSsrc, long bitrate, List<Long> ssrcs) implements RtcpPacket {

    /** FMT of application layer feedback. */
    public static final int FMT = 15;

    /** The largest bitrate read: an 18-bit mantissa shifted by 45, the most a signed 64-bit value holds exactly. */
    public static final long MAX_BITRATE = 0x3FFFFL << 45;

    public Remb {
        Bytes.checkU32(senderSsrc, "senderSsrc");
        if (bitrate < 0) {
            throw new IllegalArgumentException("negative bitrate");
        }
        ssrcs = List.copyOf(ssrcs);
        if (ssrcs.size() > 255) {
            throw new IllegalArgumentException("at most 255 SSRCs");
        }
    }

    static boolean isRemb(byte[] b, int o, int len) {
        return len >= 20 && b[o + 12] == 'R' && b[o + 13] == 'E' && b[o + 14] == 'M' && b[o + 15] == 'B';
    }

    @Override
    public int packetType() {
        return PT_PSFB;
    }

    @Override
    public int encodedLength() {
        return 20 + 4 * ssrcs.size();
    }

    @Override
    public int writeTo(byte[] out, int off) {
        int len = encodedLength();
        Bytes.header(out, off, FMT, PT_PSFB, len);
        Bytes.w32(out, off + 4, senderSsrc);
        Bytes.w32(out, off + 8, 0);
        out[off + 12] = 'R';
        out[off + 13] = 'E';
        out[off + 14] = 'M';
        out[off + 15] = 'B';
        int exp = 0;
        long mantissa = bitrate;
        while (mantissa > 0x3FFFF) {
            mantissa >>>= 1;
            exp++;
        }
        Bytes.w32(out, off + 16, ((long) ssrcs.size() << 24) | ((long) exp << 18) | mantissa);
        for (int i = 0; i < ssrcs.size(); i++) {
            Bytes.w32(out, off + 20 + 4 * i, ssrcs.get(i));
        }
        return len;
    }

    static Remb read(byte[] b, int o, int len) throws RtcpException {
        int n = Bytes.u8(b, o + 16);
        if (len < 20 + 4 * n) {
            throw new RtcpException("REMB shorter than its " + n + " SSRCs");
        }
        int exp = Bytes.u8(b, o + 17) >>> 2;
        long mantissa = ((Bytes.u8(b, o + 17) & 0x03L) << 16) | Bytes.u16(b, o + 18);
        // exact when it fits in 63 bits; beyond that the largest value the writer can encode exactly, so that a
        // parsed REMB is written back to one that parses to the same value (RtcpFuzzTest finding-remb-bitrate-*)
        long bitrate = Long.numberOfLeadingZeros(mantissa) > exp ? mantissa << exp : MAX_BITRATE;
        List<Long> ssrcs = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            ssrcs.add(Bytes.u32(b, o + 20 + 4 * i));
        }
        return new Remb(Bytes.u32(b, o + 4), bitrate, ssrcs);
    }
}
