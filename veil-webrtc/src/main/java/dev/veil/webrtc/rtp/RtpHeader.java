package dev.veil.webrtc.rtp;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * The fixed RTP header, CSRCs and header extensions (<a href="https://www.rfc-editor.org/rfc/rfc3550#section-5.1">RFC
 * 3550 §5.1</a>, <a href="https://www.rfc-editor.org/rfc/rfc8285">RFC 8285</a>) as an immutable value.
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |V=2|P|X|  CC   |M|     PT      |       sequence number         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                           timestamp                           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           synchronization source (SSRC) identifier            |
 * +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 * |            contributing source (CSRC) identifiers             |
 * |                             ....                              |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |      defined by profile       |           length              |   (if X)
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                        header extension                       |
 * |                             ....                              |
 *
 * RFC 8285 one-byte form (profile 0xBEDE):       two-byte form (profile 0x100 | appbits):
 *  0 1 2 3 4 5 6 7                                 0                   1
 * +-+-+-+-+-+-+-+-+                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  ID   |  len  |  data (len+1 bytes)           |      ID       |    length     | data (length bytes)
 * +-+-+-+-+-+-+-+-+                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * </pre>
 *
 * The padding bit is not part of this value: it belongs to the packet (see {@link RtpPacket}). A header extension
 * with a profile other than RFC 8285's is kept as raw bytes ({@link #extensionProfile()}, {@link
 * #rawExtension()}).
 *
 * @param marker the M bit
 * @param payloadType 0..127
 * @param sequenceNumber 0..65535
 * @param timestamp 0..2^32-1
 * @param ssrc 0..2^32-1
 * @param csrcs up to 15 contributing sources
 * @param extensionProfile -1 for no extension; {@link #PROFILE_ONE_BYTE}, {@link #PROFILE_TWO_BYTE} or another
 * @param extensions RFC 8285 elements (empty for other profiles)
 * @param rawExtension extension data of a non-RFC 8285 profile (a multiple of 4 bytes), else empty
 */
public record RtpHeader(boolean marker, int payloadType, int sequenceNumber, long timestamp, long ssrc,
        List<Long> csrcs, int extensionProfile, List<HeaderExtension> extensions, byte[] rawExtension) {

    /** RFC 8285 one-byte header profile. */
    public static final int PROFILE_ONE_BYTE = 0xBEDE;
    /** RFC 8285 two-byte header profile (appbits 0). */
    public static final int PROFILE_TWO_BYTE = 0x1000;
    /** Fixed header length. */
    public static final int FIXED_LENGTH = 12;

    public RtpHeader {
        if (payloadType < 0 || payloadType > 127) {
            throw new IllegalArgumentException("payload type must be 0..127");
        }
        if (sequenceNumber < 0 || sequenceNumber > 0xFFFF) {
            throw new IllegalArgumentException("sequence number is 16 bits");
        }
        if (timestamp < 0 || timestamp > 0xFFFF_FFFFL || ssrc < 0 || ssrc > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException("timestamp and ssrc are unsigned 32 bits");
        }
        csrcs = List.copyOf(csrcs);
        if (csrcs.size() > 15) {
            throw new IllegalArgumentException("at most 15 CSRCs");
        }
        extensions = List.copyOf(extensions);
        rawExtension = rawExtension == null ? new byte[0] : rawExtension.clone();
        if (extensionProfile < -1 || extensionProfile > 0xFFFF) {
            throw new IllegalArgumentException("bad extension profile");
        }
        if (extensionProfile == -1 && (!extensions.isEmpty() || rawExtension.length > 0)) {
            throw new IllegalArgumentException("extensions without a profile");
        }
        if (!isRfc8285(extensionProfile) && !extensions.isEmpty()) {
            throw new IllegalArgumentException("RFC 8285 elements need profile 0xBEDE or 0x100X");
        }
        if ((rawExtension.length & 3) != 0) {
            throw new IllegalArgumentException("raw extension must be a multiple of 4 bytes");
        }
        if (extensionProfile == PROFILE_ONE_BYTE) {
            for (HeaderExtension e : extensions) {
                if (!e.fitsOneByte()) {
                    throw new IllegalArgumentException(e + " does not fit the one-byte form");
                }
            }
        }
    }

    /** A header without CSRCs and extensions. */
    public static RtpHeader of(boolean marker, int payloadType, int sequenceNumber, long timestamp, long ssrc) {
        return new RtpHeader(marker, payloadType, sequenceNumber, timestamp, ssrc, List.of(), -1, List.of(), null);
    }

    static boolean isRfc8285(int profile) {
        return profile == PROFILE_ONE_BYTE || (profile & 0xFFF0) == PROFILE_TWO_BYTE;
    }

    /** A copy of the raw extension bytes. */
    @Override
    public byte[] rawExtension() {
        return rawExtension.clone();
    }

    /** The element with a local id, or null. */
    public HeaderExtension extension(int id) {
        for (HeaderExtension e : extensions) {
            if (e.id() == id) {
                return e;
            }
        }
        return null;
    }

    /** A copy with different SSRC, payload type, sequence number and timestamp (the SFU's per-consumer rewrite). */
    public RtpHeader rewritten(long newSsrc, int newPayloadType, int newSeq, long newTimestamp) {
        return new RtpHeader(marker, newPayloadType, newSeq, newTimestamp, newSsrc, csrcs, extensionProfile,
                extensions, rawExtension);
    }

    /**
     * A copy with the given RFC 8285 elements: one-byte form if all fit, else two-byte form; no extension at all if
     * the list is empty. Any non-RFC 8285 extension is dropped.
     */
    public RtpHeader withExtensions(List<HeaderExtension> elements) {
        if (elements.isEmpty()) {
            return new RtpHeader(marker, payloadType, sequenceNumber, timestamp, ssrc, csrcs, -1, List.of(), null);
        }
        boolean oneByte = elements.stream().allMatch(HeaderExtension::fitsOneByte);
        return new RtpHeader(marker, payloadType, sequenceNumber, timestamp, ssrc, csrcs,
                oneByte ? PROFILE_ONE_BYTE : PROFILE_TWO_BYTE, elements, null);
    }

    /** A copy keeping only the elements whose id is in {@code keepIds} (e.g. to strip extensions). */
    public RtpHeader retainExtensions(java.util.Set<Integer> keepIds) {
        List<HeaderExtension> kept = new ArrayList<>();
        for (HeaderExtension e : extensions) {
            if (keepIds.contains(e.id())) {
                kept.add(e);
            }
        }
        return withExtensions(kept);
    }

    /** The encoded length in bytes (fixed header + CSRCs + extension block). */
    public int encodedLength() {
        return FIXED_LENGTH + 4 * csrcs.size() + extensionBlockLength();
    }

    private int extensionBlockLength() {
        if (extensionProfile < 0) {
            return 0;
        }
        return 4 + paddedElementsLength();
    }

    private int paddedElementsLength() {
        if (!isRfc8285(extensionProfile)) {
            return rawExtension.length;
        }
        int n = 0;
        for (HeaderExtension e : extensions) {
            n += (extensionProfile == PROFILE_ONE_BYTE ? 1 : 2) + e.length();
        }
        return (n + 3) & ~3;
    }

    /**
     * Writes the header at {@code out[off..]} with the given padding bit.
     *
     * @return the number of bytes written ({@link #encodedLength()})
     */
    public int writeTo(byte[] out, int off, boolean padding) {
        int len = encodedLength();
        Objects.checkFromIndexSize(off, len, out.length);
        out[off] = (byte) (0x80 | (padding ? 0x20 : 0) | (extensionProfile >= 0 ? 0x10 : 0) | csrcs.size());
        out[off + 1] = (byte) ((marker ? 0x80 : 0) | payloadType);
        RtpPacket.writeShort(out, off + 2, sequenceNumber);
        RtpPacket.writeInt(out, off + 4, (int) timestamp);
        RtpPacket.writeInt(out, off + 8, (int) ssrc);
        int p = off + FIXED_LENGTH;
        for (long c : csrcs) {
            RtpPacket.writeInt(out, p, (int) c);
            p += 4;
        }
        if (extensionProfile >= 0) {
            int body = paddedElementsLength();
            RtpPacket.writeShort(out, p, extensionProfile);
            RtpPacket.writeShort(out, p + 2, body / 4);
            p += 4;
            int end = p + body;
            if (!isRfc8285(extensionProfile)) {
                System.arraycopy(rawExtension, 0, out, p, rawExtension.length);
            } else {
                for (HeaderExtension e : extensions) {
                    if (extensionProfile == PROFILE_ONE_BYTE) {
                        out[p++] = (byte) ((e.id() << 4) | (e.length() - 1));
                    } else {
                        out[p++] = (byte) e.id();
                        out[p++] = (byte) e.length();
                    }
                    System.arraycopy(e.rawData(), 0, out, p, e.length());
                    p += e.length();
                }
                Arrays.fill(out, p, end, (byte) 0);
            }
            p = end;
        }
        return p - off;
    }

    /** Signed distance from sequence number {@code from} to {@code to} in -32768..32767 (RFC 1982 arithmetic). */
    public static int seqDelta(int from, int to) {
        return (short) (to - from);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RtpHeader h && h.marker == marker && h.payloadType == payloadType
                && h.sequenceNumber == sequenceNumber && h.timestamp == timestamp && h.ssrc == ssrc
                && h.csrcs.equals(csrcs) && h.extensionProfile == extensionProfile
                && h.extensions.equals(extensions) && Arrays.equals(h.rawExtension, rawExtension);
    }

    @Override
    public int hashCode() {
        return Objects.hash(marker, payloadType, sequenceNumber, timestamp, ssrc, csrcs, extensionProfile,
                extensions) * 31 + Arrays.hashCode(rawExtension);
    }

    @Override
    public String toString() {
        return "RtpHeader[pt=" + payloadType + ", seq=" + sequenceNumber + ", ts=" + timestamp + ", ssrc=" + ssrc
                + (marker ? ", M" : "") + (csrcs.isEmpty() ? "" : ", csrcs=" + csrcs)
                + (extensionProfile < 0 ? "" : ", ext=0x" + Integer.toHexString(extensionProfile) + extensions) + "]";
    }
}
