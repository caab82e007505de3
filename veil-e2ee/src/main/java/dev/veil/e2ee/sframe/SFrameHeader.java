package dev.veil.e2ee.sframe;

/**
 * The SFrame header (RFC 9605 section 4.3): a config byte, then the KID and CTR as minimal-length big-endian
 * unsigned integers. Both values are unsigned 64-bit, held in a {@code long}.
 *
 * <pre>
 *    0 1 2 3 4 5 6 7
 *   +-+-+-+-+-+-+-+-+---------------------------+---------------------------+
 *   |X|  K  |Y|  C  |   KID (0..8 bytes)        |   CTR (0..8 bytes)        |
 *   +-+-+-+-+-+-+-+-+---------------------------+---------------------------+
 *
 *   X = 0: K is the KID itself (0..7) and no KID bytes follow.
 *   X = 1: K + 1 (1..8) is the number of KID bytes that follow.
 *   Y, C:  the same for the CTR.
 * </pre>
 *
 * Encoding is always minimal: a value below 8 goes in the config byte, a larger one in as few bytes as it needs.
 * Decoding also accepts non-minimal encodings (the header is authenticated as AAD, so this creates no malleability).
 * The header is 1 to 17 bytes long.
 */
public record SFrameHeader(long kid, long counter) {
    /** The longest possible header: config byte + 8 KID bytes + 8 CTR bytes. */
    public static final int MAX_LENGTH = 17;

    /** The encoded length in bytes. */
    public int length() {
        return encodedLength(kid, counter);
    }

    /** Encodes into {@code out} at {@code off}; returns the number of bytes written. */
    public int encode(byte[] out, int off) {
        return encode(kid, counter, out, off);
    }

    /** The encoded header as a new array. */
    public byte[] toBytes() {
        byte[] b = new byte[length()];
        encode(b, 0);
        return b;
    }

    /**
     * Decodes a header at the start of {@code buf[off, off + len)}.
     *
     * @throws MalformedHeaderException if the header does not fit in {@code len} bytes
     */
    public static SFrameHeader decode(byte[] buf, int off, int len) throws MalformedHeaderException {
        long[] v = new long[2];
        if (parse(buf, off, len, v) < 0) {
            throw new MalformedHeaderException("SFrame header does not fit in " + len + " bytes");
        }
        return new SFrameHeader(v[0], v[1]);
    }

    @Override
    public String toString() {
        return "SFrameHeader[kid=" + Long.toUnsignedString(kid) + ", ctr=" + Long.toUnsignedString(counter) + "]";
    }

    /** Thrown by {@link #decode} for a header that does not fit. */
    public static final class MalformedHeaderException extends Exception {
        private static final long serialVersionUID = 1L;

        MalformedHeaderException(String message) {
            super(message);
        }
    }

    // ---- allocation-free helpers used by the sender and receiver ----

    /** Bytes needed after the config byte for {@code v}: 0 when it fits in 3 bits, else 1..8. */
    static int valueLength(long v) {
        if (v >= 0 && v < 8) {
            return 0;
        }
        return 8 - Long.numberOfLeadingZeros(v) / 8;
    }

    static int encodedLength(long kid, long ctr) {
        return 1 + valueLength(kid) + valueLength(ctr);
    }

    static int encode(long kid, long ctr, byte[] out, int off) {
        int kl = valueLength(kid);
        int cl = valueLength(ctr);
        int config = (kl == 0 ? (int) kid << 4 : 0x80 | (kl - 1) << 4) | (cl == 0 ? (int) ctr : 0x08 | (cl - 1));
        out[off] = (byte) config;
        int p = off + 1;
        for (int i = kl - 1; i >= 0; i--) {
            out[p++] = (byte) (kid >>> (8 * i));
        }
        for (int i = cl - 1; i >= 0; i--) {
            out[p++] = (byte) (ctr >>> (8 * i));
        }
        return p - off;
    }

    /**
     * Parses a header; stores KID in {@code out[0]} and CTR in {@code out[1]}; returns the header length, or -1 if
     * the header does not fit in {@code len} bytes.
     */
    static int parse(byte[] buf, int off, int len, long[] out) {
        if (len < 1) {
            return -1;
        }
        int config = buf[off] & 0xFF;
        int kl = (config & 0x80) == 0 ? 0 : ((config >>> 4) & 0x07) + 1;
        int cl = (config & 0x08) == 0 ? 0 : (config & 0x07) + 1;
        int total = 1 + kl + cl;
        if (len < total) {
            return -1;
        }
        int p = off + 1;
        long kid;
        if (kl == 0) {
            kid = (config >>> 4) & 0x07;
        } else {
            kid = 0;
            for (int i = 0; i < kl; i++) {
                kid = kid << 8 | (buf[p++] & 0xFF);
            }
        }
        long ctr;
        if (cl == 0) {
            ctr = config & 0x07;
        } else {
            ctr = 0;
            for (int i = 0; i < cl; i++) {
                ctr = ctr << 8 | (buf[p++] & 0xFF);
            }
        }
        out[0] = kid;
        out[1] = ctr;
        return total;
    }
}
