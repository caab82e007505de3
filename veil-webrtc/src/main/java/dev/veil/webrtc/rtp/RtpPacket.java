package dev.veil.webrtc.rtp;

import java.util.ArrayList;
import java.util.List;

/**
 * A parsed RTP packet: an {@link RtpHeader} value plus the location of the payload and padding inside the caller's
 * buffer. Parsing never copies the payload (the SFU never reads it beyond a codec descriptor: past the clear prefix
 * it is E2EE ciphertext). The buffer is not copied either: the caller must not change it while using this view.
 *
 * <p>Static helpers rewrite SSRC, payload type, sequence number and timestamp in place, which is how the SFU rewrites
 * a packet copy for each consumer without re-encoding the header; {@link #rewrite} re-encodes the header when the
 * extensions change.
 */
public final class RtpPacket {

    private RtpHeader header;
    private byte[] buffer;
    private int offset;
    private int length;
    private int headerLength;
    private int paddingLength;
    // the fixed header and the extension block's place, read without allocating
    private boolean marker;
    private int payloadType;
    private int sequenceNumber;
    private long timestamp;
    private long ssrc;
    private int csrcCount;
    private int extensionProfile;
    private int extensionOffset;
    private int extensionLength;

    private RtpPacket() {}

    /**
     * An empty view to be filled again and again with {@link #wrap} (the router parses every packet into one such
     * view, so that the per-packet path allocates nothing). Whoever receives a reusable view must not keep it past
     * the call it was passed to.
     */
    public static RtpPacket reusable() {
        return new RtpPacket();
    }

    /**
     * The header value. Built on first use from the buffer (a view filled with {@link #wrap} allocates it only
     * if asked): the per-packet path reads {@link #sequenceNumber()}, {@link #timestamp()} etc. instead.
     */
    public RtpHeader header() {
        RtpHeader h = header;
        if (h == null) {
            try {
                h = buildHeader();
            } catch (RtpException e) {
                throw new IllegalStateException("validated at parse", e);
            }
            header = h;
        }
        return h;
    }

    /** The M bit. */
    public boolean marker() {
        return marker;
    }

    /** The payload type. */
    public int payloadType() {
        return payloadType;
    }

    /** The sequence number. */
    public int sequenceNumber() {
        return sequenceNumber;
    }

    /** The timestamp (unsigned 32 bits). */
    public long timestamp() {
        return timestamp;
    }

    /** The SSRC (unsigned 32 bits). */
    public long ssrc() {
        return ssrc;
    }

    /** Number of CSRCs. */
    public int csrcCount() {
        return csrcCount;
    }

    /** The header extension's profile, or -1 if the packet has none. */
    public int extensionProfile() {
        return extensionProfile;
    }

    /** The buffer this view reads (not a copy). */
    public byte[] buffer() {
        return buffer;
    }

    /** Offset of the packet in {@link #buffer()}. */
    public int offset() {
        return offset;
    }

    /** Length of the whole packet. */
    public int length() {
        return length;
    }

    /** Encoded header length (fixed + CSRCs + extension). */
    public int headerLength() {
        return headerLength;
    }

    /** Absolute offset of the payload in {@link #buffer()}. */
    public int payloadOffset() {
        return offset + headerLength;
    }

    /** Payload length (without padding). */
    public int payloadLength() {
        return length - headerLength - paddingLength;
    }

    /** Padding length including the count byte; 0 if the P bit is clear. */
    public int paddingLength() {
        return paddingLength;
    }

    /** Parses a whole array. */
    public static RtpPacket parse(byte[] buf) throws RtpException {
        return parse(buf, 0, buf == null ? 0 : buf.length);
    }

    /**
     * Parses {@code buf[off..off+len)}.
     *
     * @throws RtpException if the version is not 2, or the CSRC list, extension or padding overrun the packet
     */
    public static RtpPacket parse(byte[] buf, int off, int len) throws RtpException {
        RtpPacket p = new RtpPacket();
        p.wrap(buf, off, len);
        p.header();
        return p;
    }

