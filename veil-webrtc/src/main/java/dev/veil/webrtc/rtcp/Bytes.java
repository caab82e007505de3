package dev.veil.webrtc.rtcp;

/** Big-endian helpers shared by the RTCP codecs. */
final class Bytes {
    private Bytes() {}

    static int u8(byte[] b, int o) {
        return b[o] & 0xFF;
    }

    static int u16(byte[] b, int o) {
        return ((b[o] & 0xFF) << 8) | (b[o + 1] & 0xFF);
    }

    static long u32(byte[] b, int o) {
        return (((b[o] & 0xFF) << 24) | ((b[o + 1] & 0xFF) << 16) | ((b[o + 2] & 0xFF) << 8) | (b[o + 3] & 0xFF))
                & 0xFFFF_FFFFL;
    }

    static void w16(byte[] b, int o, int v) {
        b[o] = (byte) (v >>> 8);
        b[o + 1] = (byte) v;
    }

    static void w32(byte[] b, int o, long v) {
        b[o] = (byte) (v >>> 24);
        b[o + 1] = (byte) (v >>> 16);
        b[o + 2] = (byte) (v >>> 8);
        b[o + 3] = (byte) v;
    }

    /** Writes the common header: V=2, no padding, count/FMT, PT and the length in words minus one. */
    static void header(byte[] b, int o, int countOrFmt, int pt, int totalLength) {
        b[o] = (byte) (0x80 | (countOrFmt & 0x1F));
        b[o + 1] = (byte) pt;
        w16(b, o + 2, totalLength / 4 - 1);
    }

    static void checkU32(long v, String name) {
        if (v < 0 || v > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException(name + " is unsigned 32 bits");
        }
    }
}
