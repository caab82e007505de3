package dev.veil.webrtc.rtcp;

import java.util.ArrayList;
import java.util.List;

/**
 * Transport-wide congestion control feedback, RTPFB (PT=205) FMT=15
 * (<a href="https://datatracker.ietf.org/doc/html/draft-holmer-rmcat-transport-wide-cc-extensions-01#section-3.1">
 * draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1</a>): for a range of transport-wide sequence numbers, which
 * packets arrived and when.
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |V=2|P|  FMT=15 |    PT=205     |           length              |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                     SSRC of packet sender                     |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                      SSRC of media source                     |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |      base sequence number     |      packet status count      |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                 reference time                | fb pkt. count |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |          packet chunk         |         packet chunk          |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * .                                                               .
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |         packet chunk          |  recv delta   |  recv delta   |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * .                                                               .
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           recv delta          |  recv delta   | zero padding  |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Run length chunk (T=0):                 Status vector chunk (T=1):
 * |T| S |       run length        |       |T|S|       symbol list         |
 *  0 2b           13 bits                  1 S=0: 14 one-bit symbols (0 not received, 1 received, small delta)
 *                                            S=1:  7 two-bit symbols
 * Status symbols (2 bits): 00 not received, 01 received with a small delta, 10 received with a large or negative
 * delta, 11 reserved.
 * </pre>
 *
 * <ul>
 *   <li><b>reference time</b>: 24-bit, in multiples of 64 ms; the first receive delta is relative to it;</li>
 *   <li><b>receive delta</b>: in multiples of 250 µs, from the previous received packet's arrival (or the reference
 *       time): a small delta is one unsigned byte (0..63.75 ms), a large one two bytes, signed (-8192..8191.75
 *       ms);</li>
 *   <li><b>feedback packet count</b>: 8-bit, incremented for every feedback packet sent (loss of feedback shows);</li>
 *   <li>packets are padded to 32 bits; as libwebrtc does, with the P bit set and the pad count in the last byte
 *       ({@link RtcpCompound#parse} strips it before this parser sees the packet).</li>
 * </ul>
 *
 * <p>The value keeps the received packets only ({@link #received()}): every other sequence number of the {@link
 * #packetStatusCount()} from {@link #baseSequence()} was not received. The encoder picks chunks greedily (a run
 * length chunk for runs of 14 or more equal symbols, else a one-bit vector when the next 14 symbols need no large
 * delta, else a run length chunk for runs of 7 or more, else a two-bit vector).
 *
 * @param senderSsrc SSRC of the packet sender
 * @param mediaSsrc SSRC of the media source (libwebrtc puts the SSRC of a received media stream here)
 * @param baseSequence transport-wide sequence number of the first status (16 bits)
 * @param packetStatusCount number of statuses, 1..65535
 * @param referenceTime 24-bit reference time in 64 ms units
 * @param feedbackPacketCount 8-bit feedback packet counter
 * @param received the received packets in sequence order (wrap-aware from {@code baseSequence}), each with its
 *     receive delta in 250 µs units
 */
