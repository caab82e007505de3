package dev.veil.webrtc.rtcp;

import java.util.ArrayList;
import java.util.List;

/**
 * Parses and writes compound RTCP packets (RFC 3550 §6.1; reduced-size RTCP, RFC 5506, is accepted: a compound may
 * start with any type). Malformed input rejects the whole datagram with {@link RtcpException}: each packet must have
 * version 2 and a length inside the datagram; a packet with the padding bit must have a padding count that fits.
 */
public final class RtcpCompound {

    private RtcpCompound() {}

    /** Parses a whole array. */
    public static List<RtcpPacket> parse(byte[] buf) throws RtcpException {
        return parse(buf, 0, buf == null ? 0 : buf.length);
    }

    /**
     * Parses every packet of the compound {@code buf[off..off+len)}.
     *
     * @throws RtcpException if any packet is malformed
     */
    public static List<RtcpPacket> parse(byte[] buf, int off, int len) throws RtcpException {
        if (buf == null || off < 0 || len < 0 || off > buf.length - len) {
            throw new RtcpException("bad buffer bounds");
        }
        if (len < 4) {
            throw new RtcpException("shorter than an RTCP header");
        }
        List<RtcpPacket> out = new ArrayList<>(4);
        int p = off;
        int end = off + len;
        while (p < end) {
            if (end - p < 4) {
                throw new RtcpException("trailing bytes after the last RTCP packet");
            }
            int b0 = buf[p] & 0xFF;
            if ((b0 >> 6) != 2) {
                throw new RtcpException("RTCP version is not 2");
            }
            int count = b0 & 0x1F;
            int pt = buf[p + 1] & 0xFF;
            int plen = (Bytes.u16(buf, p + 2) + 1) * 4;
            if (plen > end - p) {
                throw new RtcpException("RTCP packet length " + plen + " overruns the datagram");
            }
            int bodyLen = plen;
            if ((b0 & 0x20) != 0) {
                int pad = buf[p + plen - 1] & 0xFF;
                if (pad == 0 || pad > plen - 4) {
                    throw new RtcpException("bad RTCP padding count " + pad);
                }
                bodyLen = plen - pad;
            }
            out.add(parseOne(buf, p, pt, count, bodyLen, plen, (b0 & 0x20) != 0));
            p += plen;
        }
        return out;
    }

    private static RtcpPacket parseOne(byte[] b, int o, int pt, int count, int len, int fullLen, boolean padded)
            throws RtcpException {
        switch (pt) {
            case RtcpPacket.PT_SR:
                return SenderReport.read(b, o, count, len);
            case RtcpPacket.PT_RR:
                return ReceiverReport.read(b, o, count, len);
            case RtcpPacket.PT_SDES:
                return SourceDescription.read(b, o, count, len);
            case RtcpPacket.PT_BYE:
                return Bye.read(b, o, count, len);
            case RtcpPacket.PT_RTPFB:
                requireFeedback(len);
                if (count == GenericNack.FMT) {
                    return GenericNack.read(b, o, len);
                }
                if (count == TransportFeedback.FMT) {
                    return TransportFeedback.read(b, o, len);
                }
                break;
            case RtcpPacket.PT_PSFB:
                requireFeedback(len);
                if (count == PictureLossIndication.FMT) {
                    return PictureLossIndication.read(b, o);
                }
                if (count == FullIntraRequest.FMT) {
                    return FullIntraRequest.read(b, o, len);
                }
                if (count == Remb.FMT && Remb.isRemb(b, o, len)) {
                    return Remb.read(b, o, len);
                }
                break;
            default:
                break;
        }
        byte[] body = new byte[fullLen - 4];
        System.arraycopy(b, o + 4, body, 0, body.length);
        return new UnknownRtcp(pt, count, padded, body); // padding kept: written back byte for byte
    }

    private static void requireFeedback(int len) throws RtcpException {
        if (len < 12) {
            throw new RtcpException("feedback packet shorter than 12 bytes");
        }
    }

    /**
     * Writes packets back to back as one compound datagram. Interpreted packets are written without padding; an
     * {@link UnknownRtcp} is written exactly as it was parsed (its padding and P bit included).
     */
    public static byte[] write(List<? extends RtcpPacket> packets) {
        int total = 0;
        for (RtcpPacket p : packets) {
            total += p.encodedLength();
        }
        byte[] out = new byte[total];
        int o = 0;
        for (RtcpPacket p : packets) {
            o += p.writeTo(out, o);
        }
        return out;
    }
}