    /**
     * Re-points this view at {@code buf[off..off+len)}, validating it as {@link #parse} does but allocating nothing.
     *
     * @throws RtpException as {@link #parse}; the view is then unusable until the next successful wrap
     */
    public void wrap(byte[] buf, int off, int len) throws RtpException {
        header = null;
        buffer = null;
        if (buf == null || off < 0 || len < 0 || off > buf.length - len) {
            throw new RtpException("bad buffer bounds");
        }
        if (len < RtpHeader.FIXED_LENGTH) {
            throw new RtpException("shorter than the fixed RTP header: " + len);
        }
        int b0 = buf[off] & 0xFF;
        if ((b0 >> 6) != 2) {
            throw new RtpException("RTP version is not 2");
        }
        boolean padding = (b0 & 0x20) != 0;
        boolean hasExt = (b0 & 0x10) != 0;
        int cc = b0 & 0x0F;
        int b1 = buf[off + 1] & 0xFF;
        int pos = off + RtpHeader.FIXED_LENGTH;
        int end = off + len;
        if (end - pos < 4 * cc) {
            throw new RtpException("CSRC list overruns the packet");
        }
        pos += 4 * cc;
        int profile = -1;
        int extOff = 0;
        int extLen = 0;
        if (hasExt) {
            if (end - pos < 4) {
                throw new RtpException("extension header overruns the packet");
            }
            profile = readShort(buf, pos);
            int words = readShort(buf, pos + 2);
            pos += 4;
            if (end - pos < 4 * words) {
                throw new RtpException("extension overruns the packet");
            }
            int extEnd = pos + 4 * words;
            if (profile == RtpHeader.PROFILE_ONE_BYTE) {
                parseOneByte(buf, pos, extEnd, null);
            } else if (RtpHeader.isRfc8285(profile)) {
                parseTwoByte(buf, pos, extEnd, null);
            }
            extOff = pos;
            extLen = extEnd - pos;
            pos = extEnd;
        }
        int headerLen = pos - off;
        int padLen = 0;
        if (padding) {
            if (end == pos) {
                throw new RtpException("padding bit set but no padding byte");
            }
            padLen = buf[end - 1] & 0xFF;
            if (padLen == 0 || padLen > end - pos) {
                throw new RtpException("bad padding length " + padLen);
            }
        }
        buffer = buf;
        offset = off;
        length = len;
        headerLength = headerLen;
        paddingLength = padLen;
        marker = (b1 & 0x80) != 0;
        payloadType = b1 & 0x7F;
        sequenceNumber = readShort(buf, off + 2);
        timestamp = readInt(buf, off + 4) & 0xFFFF_FFFFL;
        ssrc = readInt(buf, off + 8) & 0xFFFF_FFFFL;
        csrcCount = cc;
        extensionProfile = profile;
        extensionOffset = extOff;
        extensionLength = extLen;
    }

    private RtpHeader buildHeader() throws RtpException {
        List<Long> csrcs = new ArrayList<>(csrcCount);
        for (int i = 0; i < csrcCount; i++) {
            csrcs.add(readInt(buffer, offset + RtpHeader.FIXED_LENGTH + 4 * i) & 0xFFFF_FFFFL);
        }
        List<HeaderExtension> elements = List.of();
        byte[] raw = null;
        if (extensionProfile == RtpHeader.PROFILE_ONE_BYTE) {
            elements = new ArrayList<>();
            parseOneByte(buffer, extensionOffset, extensionOffset + extensionLength, elements);
        } else if (RtpHeader.isRfc8285(extensionProfile)) {
            elements = new ArrayList<>();
            parseTwoByte(buffer, extensionOffset, extensionOffset + extensionLength, elements);
        } else if (extensionProfile >= 0) {
            raw = new byte[extensionLength];
            System.arraycopy(buffer, extensionOffset, raw, 0, extensionLength);
        }
        return new RtpHeader(marker, payloadType, sequenceNumber, timestamp, ssrc, csrcs, extensionProfile, elements,
                raw);
    }

    /**
     * Copies this packet's fixed header and CSRCs to {@code out[outOff..]} with another SSRC, payload type, sequence
     * number and timestamp, the extension block replaced by {@code extensionBlock} (a whole encoded block: profile,
     * length and elements; empty for none), followed by the payload and padding (the P and M bits kept): what
     * {@link #rewrite} produces for {@code header().rewritten(...).withExtensions(...)}, without allocating.
     *
     * @return the length written
     */
    public int rewriteInto(byte[] out, int outOff, long newSsrc, int newPayloadType, int newSeq, long newTimestamp,
            byte[] extensionBlock) {
        int fixed = RtpHeader.FIXED_LENGTH + 4 * csrcCount;
        int tail = length - headerLength;
        int total = fixed + extensionBlock.length + tail;
        java.util.Objects.checkFromIndexSize(outOff, total, out.length);
        System.arraycopy(buffer, offset, out, outOff, fixed);
        out[outOff] = (byte) ((out[outOff] & ~0x10) | (extensionBlock.length > 0 ? 0x10 : 0));
        setPayloadType(out, outOff, newPayloadType);
        setSequenceNumber(out, outOff, newSeq);
        setTimestamp(out, outOff, newTimestamp);
        setSsrc(out, outOff, newSsrc);
        System.arraycopy(extensionBlock, 0, out, outOff + fixed, extensionBlock.length);
        System.arraycopy(buffer, offset + headerLength, out, outOff + fixed + extensionBlock.length, tail);
        return total;
    }