public record TransportFeedback(long senderSsrc, long mediaSsrc, int baseSequence, int packetStatusCount,
        int referenceTime, int feedbackPacketCount, List<Received> received) implements RtcpPacket {

    /** FMT of transport-wide feedback. */
    public static final int FMT = 15;
    /** Microseconds per receive delta unit. */
    public static final int DELTA_MICROS = 250;
    /** Microseconds per reference time unit (64 ms, 256 delta units). */
    public static final int REFERENCE_MICROS = 64_000;
    /** Receive delta units per reference time unit. */
    public static final int DELTAS_PER_REFERENCE = 256;
    /** Longest run of a run length chunk. */
    public static final int MAX_RUN_LENGTH = 0x1FFF;
    /** The fixed part: common header, two SSRCs, base/count, reference time/fb count. */
    public static final int HEADER_LENGTH = 20;

    static final int NOT_RECEIVED = 0;
    static final int SMALL = 1;
    static final int LARGE = 2;

    /**
     * One received packet.
     *
     * @param sequence its transport-wide sequence number (16 bits)
     * @param delta receive delta in 250 µs units, -32768..32767 (0..255 is written as a small delta)
     */
    public record Received(int sequence, int delta) {
        public Received {
            if (sequence < 0 || sequence > 0xFFFF) {
                throw new IllegalArgumentException("sequence numbers are 16 bits");
            }
            if (delta < Short.MIN_VALUE || delta > Short.MAX_VALUE) {
                throw new IllegalArgumentException("receive delta does not fit 16 bits signed: " + delta);
            }
        }

        /** Whether it is written as a one-byte delta. */
        public boolean small() {
            return delta >= 0 && delta <= 0xFF;
        }
    }

    public TransportFeedback {
        Bytes.checkU32(senderSsrc, "senderSsrc");
        Bytes.checkU32(mediaSsrc, "mediaSsrc");
        if (baseSequence < 0 || baseSequence > 0xFFFF) {
            throw new IllegalArgumentException("base sequence is 16 bits");
        }
        if (packetStatusCount < 1 || packetStatusCount > 0xFFFF) {
            throw new IllegalArgumentException("packet status count must be 1..65535");
        }
        if (referenceTime < 0 || referenceTime > 0xFF_FFFF) {
            throw new IllegalArgumentException("reference time is 24 bits");
        }
        if (feedbackPacketCount < 0 || feedbackPacketCount > 0xFF) {
            throw new IllegalArgumentException("feedback packet count is 8 bits");
        }
        received = List.copyOf(received);
        int prev = -1;
        for (Received r : received) {
            int offset = (r.sequence() - baseSequence) & 0xFFFF;
            if (offset >= packetStatusCount || offset <= prev) {
                throw new IllegalArgumentException("received sequence " + r.sequence()
                        + " out of order or outside base " + baseSequence + " + " + packetStatusCount);
            }
            prev = offset;
        }
    }

    /** The status symbol of every sequence number from the base: not received, small or large delta. */
    byte[] statuses() {
        byte[] s = new byte[packetStatusCount];
        for (Received r : received) {
            s[(r.sequence() - baseSequence) & 0xFFFF] = (byte) (r.small() ? SMALL : LARGE);
        }
        return s;
    }

    /** The packet chunks for the statuses (see the class comment for the choice). */
    static List<Integer> chunks(byte[] s) {
        List<Integer> out = new ArrayList<>();
        int i = 0;
        int n = s.length;
        while (i < n) {
            int run = 1;
            while (i + run < n && s[i + run] == s[i] && run < MAX_RUN_LENGTH) {
                run++;
            }
            int oneBitSpan = Math.min(14, n - i);
            boolean fitsOneBit = true;
            for (int k = 0; k < oneBitSpan; k++) {
                if (s[i + k] == LARGE) {
                    fitsOneBit = false;
                    break;
                }
            }
            if (run >= 14 || run == n - i) {
                out.add((s[i] << 13) | run);
                i += run;
            } else if (fitsOneBit) {
                int c = 0x8000;
                for (int k = 0; k < oneBitSpan; k++) {
                    c |= s[i + k] << (13 - k);
                }
                out.add(c);
                i += oneBitSpan;
            } else if (run >= 7) {
                out.add((s[i] << 13) | run);
                i += run;
            } else {
                int span = Math.min(7, n - i);
                int c = 0xC000;
                for (int k = 0; k < span; k++) {
                    c |= s[i + k] << (12 - 2 * k);
                }
                out.add(c);
                i += span;
            }
        }
        return out;
    }

    /** Length without padding: header, chunks and deltas. */
    int unpaddedLength() {
        int n = HEADER_LENGTH + 2 * chunks(statuses()).size();
        for (Received r : received) {
            n += r.small() ? 1 : 2;
        }
        return n;
    }

    /** The encoded length for a status range, without building the value (used by the generator). */
    static int unpaddedLength(int chunkCount, int smallDeltas, int largeDeltas) {
        return HEADER_LENGTH + 2 * chunkCount + smallDeltas + 2 * largeDeltas;
    }

    @Override
    public int packetType() {
        return PT_RTPFB;
    }

    @Override
    public int encodedLength() {
        return (unpaddedLength() + 3) & ~3;
    }

    @Override
    public int writeTo(byte[] out, int off) {
        List<Integer> chunks = chunks(statuses());
        int unpadded = HEADER_LENGTH + 2 * chunks.size();
        for (Received r : received) {
            unpadded += r.small() ? 1 : 2;
        }
        int len = (unpadded + 3) & ~3;
        int pad = len - unpadded;
        Bytes.header(out, off, FMT, PT_RTPFB, len);
        if (pad > 0) {
            out[off] |= 0x20;
        }
        Bytes.w32(out, off + 4, senderSsrc);
        Bytes.w32(out, off + 8, mediaSsrc);
        Bytes.w16(out, off + 12, baseSequence);
        Bytes.w16(out, off + 14, packetStatusCount);
        out[off + 16] = (byte) (referenceTime >>> 16);
        out[off + 17] = (byte) (referenceTime >>> 8);
        out[off + 18] = (byte) referenceTime;
        out[off + 19] = (byte) feedbackPacketCount;
        int p = off + HEADER_LENGTH;
        for (int c : chunks) {
            Bytes.w16(out, p, c);
            p += 2;
        }
        for (Received r : received) {
            if (r.small()) {
                out[p++] = (byte) r.delta();
            } else {
                Bytes.w16(out, p, r.delta() & 0xFFFF);
                p += 2;
            }
        }
        for (int k = 0; k < pad; k++) {
            out[p++] = 0;
        }
        if (pad > 0) {
            out[p - 1] = (byte) pad;
        }
        return len;
    }

    /**
     * Parses the packet at {@code b[o..o+len)} ({@code len} without padding).
     *
     * @throws RtcpException if it is truncated, reports no status, or uses the reserved symbol
     */
    static TransportFeedback read(byte[] b, int o, int len) throws RtcpException {
        if (len < HEADER_LENGTH + 2) {
            throw new RtcpException("transport-wide feedback shorter than its header and one chunk");
        }
        int base = Bytes.u16(b, o + 12);
        int count = Bytes.u16(b, o + 14);
        if (count == 0) {
            throw new RtcpException("transport-wide feedback with no packet status");
        }
        int reference = (Bytes.u8(b, o + 16) << 16) | Bytes.u16(b, o + 17);
        int fbCount = Bytes.u8(b, o + 19);
        byte[] statuses = new byte[count]; // at most 64 KiB, whatever the input
        int filled = 0;
        int p = o + HEADER_LENGTH;
        int end = o + len;
        while (filled < count) {
            if (end - p < 2) {
                throw new RtcpException("transport-wide feedback: chunks end before " + count + " statuses");
            }
            int c = Bytes.u16(b, p);
            p += 2;
            if ((c & 0x8000) == 0) {
                int symbol = (c >>> 13) & 3;
                if (symbol == 3) {
                    throw new RtcpException("transport-wide feedback: reserved status symbol");
                }
                int run = Math.min(c & MAX_RUN_LENGTH, count - filled);
                for (int k = 0; k < run; k++) {
                    statuses[filled++] = (byte) symbol;
                }
            } else if ((c & 0x4000) == 0) {
                for (int k = 0; k < 14 && filled < count; k++) {
                    statuses[filled++] = (byte) ((c >>> (13 - k)) & 1);
                }
            } else {
                for (int k = 0; k < 7 && filled < count; k++) {
                    int symbol = (c >>> (12 - 2 * k)) & 3;
                    if (symbol == 3) {
                        throw new RtcpException("transport-wide feedback: reserved status symbol");
                    }
                    statuses[filled++] = (byte) symbol;
                }
            }
        }
        List<Received> received = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            if (statuses[i] == NOT_RECEIVED) {
                continue;
            }
            int delta;
            if (statuses[i] == SMALL) {
                if (end - p < 1) {
                    throw new RtcpException("transport-wide feedback: receive deltas truncated");
                }
                delta = Bytes.u8(b, p);
                p += 1;
            } else {
                if (end - p < 2) {
                    throw new RtcpException("transport-wide feedback: receive deltas truncated");
                }
                delta = (short) Bytes.u16(b, p);
                p += 2;
            }
            received.add(new Received((base + i) & 0xFFFF, delta));
        }
        return new TransportFeedback(Bytes.u32(b, o + 4), Bytes.u32(b, o + 8), base, count, reference, fbCount,
                received);
    }

    /**
     * Arrival times of the received packets in 250 µs units since the reference time's epoch (reference time × 256
     * + cumulated deltas), in the order of {@link #received()}.
     */
    public long[] arrivalTicks() {
        long[] out = new long[received.size()];
        long t = (long) referenceTime * DELTAS_PER_REFERENCE;
        for (int i = 0; i < out.length; i++) {
            t += received.get(i).delta();
            out[i] = t;
        }
        return out;
    }
}
