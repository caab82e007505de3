package dev.veil.webrtc.rtcp;

import java.util.Arrays;

/**
 * An RTCP packet of a type (or feedback FMT) this codec does not interpret, e.g. APP, XR, transport-wide CC. Kept
 * raw, padding and P bit included, so that writing it gives back exactly the bytes that were parsed: a padded packet
 * written without its P bit would read back as another packet (a short padded PSFB/FMT 15 as a REMB, found by
 * {@code RtcpFuzzTest}), or not at all.
 *
 * @param packetType PT
 * @param countOrFmt the 5-bit RC/SC/FMT field
 * @param padding the P bit: the body ends with padding whose last byte is its length (1 to the body length)
 * @param body the bytes after the 4-byte common header, the padding included
 */
public record UnknownRtcp(int packetType, int countOrFmt, boolean padding, byte[] body) implements RtcpPacket {

    public UnknownRtcp {
        if (packetType < 0 || packetType > 255 || countOrFmt < 0 || countOrFmt > 31) {
            throw new IllegalArgumentException("bad packet type or count");
        }
        body = body.clone();
        if ((body.length & 3) != 0) {
            throw new IllegalArgumentException("body must be a multiple of 4 bytes");
        }
        if (padding && (body.length == 0 || (body[body.length - 1] & 0xFF) == 0
                || (body[body.length - 1] & 0xFF) > body.length)) {
            throw new IllegalArgumentException("a padded body must end with a padding count from 1 to its length");
        }
    }

    /** An unpadded packet. */
    public UnknownRtcp(int packetType, int countOrFmt, byte[] body) {
        this(packetType, countOrFmt, false, body);
    }

    /** A copy of the body (with the padding, if any). */
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
        if (padding) {
            out[off] |= 0x20;
        }
        System.arraycopy(body, 0, out, off + 4, body.length);
        return 4 + body.length;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof UnknownRtcp u && u.packetType == packetType && u.countOrFmt == countOrFmt
                && u.padding == padding && Arrays.equals(u.body, body);
    }

    @Override
    public int hashCode() {
        return ((packetType * 31 + countOrFmt) * 31 + Boolean.hashCode(padding)) * 31 + Arrays.hashCode(body);
    }

    @Override
    public String toString() {
        return "UnknownRtcp[pt=" + packetType + ", fmt=" + countOrFmt + (padding ? ", padded" : "") + ", body="
                + body.length + "B]";
    }
}