    /** Validates the one-byte elements of {@code b[p, end)}, adding them to {@code out} unless it is null. */
    private static void parseOneByte(byte[] b, int p, int end, List<HeaderExtension> out) throws RtpException {
        while (p < end) {
            int x = b[p] & 0xFF;
            if (x == 0) { // padding between or after elements
                p++;
                continue;
            }
            int id = x >> 4;
            if (id == 15) { // RFC 8285 §4.2: reserved, stop processing
                break;
            }
            if (id == 0) {
                throw new RtpException("one-byte extension element with id 0 and a length");
            }
            int n = (x & 0x0F) + 1;
            if (end - p - 1 < n) {
                throw new RtpException("one-byte extension element overruns");
            }
            if (out != null) {
                byte[] d = new byte[n];
                System.arraycopy(b, p + 1, d, 0, n);
                out.add(new HeaderExtension(id, d));
            }
            p += 1 + n;
        }
    }

    /** Validates the two-byte elements of {@code b[p, end)}, adding them to {@code out} unless it is null. */
    private static void parseTwoByte(byte[] b, int p, int end, List<HeaderExtension> out) throws RtpException {
        while (p < end) {
            int id = b[p] & 0xFF;
            if (id == 0) {
                p++;
                continue;
            }
            if (end - p < 2) {
                throw new RtpException("two-byte extension element header overruns");
            }
            int n = b[p + 1] & 0xFF;
            if (end - p - 2 < n) {
                throw new RtpException("two-byte extension element overruns");
            }
            if (out != null) {
                byte[] d = new byte[n];
                System.arraycopy(b, p + 2, d, 0, n);
                out.add(new HeaderExtension(id, d));
            }
            p += 2 + n;
        }
    }

    /** Builds a packet: header then payload, no padding. */
    public static byte[] build(RtpHeader header, byte[] payload, int payloadOff, int payloadLen) {
        byte[] out = new byte[header.encodedLength() + payloadLen];
        int n = header.writeTo(out, 0, false);
        System.arraycopy(payload, payloadOff, out, n, payloadLen);
        return out;
    }

    /**
     * A new packet with {@code newHeader} followed by this packet's payload and padding (the P bit is kept). Use it
     * when the header length changes (extensions rewritten or stripped).
     */
    public byte[] rewrite(RtpHeader newHeader) {
        int tail = length - headerLength;
        byte[] out = new byte[newHeader.encodedLength() + tail];
        int n = newHeader.writeTo(out, 0, paddingLength > 0);
        System.arraycopy(buffer, offset + headerLength, out, n, tail);
        return out;
    }

    /** A copy of the whole packet bytes. */
    public byte[] toByteArray() {
        byte[] out = new byte[length];
        System.arraycopy(buffer, offset, out, 0, length);
        return out;
    }

    // ------------------------------------------------------------------------ in-place field access (no parsing)

    /** Sets the sequence number of the RTP packet at {@code buf[off]}. */
    public static void setSequenceNumber(byte[] buf, int off, int seq) {
        writeShort(buf, off + 2, seq);
    }

    /** Sets the timestamp of the RTP packet at {@code buf[off]}. */
    public static void setTimestamp(byte[] buf, int off, long ts) {
        writeInt(buf, off + 4, (int) ts);
    }

    /** Sets the SSRC of the RTP packet at {@code buf[off]}. */
    public static void setSsrc(byte[] buf, int off, long ssrc) {
        writeInt(buf, off + 8, (int) ssrc);
    }

    /** Sets the payload type (keeping the marker bit) of the RTP packet at {@code buf[off]}. */
    public static void setPayloadType(byte[] buf, int off, int pt) {
        buf[off + 1] = (byte) ((buf[off + 1] & 0x80) | (pt & 0x7F));
    }

    static int readShort(byte[] b, int o) {
        return ((b[o] & 0xFF) << 8) | (b[o + 1] & 0xFF);
    }

    static int readInt(byte[] b, int o) {
        return ((b[o] & 0xFF) << 24) | ((b[o + 1] & 0xFF) << 16) | ((b[o + 2] & 0xFF) << 8) | (b[o + 3] & 0xFF);
    }

    static void writeShort(byte[] b, int o, int v) {
        b[o] = (byte) (v >>> 8);
        b[o + 1] = (byte) v;
    }

    static void writeInt(byte[] b, int o, int v) {
        b[o] = (byte) (v >>> 24);
        b[o + 1] = (byte) (v >>> 16);
        b[o + 2] = (byte) (v >>> 8);
        b[o + 3] = (byte) v;
    }

    @Override
    public String toString() {
        return "RtpPacket[" + (buffer == null ? "empty" : header()) + ", payload=" + payloadLength() + "B, padding=" + paddingLength + "]";
    }
}
