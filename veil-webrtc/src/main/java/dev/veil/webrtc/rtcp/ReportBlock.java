package dev.veil.webrtc.rtcp;

/**
 * A reception report block of an SR or RR (RFC 3550 §6.4.1).
 *
 * <pre>
 * +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 * |                 SSRC_1 (SSRC of first source)                 |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | fraction lost |       cumulative number of packets lost       |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           extended highest sequence number received           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                      interarrival jitter                      |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                         last SR (LSR)                         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                   delay since last SR (DLSR)                  |
 * +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 * </pre>
 *
 * @param ssrc the source reported on
 * @param fractionLost 0..255 (fixed point, /256)
 * @param cumulativeLost signed 24 bits
 * @param extendedHighestSeq cycles &lt;&lt; 16 | highest sequence number
 * @param jitter interarrival jitter in timestamp units
 * @param lastSr middle 32 bits of the NTP timestamp of the last SR received, 0 if none
 * @param delaySinceLastSr in units of 1/65536 s
 */
public record ReportBlock(long ssrc, int fractionLost, int cumulativeLost, long extendedHighestSeq, long jitter,
        long lastSr, long delaySinceLastSr) {

    /** Encoded length. */
    public static final int LENGTH = 24;

    public ReportBlock {
        Bytes.checkU32(ssrc, "ssrc");
        Bytes.checkU32(extendedHighestSeq, "extendedHighestSeq");
        Bytes.checkU32(jitter, "jitter");
        Bytes.checkU32(lastSr, "lastSr");
        Bytes.checkU32(delaySinceLastSr, "delaySinceLastSr");
        if (fractionLost < 0 || fractionLost > 255) {
            throw new IllegalArgumentException("fractionLost is 8 bits");
        }
        if (cumulativeLost < -0x80_0000 || cumulativeLost > 0x7F_FFFF) {
            throw new IllegalArgumentException("cumulativeLost is signed 24 bits");
        }
    }

    static ReportBlock read(byte[] b, int o) {
        int lost = (Bytes.u8(b, o + 5) << 16) | Bytes.u16(b, o + 6);
        if ((lost & 0x80_0000) != 0) {
            lost |= 0xFF00_0000; // sign-extend
        }
        return new ReportBlock(Bytes.u32(b, o), Bytes.u8(b, o + 4), lost, Bytes.u32(b, o + 8), Bytes.u32(b, o + 12),
                Bytes.u32(b, o + 16), Bytes.u32(b, o + 20));
    }

    void write(byte[] b, int o) {
        Bytes.w32(b, o, ssrc);
        Bytes.w32(b, o + 4, ((long) fractionLost << 24) | (cumulativeLost & 0xFF_FFFF));
        Bytes.w32(b, o + 8, extendedHighestSeq);
        Bytes.w32(b, o + 12, jitter);
        Bytes.w32(b, o + 16, lastSr);
        Bytes.w32(b, o + 20, delaySinceLastSr);
    }
}
