package dev.veil.webrtc.rtp;

/**
 * The VP8 payload descriptor (<a href="https://www.rfc-editor.org/rfc/rfc7741#section-4.2">RFC 7741 §4.2</a>) and
 * key-frame detection from the VP8 payload header that follows it (§4.3).
 *
 * <pre>
 *        0 1 2 3 4 5 6 7
 *       +-+-+-+-+-+-+-+-+
 *       |X|R|N|S|R| PID | (REQUIRED)
 *       +-+-+-+-+-+-+-+-+
 *  X:   |I|L|T|K| RSV   | (OPTIONAL)
 *       +-+-+-+-+-+-+-+-+
 *  I:   |M| PictureID   | (OPTIONAL)
 *       +-+-+-+-+-+-+-+-+
 *  M:   | PictureID     | (OPTIONAL, 15-bit picture id when M=1)
 *       +-+-+-+-+-+-+-+-+
 *  L:   |   TL0PICIDX   | (OPTIONAL)
 *       +-+-+-+-+-+-+-+-+
 *  T/K: |TID|Y| KEYIDX  | (OPTIONAL)
 *       +-+-+-+-+-+-+-+-+
 *
 *  VP8 payload header (first bytes of the frame, only at S=1, PID=0):
 *       +-+-+-+-+-+-+-+-+
 *       |Size0|H| VER |P|   P = 0: key frame
 *       +-+-+-+-+-+-+-+-+
 * </pre>
 *
 * The first byte of the VP8 frame is inside the E2EE clear prefix (VP8 keeps 10 bytes clear on a key frame and 3 on
 * a delta frame), so the P bit is readable by the SFU.
 *
 * @param nonReference N bit
 * @param startOfPartition S bit
 * @param partitionId PID
 * @param pictureId picture id, -1 if absent
 * @param tl0PicIdx TL0PICIDX, -1 if absent
 * @param temporalLayer TID, -1 if absent
 * @param layerSync Y bit
 * @param keyIdx KEYIDX, -1 if absent
 * @param length descriptor length in bytes (where the VP8 payload starts)
 */
public record Vp8Descriptor(boolean nonReference, boolean startOfPartition, int partitionId, int pictureId,
        int tl0PicIdx, int temporalLayer, boolean layerSync, int keyIdx, int length) {

    /**
     * Parses the descriptor at the start of an RTP payload.
     *
     * @throws RtpException if the payload is shorter than the descriptor it announces
     */
    public static Vp8Descriptor parse(byte[] buf, int off, int len) throws RtpException {
        if (len < 1) {
            throw new RtpException("empty VP8 payload");
        }
        int p = off;
        int end = off + len;
        int b0 = buf[p++] & 0xFF;
        boolean x = (b0 & 0x80) != 0;
        int pictureId = -1;
        int tl0 = -1;
        int tid = -1;
        boolean y = false;
        int keyIdx = -1;
        if (x) {
            if (p >= end) {
                throw new RtpException("VP8 X byte missing");
            }
            int xb = buf[p++] & 0xFF;
            if ((xb & 0x80) != 0) { // I
                if (p >= end) {
                    throw new RtpException("VP8 picture id missing");
                }
                int pb = buf[p++] & 0xFF;
                if ((pb & 0x80) != 0) {
                    if (p >= end) {
                        throw new RtpException("VP8 15-bit picture id truncated");
                    }
                    pictureId = ((pb & 0x7F) << 8) | (buf[p++] & 0xFF);
                } else {
                    pictureId = pb;
                }
            }
            if ((xb & 0x40) != 0) { // L
                if (p >= end) {
                    throw new RtpException("VP8 TL0PICIDX missing");
                }
                tl0 = buf[p++] & 0xFF;
            }
            if ((xb & 0x30) != 0) { // T or K
                if (p >= end) {
                    throw new RtpException("VP8 TID/KEYIDX missing");
                }
                int tk = buf[p++] & 0xFF;
                if ((xb & 0x20) != 0) {
                    tid = tk >> 6;
                    y = (tk & 0x20) != 0;
                }
                if ((xb & 0x10) != 0) {
                    keyIdx = tk & 0x1F;
                }
            }
        }
        return new Vp8Descriptor((b0 & 0x20) != 0, (b0 & 0x10) != 0, b0 & 0x07, pictureId, tl0, tid, y, keyIdx,
                p - off);
    }

    /**
     * Whether this RTP payload starts a VP8 key frame: S=1, PID=0 and the P bit of the first payload byte is 0.
     * False for malformed or truncated payloads.
     */
    public static boolean isKeyFrame(byte[] buf, int off, int len) {
        // the per-packet path: the same checks as parse() without making the record
        if (len < 1) {
            return false;
        }
        int b0 = buf[off] & 0xFF;
        if ((b0 & 0x10) == 0 || (b0 & 0x07) != 0) {
            return false; // S=0 or PID != 0
        }
        int n = length(buf, off, len);
        return n >= 0 && n < len && (buf[off + n] & 0x01) == 0;
    }

    /** The descriptor's length as {@link #parse} finds it, or -1 where parse would throw. */
    private static int length(byte[] buf, int off, int len) {
        int p = off;
        int end = off + len;
        int b0 = buf[p++] & 0xFF;
        if ((b0 & 0x80) != 0) { // X
            if (p >= end) {
                return -1;
            }
            int xb = buf[p++] & 0xFF;
            if ((xb & 0x80) != 0) { // I
                if (p >= end) {
                    return -1;
                }
                int pb = buf[p++] & 0xFF;
                if ((pb & 0x80) != 0) {
                    if (p >= end) {
                        return -1;
                    }
                    p++;
                }
            }
            if ((xb & 0x40) != 0) { // L
                if (p >= end) {
                    return -1;
                }
                p++;
            }
            if ((xb & 0x30) != 0) { // T or K
                if (p >= end) {
                    return -1;
                }
                p++;
            }
        }
        return p - off;
    }

    /**
     * The picture size a VP8 key frame announces (RFC 6386 §9.1: after the 3-byte frame tag, the start code
     * 9d 01 2a, then 14-bit width and height, little-endian), as {@code width << 16 | height}; -1 if this payload
     * does not start a key frame or is too short. These bytes are inside the E2EE clear prefix of a key frame.
     */
    public static int keyFrameSize(byte[] buf, int off, int len) {
        if (!isKeyFrame(buf, off, len)) {
            return -1;
        }
        int p;
        try {
            p = off + parse(buf, off, len).length;
        } catch (RtpException e) {
            return -1;
        }
        if (off + len - p < 10 || (buf[p + 3] & 0xFF) != 0x9d || (buf[p + 4] & 0xFF) != 0x01
                || (buf[p + 5] & 0xFF) != 0x2a) {
            return -1;
        }
        int w = ((buf[p + 6] & 0xFF) | (buf[p + 7] & 0xFF) << 8) & 0x3FFF;
        int h = ((buf[p + 8] & 0xFF) | (buf[p + 9] & 0xFF) << 8) & 0x3FFF;
        return w << 16 | h;
    }
}
