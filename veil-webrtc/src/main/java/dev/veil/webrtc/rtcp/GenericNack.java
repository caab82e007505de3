package dev.veil.webrtc.rtcp;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

/**
 * Generic NACK, RTPFB (PT=205) FMT=1 (<a href="https://www.rfc-editor.org/rfc/rfc4585#section-6.2.1">RFC 4585
 * §6.2.1</a>).
 *
 * <pre>
 * |V=2|P| FMT=1   |   PT=205      |          length               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                  SSRC of packet sender                        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                  SSRC of media source                         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |            PID                |             BLP               |  (one or more)
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * </pre>
 *
 * PID is a lost sequence number; bit i of BLP (LSB = bit 0) reports PID+i+1 lost as well.
 *
 * @param senderSsrc SSRC of the packet sender
 * @param mediaSsrc SSRC of the media source the losses are on
 * @param lostSequenceNumbers the lost sequence numbers, in the order they were encoded
 */
public record GenericNack(long senderSsrc, long mediaSsrc, List<Integer> lostSequenceNumbers) implements RtcpPacket {

    /** FMT of generic NACK. */
    public static final int FMT = 1;

    public GenericNack {
        Bytes.checkU32(senderSsrc, "senderSsrc");
        Bytes.checkU32(mediaSsrc, "mediaSsrc");
        lostSequenceNumbers = List.copyOf(lostSequenceNumbers);
        if (lostSequenceNumbers.isEmpty()) {
            throw new IllegalArgumentException("a NACK needs at least one sequence number");
        }
        for (int s : lostSequenceNumbers) {
            if (s < 0 || s > 0xFFFF) {
                throw new IllegalArgumentException("sequence numbers are 16 bits");
            }
        }
    }

    /** The PID/BLP pairs, each as {@code pid << 16 | blp}, packing sequence numbers in wrap-aware order. */
    List<Integer> pairs() {
        int first = lostSequenceNumbers.get(0);
        // order by distance from the first number so that 65535, 0, 1 stay together
        TreeSet<Integer> byDistance = new TreeSet<>();
        for (int s : lostSequenceNumbers) {
            byDistance.add((s - first) & 0xFFFF);
        }
        List<Integer> out = new ArrayList<>();
        int pid = -1;
        int pidDist = 0;
        int blp = 0;
        for (int d : byDistance) {
            if (pid >= 0 && d - pidDist <= 16) {
                blp |= 1 << (d - pidDist - 1);
            } else {
                if (pid >= 0) {
                    out.add((pid << 16) | blp);
                }
                pid = (first + d) & 0xFFFF;
                pidDist = d;
                blp = 0;
            }
        }
        out.add((pid << 16) | blp);
        return out;
    }

    @Override
    public int packetType() {
        return PT_RTPFB;
    }

    @Override
    public int encodedLength() {
        return 12 + 4 * pairs().size();
    }

    @Override
    public int writeTo(byte[] out, int off) {
        List<Integer> pairs = pairs();
        int len = 12 + 4 * pairs.size();
        Bytes.header(out, off, FMT, PT_RTPFB, len);
        Bytes.w32(out, off + 4, senderSsrc);
        Bytes.w32(out, off + 8, mediaSsrc);
        for (int i = 0; i < pairs.size(); i++) {
            Bytes.w32(out, off + 12 + 4 * i, pairs.get(i) & 0xFFFF_FFFFL);
        }
        return len;
    }

    static GenericNack read(byte[] b, int o, int len) throws RtcpException {
        if (len < 16) {
            throw new RtcpException("generic NACK without FCI");
        }
        List<Integer> lost = new ArrayList<>();
        for (int p = o + 12; p + 4 <= o + len; p += 4) {
            int pid = Bytes.u16(b, p);
            int blp = Bytes.u16(b, p + 2);
            lost.add(pid);
            for (int i = 0; i < 16; i++) {
                if ((blp & (1 << i)) != 0) {
                    lost.add((pid + i + 1) & 0xFFFF);
                }
            }
        }
        return new GenericNack(Bytes.u32(b, o + 4), Bytes.u32(b, o + 8), lost);
    }
}
