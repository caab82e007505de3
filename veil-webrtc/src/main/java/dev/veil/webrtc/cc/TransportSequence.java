package dev.veil.webrtc.cc;

/**
 * The transport-wide sequence number RTP header extension
 * (<a href="https://datatracker.ietf.org/doc/html/draft-holmer-rmcat-transport-wide-cc-extensions-01#section-2">
 * draft-holmer-rmcat-transport-wide-cc-extensions-01 §2</a>), negotiated as {@code a=extmap:<id> }{@link #URI}: a
 * 16-bit sequence number shared by every RTP stream of the transport, in an RFC 8285 element of 2 bytes.
 *
 * <pre>
 *  0                   1                   2
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  ID   | L=1   |transport-wide sequence number |   (one-byte form)
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * </pre>
 *
 * {@link #find} reads it straight from a (decrypted) RTP packet without parsing the rest, so the server can feed
 * {@link TransportFeedbackGenerator} on the receive path at the cost of a short header walk.
 */
public final class TransportSequence {

    /** The extmap URI. */
    public static final String URI = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";

    private TransportSequence() {}

    /**
     * The transport-wide sequence number in {@code buf[off..off+len)} under local extension id {@code id}, or -1 if
     * the packet has none (no extension, another id, a length other than 2, or a malformed header: never throws).
     */
    public static int find(byte[] buf, int off, int len, int id) {
        int p = locate(buf, off, len, id);
        return p < 0 ? -1 : ((buf[p] & 0xFF) << 8) | (buf[p + 1] & 0xFF);
    }

    /**
     * Writes {@code sequence} into the packet's existing transport-wide sequence number element (id {@code id}, 2
     * bytes) in place: the send side reserves the element when it builds the header and stamps it just before
     * sending, without re-encoding the header. Returns false (and writes nothing) if the packet has no such element.
     */
    public static boolean write(byte[] buf, int off, int len, int id, int sequence) {
        int p = locate(buf, off, len, id);
        if (p < 0) {
            return false;
        }
        buf[p] = (byte) (sequence >>> 8);
        buf[p + 1] = (byte) sequence;
        return true;
    }

    /**
     * A copy of the RTP packet {@code buf[off..off+len)} with a zeroed 2-byte element {@code id} added to its header
     * extension (for {@link #write} to fill): appended as one more 32-bit word to an existing one-byte (id 1..14) or
     * two-byte block, or as a new one-byte block if the packet has none. Returns null if it cannot be added (not an
     * RTP packet, a malformed or unknown extension block, an id the block's form cannot carry, or a block already
     * at its 65535-word limit). The payload and padding are copied unchanged.
     */
    public static byte[] withElement(byte[] buf, int off, int len, int id) {
        if (buf == null || off < 0 || len < 12 || off > buf.length - len || id < 1 || id > 255) {
            return null;
        }
        int b0 = buf[off] & 0xFF;
        if ((b0 >>> 6) != 2) {
            return null;
        }
        int fixed = 12 + 4 * (b0 & 0x0F);
        if (fixed > len) {
            return null;
        }
        if ((b0 & 0x10) == 0) {
            if (id > 14) {
                return null;
            }
            byte[] out = new byte[len + 8];
            System.arraycopy(buf, off, out, 0, fixed);
            out[0] |= 0x10;
            out[fixed] = (byte) 0xBE;
            out[fixed + 1] = (byte) 0xDE;
            out[fixed + 3] = 1;
            out[fixed + 4] = (byte) ((id << 4) | 1);
            System.arraycopy(buf, off + fixed, out, fixed + 8, len - fixed);
            return out;
        }
        if (len - fixed < 4) {
            return null;
        }
        int p = off + fixed;
        int profile = ((buf[p] & 0xFF) << 8) | (buf[p + 1] & 0xFF);
        int words = ((buf[p + 2] & 0xFF) << 8) | (buf[p + 3] & 0xFF);
        int blockEnd = fixed + 4 + 4 * words;
        if (blockEnd > len || words == 0xFFFF) {
            return null;
        }
        byte[] element;
        if (profile == 0xBEDE && id <= 14) {
            element = new byte[] {(byte) ((id << 4) | 1), 0, 0, 0};
        } else if ((profile & 0xFFF0) == 0x1000) {
            element = new byte[] {(byte) id, 2, 0, 0};
        } else {
            return null;
        }
        byte[] out = new byte[len + 4];
        System.arraycopy(buf, off, out, 0, blockEnd);
        out[fixed + 2] = (byte) ((words + 1) >>> 8);
        out[fixed + 3] = (byte) (words + 1);
        System.arraycopy(element, 0, out, blockEnd, 4);
        System.arraycopy(buf, off + blockEnd, out, blockEnd + 4, len - blockEnd);
        return out;
    }

