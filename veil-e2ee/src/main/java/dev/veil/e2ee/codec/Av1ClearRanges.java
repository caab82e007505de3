package dev.veil.e2ee.codec;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;

/**
 * The AV1 clear-range rule (docs/PROTOCOL.md §2.9; same rule as veil-js's src/e2ee/av1.js, both checked against
 * test-vectors/codec-clear-ranges.json). A frame is a chain of OBUs: header (forbidden bit, type, extension flag
 * 0x04, has-size flag 0x02), extension byte if flagged, obu_size (LEB128) if flagged (else the payload runs to the
 * end), payload. The RTP packetizer walks the chain and leaves out temporal delimiters and tile lists; the
 * depacketizer gives the receiver every OBU with a minimal size field. So the sender's layout leaves out temporal
 * delimiter, tile list and padding OBUs (types 2, 8, 15), writes every other OBU with header, extension and a minimal
 * obu_size in clear and the payload encrypted, except the last OBU, written without a size field so that the
 * packetizer takes the ranged trailer as part of it. {@link #received} undoes the size field the depacketizer gives
 * that OBU (before decryption); {@link #restore} gives it its size field back (after).
 */
public final class Av1ClearRanges {
    private static final int EXTENSION_FLAG = 0x04;
    private static final int HAS_SIZE_FLAG = 0x02;
    private static final int FORBIDDEN_BIT = 0x80;

    private Av1ClearRanges() {
    }

    /** The sender's layout: the frame as the receiver will see it (before the trailer) and its clear ranges. */
    public record Layout(byte[] frame, List<int[]> ranges) {
    }

    /** One OBU: start, header, extension (-1 if none), size field offset (-1) and length, payload start, end. */
    record Obu(int start, int header, int ext, int sizeAt, int sizeLength, int payload, int end) {
        int type() {
            return (header >> 3) & 0x0f;
        }
    }

    /** The OBU chain of {@code d[off, off + len)} (offsets relative to off), or null if it does not fit. */
    static List<Obu> obus(byte[] d, int off, int len) {
        List<Obu> out = new ArrayList<>();
        int i = 0;
        while (i < len) {
            int start = i;
            int header = d[off + i++] & 0xff;
            if ((header & FORBIDDEN_BIT) != 0) {
                return null;
            }
            int ext = -1;
            if ((header & EXTENSION_FLAG) != 0) {
                if (i >= len) {
                    return null;
                }
                ext = d[off + i++] & 0xff;
            }
            int sizeAt = -1;
            int sizeLength = 0;
            int end = len;
            if ((header & HAS_SIZE_FLAG) != 0) {
                long v = 0;
                int k = 0;
                while (true) {
                    if (k == 8 || i + k >= len) {
                        return null;
                    }
                    int b = d[off + i + k] & 0xff;
                    v |= (long) (b & 0x7f) << (7 * k);
                    k++;
                    if ((b & 0x80) == 0) {
                        break;
                    }
                }
                if (v > len - i - k) {
                    return null;
                }
                sizeAt = i;
                sizeLength = k;
                i += k;
                end = i + (int) v;
            }
            out.add(new Obu(start, header, ext, sizeAt, sizeLength, i, end));
            i = end;
        }
        return out;
    }

    private static void leb(ByteArrayOutputStream out, int v) {
        do {
            int b = v & 0x7f;
            v >>>= 7;
            out.write(v != 0 ? b | 0x80 : b);
        } while (v != 0);
    }

    /**
     * The layout of {@code frame[off, off + len)}.
     *
     * @throws FrameCryptoException if the OBU chain does not fit the frame, an OBU has its forbidden bit set, or no
     *     OBU is left to send
     */
    public static Layout layout(byte[] frame, int off, int len) throws FrameCryptoException {
        FrameBuffers.checkRange(frame, off, len);
        List<Obu> all = obus(frame, off, len);
        if (all == null) {
            throw new FrameCryptoException("AV1 OBU chain does not fit the frame");
        }
        List<Obu> kept = new ArrayList<>();
        for (Obu o : all) {
            if (o.type() != 2 && o.type() != 8 && o.type() != 15) {
                kept.add(o);
            }
        }
        if (kept.isEmpty()) {
            throw new FrameCryptoException("AV1 frame without an OBU to send");
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(len + 8);
        List<int[]> ranges = new ArrayList<>();
        for (int k = 0; k < kept.size(); k++) {
            Obu o = kept.get(k);
            boolean last = k == kept.size() - 1;
            int at = out.size();
            out.write(last ? o.header() & ~HAS_SIZE_FLAG : o.header() | HAS_SIZE_FLAG);
            if (o.ext() >= 0) {
                out.write(o.ext());
            }
            if (!last) {
                leb(out, o.end() - o.payload());
            }
            int head = out.size() - at;
            int[] prev = ranges.isEmpty() ? null : ranges.get(ranges.size() - 1);
            if (prev != null && prev[0] + prev[1] == at) {
                prev[1] += head;
            } else {
                ranges.add(new int[] {at, head});
            }
            out.write(frame, off + o.payload(), o.end() - o.payload());
        }
        return new Layout(out.toByteArray(), ranges);
    }

    /**
     * A received frame as the sender laid it out: the OBU whose size field reaches the end loses it and its flag;
     * the frame itself when the last OBU has no size field; null if the chain does not fit.
     */
    public static byte[] received(byte[] d, int off, int len) {
        List<Obu> chain = obus(d, off, len);
        if (chain == null || chain.isEmpty()) {
            return null;
        }
        Obu last = chain.get(chain.size() - 1);
        if (last.sizeAt() < 0) {
            return java.util.Arrays.copyOfRange(d, off, off + len);
        }
        byte[] out = new byte[len - last.sizeLength()];
        System.arraycopy(d, off, out, 0, last.sizeAt());
        out[last.start()] = (byte) (last.header() & ~HAS_SIZE_FLAG);
        System.arraycopy(d, off + last.payload(), out, last.sizeAt(), len - last.payload());
        return out;
    }

    /** A decrypted layout with the last OBU given its size field back; null if the chain does not fit. */
    public static byte[] restore(byte[] d, int off, int len) {
        List<Obu> chain = obus(d, off, len);
        if (chain == null || chain.isEmpty()) {
            return null;
        }
        Obu last = chain.get(chain.size() - 1);
        if (last.sizeAt() >= 0) {
            return java.util.Arrays.copyOfRange(d, off, off + len);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(len + 5);
        out.write(d, off, last.start());
        out.write(last.header() | HAS_SIZE_FLAG);
        if (last.ext() >= 0) {
            out.write(last.ext());
        }
        leb(out, last.end() - last.payload());
        out.write(d, off + last.payload(), len - last.payload());
        return out.toByteArray();
    }
}
