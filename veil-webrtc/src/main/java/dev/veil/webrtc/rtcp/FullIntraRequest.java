package dev.veil.webrtc.rtcp;

import java.util.ArrayList;
import java.util.List;

/**
 * Full Intra Request, PSFB (PT=206) FMT=4 (<a href="https://www.rfc-editor.org/rfc/rfc5104#section-4.3.1">RFC 5104
 * §4.3.1</a>). The media source SSRC of the common part is 0; each FCI entry names a source and carries a command
 * sequence number that the requester increments for each new request.
 *
 * <pre>
 * |V=2|P| FMT=4   |   PT=206      |          length               |
 * |                  SSRC of packet sender                        |
 * |                  SSRC of media source (0)                     |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                              SSRC                             |  (one or more)
 * | Seq nr.       |    Reserved                                   |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * </pre>
 *
 * @param senderSsrc SSRC of the packet sender
 * @param entries the sources asked for a decoder refresh
 */
public record FullIntraRequest(long senderSsrc, List<FullIntraRequest.Entry> entries) implements RtcpPacket {

    /** FMT of FIR. */
    public static final int FMT = 4;

    /**
     * @param ssrc the media source
     * @param sequenceNumber 0..255 command sequence number
     */
    public record Entry(long ssrc, int sequenceNumber) {
        public Entry {
            Bytes.checkU32(ssrc, "ssrc");
            if (sequenceNumber < 0 || sequenceNumber > 255) {
                throw new IllegalArgumentException("FIR sequence number is 8 bits");
            }
        }
    }

    public FullIntraRequest {
        Bytes.checkU32(senderSsrc, "senderSsrc");
        entries = List.copyOf(entries);
        if (entries.isEmpty()) {
            throw new IllegalArgumentException("a FIR needs at least one entry");
        }
    }

    @Override
    public int packetType() {
        return PT_PSFB;
    }

    @Override
    public int encodedLength() {
        return 12 + 8 * entries.size();
    }

    @Override
    public int writeTo(byte[] out, int off) {
        int len = encodedLength();
        Bytes.header(out, off, FMT, PT_PSFB, len);
        Bytes.w32(out, off + 4, senderSsrc);
        Bytes.w32(out, off + 8, 0);
        for (int i = 0; i < entries.size(); i++) {
            Bytes.w32(out, off + 12 + 8 * i, entries.get(i).ssrc());
            Bytes.w32(out, off + 16 + 8 * i, (long) entries.get(i).sequenceNumber() << 24);
        }
        return len;
    }

    static FullIntraRequest read(byte[] b, int o, int len) throws RtcpException {
        if (len < 20 || (len - 12) % 8 != 0) {
            throw new RtcpException("FIR FCI is not a whole number of 8-byte entries");
        }
        List<Entry> entries = new ArrayList<>();
        for (int p = o + 12; p < o + len; p += 8) {
            entries.add(new Entry(Bytes.u32(b, p), Bytes.u8(b, p + 4)));
        }
        return new FullIntraRequest(Bytes.u32(b, o + 4), entries);
    }
}
