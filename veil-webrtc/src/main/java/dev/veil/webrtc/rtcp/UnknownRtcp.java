package dev.veil.webrtc.rtcp;

import java.util.Arrays;

/**
 * An RTCP packet of a type (or feedback FMT) this codec does not interpret, e.g. APP, XR, transport-wide CC. Kept
 * raw so callers can count or skip it.
 *
 * @param packetType PT
 * @param countOrFmt the 5-bit RC/SC/FMT field
 * @param body the bytes after the 4-byte common header, padding removed
 */
public record UnknownRtcp(int packetType, int countOrFmt, byte[] body) implements RtcpPacket {

    public UnknownRtcp {
        if (packetType < 0 || packetType > 255 || countOrFmt < 0 || countOrFmt > 31) {
            throw new IllegalArgumentException("bad packet type or count");
        }
        body = body.clone();
        if ((body.length & 3) != 0) {
            throw new IllegalArgumentException("body must be a multiple of 4 bytes");
        }
    }

    /** A copy of the body. */
    @Override
    public byte[] body() {
        return body.clone();
    }

    @Override
    public int encodedLength() {
        return 4 + body.length;
    }

    @Override
    public int writeTo(byte[] out, int off) {
        Bytes.header(out, off, countOrFmt, packetType, 4 + body.length);
        System.arraycopy(body, 0, out, off + 4, body.length);
        return 4 + body.length;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof UnknownRtcp u && u.packetType == packetType && u.countOrFmt == countOrFmt
                && Arrays.equals(u.body, body);
    }

    @Override
    public int hashCode() {
        return (packetType * 31 + countOrFmt) * 31 + Arrays.hashCode(body);
    }

    @Override
    public String toString() {
        return "UnknownRtcp[pt=" + packetType + ", fmt=" + countOrFmt + ", body=" + body.length + "B]";
    }
}
