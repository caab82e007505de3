package dev.veil.webrtc.rtcp;

/** Big-endian helpers shared by the RTCP codecs. */
final class Bytes {
    private Bytes() {}

    /**
     * Strict UTF-8 text of an RTCP item (RFC 3550 §6.5). Malformed bytes are refused rather than replaced: U+FFFD
     * is 3 bytes, so a replaced 255-byte item no longer fits its 8-bit length and its value class threw
     * IllegalArgumentException out of the parser (found by RtcpFuzzTest).
     */
    static String utf8(byte[] b, int o, int n, String what) throws RtcpException {
        try {
            return java.nio.charset.StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(java.nio.charset.CodingErrorAction.REPORT)
                    .onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(b, o, n)).toString();
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new RtcpException(what + " is not UTF-8");
        }
    }

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