    /**
     * {@link #withElement} in place: adds the zeroed 2-byte element {@code id} to the RTP packet {@code buf[off..off+len)}
     * where it is, moving what follows the header extension 4 or 8 bytes on; {@code buf[off..off+capacity)} is the room
     * the packet may grow into (the forwarding path's buffer). Same bytes as {@link #withElement}, without a copy of the
     * packet or an allocation.
     *
     * @return the packet's new length, or -1 (buffer untouched) if {@link #withElement} would return null or the
     *     capacity is too small
     */
    public static int withElementInPlace(byte[] buf, int off, int len, int capacity, int id) {
        if (buf == null || off < 0 || len < 12 || capacity < len || off > buf.length - capacity || id < 1 || id > 255) {
            return -1;
        }
        int b0 = buf[off] & 0xFF;
        if ((b0 >>> 6) != 2) {
            return -1;
        }
        int fixed = 12 + 4 * (b0 & 0x0F);
        if (fixed > len) {
            return -1;
        }
        if ((b0 & 0x10) == 0) {
            if (id > 14 || len + 8 > capacity) {
                return -1;
            }
            System.arraycopy(buf, off + fixed, buf, off + fixed + 8, len - fixed);
            int p = off + fixed;
            buf[off] = (byte) (b0 | 0x10);
            buf[p] = (byte) 0xBE;
            buf[p + 1] = (byte) 0xDE;
            buf[p + 2] = 0;
            buf[p + 3] = 1;
            buf[p + 4] = (byte) ((id << 4) | 1);
            buf[p + 5] = 0;
            buf[p + 6] = 0;
            buf[p + 7] = 0;
            return len + 8;
        }
        if (len - fixed < 4 || len + 4 > capacity) {
            return -1;
        }
        int p = off + fixed;
        int profile = ((buf[p] & 0xFF) << 8) | (buf[p + 1] & 0xFF);
        int words = ((buf[p + 2] & 0xFF) << 8) | (buf[p + 3] & 0xFF);
        int blockEnd = fixed + 4 + 4 * words;
        if (blockEnd > len || words == 0xFFFF) {
            return -1;
        }
        byte e0;
        byte e1;
        if (profile == 0xBEDE && id <= 14) {
            e0 = (byte) ((id << 4) | 1);
            e1 = 0;
        } else if ((profile & 0xFFF0) == 0x1000) {
            e0 = (byte) id;
            e1 = 2;
        } else {
            return -1;
        }
        System.arraycopy(buf, off + blockEnd, buf, off + blockEnd + 4, len - blockEnd);
        buf[p + 2] = (byte) ((words + 1) >>> 8);
        buf[p + 3] = (byte) (words + 1);
        int q = off + blockEnd;
        buf[q] = e0;
        buf[q + 1] = e1;
        buf[q + 2] = 0;
        buf[q + 3] = 0;
        return len + 4;
    }

    /** The absolute offset of the 2 data bytes of element {@code id}, or -1 (same rules as {@link #find}). */
    private static int locate(byte[] buf, int off, int len, int id) {
        if (buf == null || off < 0 || len < 12 || off > buf.length - len || id < 1 || id > 255) {
            return -1;
        }
        int b0 = buf[off] & 0xFF;
        if ((b0 >>> 6) != 2 || (b0 & 0x10) == 0) {
            return -1;
        }
        int p = off + 12 + 4 * (b0 & 0x0F);
        int end = off + len;
        if (end - p < 4) {
            return -1;
        }
        int profile = ((buf[p] & 0xFF) << 8) | (buf[p + 1] & 0xFF);
        int words = ((buf[p + 2] & 0xFF) << 8) | (buf[p + 3] & 0xFF);
        p += 4;
        if (words * 4 > end - p) {
            return -1;
        }
        int extEnd = p + words * 4;
        if (profile == 0xBEDE) {
            if (id > 14) {
                return -1;
            }
            while (p < extEnd) {
                int h = buf[p] & 0xFF;
                if (h == 0) {
                    p++; // padding
                    continue;
                }
                int eid = h >>> 4;
                if (eid == 15) {
                    return -1; // reserved: stop
                }
                int elen = (h & 0x0F) + 1;
                if (p + 1 + elen > extEnd) {
                    return -1;
                }
                if (eid == id) {
                    return elen == 2 ? p + 1 : -1;
                }
                p += 1 + elen;
            }
        } else if ((profile & 0xFFF0) == 0x1000) {
            while (p < extEnd) {
                int eid = buf[p] & 0xFF;
                if (eid == 0) {
                    p++;
                    continue;
                }
                if (p + 2 > extEnd) {
                    return -1;
                }
                int elen = buf[p + 1] & 0xFF;
                if (p + 2 + elen > extEnd) {
                    return -1;
                }
                if (eid == id) {
                    return elen == 2 ? p + 2 : -1;
                }
                p += 2 + elen;
            }
        }
        return -1;
    }
}
