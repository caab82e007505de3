package dev.veil.webrtc.rtp;

/**
 * Cheap H.264 key-frame detection on an RTP payload (<a href="https://www.rfc-editor.org/rfc/rfc6184#section-5">RFC
 * 6184 §5</a>): a key frame starts with an IDR slice (NAL type 5) or, as browsers send it, with SPS (7) / PPS (8)
 * before the IDR. Handles single NAL units, STAP-A (24) and the first fragment of FU-A (28).
 *
 * <pre>
 *  NAL header:  +---------------+     FU header:  +---------------+
 *               |0|1|2|3|4|5|6|7|                 |0|1|2|3|4|5|6|7|
 *               |F|NRI|  Type   |                 |S|E|R|  Type   |
 *               +---------------+                 +---------------+
 *  STAP-A:  [NAL hdr type 24] ([16-bit size][NAL unit])*
 * </pre>
 */
public final class H264 {

    private H264() {}

    /** NAL unit type of an IDR slice. */
    public static final int NAL_IDR = 5;
    /** NAL unit type of a sequence parameter set. */
    public static final int NAL_SPS = 7;
    /** STAP-A aggregation packet. */
    public static final int STAP_A = 24;
    /** FU-A fragmentation unit. */
    public static final int FU_A = 28;

    /** Whether the payload starts (or contains, for STAP-A) an IDR or SPS. False for malformed payloads. */
    public static boolean isKeyFrame(byte[] buf, int off, int len) {
        if (len < 1) {
            return false;
        }
        int type = buf[off] & 0x1F;
        if (type == STAP_A) {
            int p = off + 1;
            int end = off + len;
            while (end - p >= 3) {
                int size = ((buf[p] & 0xFF) << 8) | (buf[p + 1] & 0xFF);
                if (size == 0 || size > end - p - 2) {
                    return false;
                }
                if (isKeyNal(buf[p + 2] & 0x1F)) {
                    return true;
                }
                p += 2 + size;
            }
            return false;
        }
        if (type == FU_A) {
            if (len < 2) {
                return false;
            }
            int fu = buf[off + 1] & 0xFF;
            return (fu & 0x80) != 0 && isKeyNal(fu & 0x1F);
        }
        return isKeyNal(type);
    }

    private static boolean isKeyNal(int type) {
        return type == NAL_IDR || type == NAL_SPS;
    }
}
