package dev.veil.webrtc.rtcp;

import java.util.List;

/**
 * Receiver report, PT=201 (RFC 3550 §6.4.2).
 *
 * <pre>
 * |V=2|P|    RC   |   PT=RR=201   |             length            |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                     SSRC of packet sender                     |
 * +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 * |                 report blocks (24 bytes each)                 |
 * </pre>
 *
 * @param ssrc the reporter's SSRC
 * @param reports up to 31 report blocks
 */
public record ReceiverReport(long ssrc, List<ReportBlock> reports) implements RtcpPacket {

    public ReceiverReport {
        Bytes.checkU32(ssrc, "ssrc");
        reports = List.copyOf(reports);
        if (reports.size() > 31) {
            throw new IllegalArgumentException("at most 31 report blocks");
        }
    }

    @Override
    public int packetType() {
        return PT_RR;
    }

    @Override
    public int encodedLength() {
        return 8 + ReportBlock.LENGTH * reports.size();
    }

    @Override
    public int writeTo(byte[] out, int off) {
        int len = encodedLength();
        Bytes.header(out, off, reports.size(), PT_RR, len);
        Bytes.w32(out, off + 4, ssrc);
        for (int i = 0; i < reports.size(); i++) {
            reports.get(i).write(out, off + 8 + i * ReportBlock.LENGTH);
        }
        return len;
    }

    static ReceiverReport read(byte[] b, int o, int count, int len) throws RtcpException {
        if (len < 8 + ReportBlock.LENGTH * count) {
            throw new RtcpException("RR shorter than its " + count + " report blocks");
        }
        ReportBlock[] rb = new ReportBlock[count];
        for (int i = 0; i < count; i++) {
            rb[i] = ReportBlock.read(b, o + 8 + i * ReportBlock.LENGTH);
        }
        return new ReceiverReport(Bytes.u32(b, o + 4), List.of(rb));
    }
}
