package dev.veil.webrtc.rtcp;

import java.util.List;

/**
 * Sender report, PT=200 (RFC 3550 §6.4.1).
 *
 * <pre>
 * |V=2|P|    RC   |   PT=SR=200   |             length            |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                         SSRC of sender                        |
 * +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 * |              NTP timestamp, most significant word             |
 * |             NTP timestamp, least significant word             |
 * |                         RTP timestamp                         |
 * |                     sender's packet count                     |
 * |                      sender's octet count                     |
 * +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 * |                 report blocks (24 bytes each)                 |
 * </pre>
 *
 * @param ssrc sender SSRC
 * @param ntpTimestamp 64-bit NTP timestamp (seconds since 1900 in the high word, fraction in the low word)
 * @param rtpTimestamp the RTP timestamp that corresponds to {@code ntpTimestamp}
 * @param packetCount packets sent (mod 2^32)
 * @param octetCount payload octets sent (mod 2^32)
 * @param reports up to 31 report blocks
 */
public record SenderReport(long ssrc, long ntpTimestamp, long rtpTimestamp, long packetCount, long octetCount,
        List<ReportBlock> reports) implements RtcpPacket {

    public SenderReport {
        Bytes.checkU32(ssrc, "ssrc");
        Bytes.checkU32(rtpTimestamp, "rtpTimestamp");
        Bytes.checkU32(packetCount, "packetCount");
        Bytes.checkU32(octetCount, "octetCount");
        reports = List.copyOf(reports);
        if (reports.size() > 31) {
            throw new IllegalArgumentException("at most 31 report blocks");
        }
    }

    /** The middle 32 bits of the NTP timestamp: what a receiver echoes as LSR. */
    public long compactNtp() {
        return (ntpTimestamp >>> 16) & 0xFFFF_FFFFL;
    }

    @Override
    public int packetType() {
        return PT_SR;
    }

    @Override
    public int encodedLength() {
        return 28 + ReportBlock.LENGTH * reports.size();
    }

    @Override
    public int writeTo(byte[] out, int off) {
        int len = encodedLength();
        Bytes.header(out, off, reports.size(), PT_SR, len);
        Bytes.w32(out, off + 4, ssrc);
        Bytes.w32(out, off + 8, ntpTimestamp >>> 32);
        Bytes.w32(out, off + 12, ntpTimestamp & 0xFFFF_FFFFL);
        Bytes.w32(out, off + 16, rtpTimestamp);
        Bytes.w32(out, off + 20, packetCount);
        Bytes.w32(out, off + 24, octetCount);
        for (int i = 0; i < reports.size(); i++) {
            reports.get(i).write(out, off + 28 + i * ReportBlock.LENGTH);
        }
        return len;
    }

    static SenderReport read(byte[] b, int o, int count, int len) throws RtcpException {
        if (len < 28 + ReportBlock.LENGTH * count) {
            throw new RtcpException("SR shorter than its " + count + " report blocks");
        }
        ReportBlock[] rb = new ReportBlock[count];
        for (int i = 0; i < count; i++) {
            rb[i] = ReportBlock.read(b, o + 28 + i * ReportBlock.LENGTH);
        }
        long ntp = (Bytes.u32(b, o + 8) << 32) | Bytes.u32(b, o + 12);
        return new SenderReport(Bytes.u32(b, o + 4), ntp, Bytes.u32(b, o + 16), Bytes.u32(b, o + 20),
                Bytes.u32(b, o + 24), List.of(rb));
    }
}
