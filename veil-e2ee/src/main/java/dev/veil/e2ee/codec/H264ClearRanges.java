package dev.veil.e2ee.codec;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;

/**
 * The H.264 clear-range rule (docs/PROTOCOL.md §2.9, the facts of Discord's DAVE protocol; same rule as veil-js's
 * src/e2ee/h264.js, checked by both against test-vectors/codec-h264.json). Per NAL unit of an Annex B frame:
 * the start code, rewritten as {@code 00 00 00 01} (libwebrtc's depacketizer writes 4-byte start codes), and the NAL
 * header are clear; slices (types 1, 5) also keep first_mb_in_slice, slice_type and pic_parameter_set_id clear (the
 * bytes up to the last bit of the third Exp-Golomb value, emulation prevention bytes counted; 0 if unparsable);
 * SPS, PPS, AUD, end of sequence/stream, SPS extension, subset SPS (7, 8, 9, 10, 11, 13, 15) are clear whole; every
 * other type keeps only its header clear. Empty NAL units are left out; adjacent ranges merge.
 */
public final class H264ClearRanges {
    private static final int[] WHOLE_CLEAR_TYPES = {7, 8, 9, 10, 11, 13, 15};

    private H264ClearRanges() {
    }

    /** The sender's layout: the frame with 4-byte start codes and its clear ranges ({offset, length} pairs). */
    public record Layout(byte[] frame, List<int[]> ranges) {
    }

    /** NAL units: {start of the start code, header index, end} per unit. */
    static List<int[]> nalUnits(byte[] d, int off, int len) {
        List<int[]> found = new ArrayList<>();
        int i = 0;
        while (i + 2 < len) {
            int b2 = d[off + i + 2] & 0xff;
            if (b2 > 1) {
                i += 3;
            } else if (d[off + i + 1] != 0) {
                i += 2;
            } else if (d[off + i] != 0 || b2 != 1) {
                i += 1;
            } else {
                int start = i > 0 && d[off + i - 1] == 0 ? i - 1 : i;
                found.add(new int[] {start, i + 3, 0});
                i += 3;
            }
        }
        for (int k = 0; k < found.size(); k++) {
            found.get(k)[2] = k + 1 < found.size() ? found.get(k + 1)[0] : len;
        }
        return found;
    }

    /** Bytes of a slice payload (after the NAL header) covering the first three Exp-Golomb values; 0 if unparsable. */
    static int sliceHeaderBytes(byte[] p, int off, int len) {
        int at = 0;
        int bit = 0;
        int zeros = 0;
        int values = 0;
        int leading = 0;
        int suffix = 0;
        int last = -1;
        while (values < 3) {
            if (at >= len) {
                return 0;
            }
            int b = (p[off + at] >> (7 - bit)) & 1;
            last = at;
            if (suffix > 0) {
                if (--suffix == 0) {
                    values++;
                }
            } else if (b == 0) {
                if (++leading > 31) {
                    return 0;
                }
            } else if (leading == 0) {
                values++;
            } else {
                suffix = leading;
                leading = 0;
            }
            if (++bit == 8) {
                zeros = p[off + at] == 0 ? zeros + 1 : 0;
                at++;
                bit = 0;
                if (at < len && zeros >= 2 && p[off + at] == 3) {
                    zeros = 0;
                    at++;
                }
            }
        }
        return last + 1;
    }

    /** The clear length of a NAL unit (header byte first). */
    static int clearLength(byte[] d, int off, int len) {
        if (len == 0) {
            return 0;
        }
        int type = d[off] & 0x1f;
        if (type == 1 || type == 5) {
            return Math.min(len, 1 + sliceHeaderBytes(d, off + 1, len - 1));
        }
        for (int t : WHOLE_CLEAR_TYPES) {
            if (t == type) {
                return len;
            }
        }
        return 1;
    }

    /**
     * The layout of {@code frame[off, off + len)}.
     *
     * @throws FrameCryptoException if the frame does not start with a start code (not Annex B)
     */
    public static Layout layout(byte[] frame, int off, int len) throws FrameCryptoException {
        FrameBuffers.checkRange(frame, off, len);
        List<int[]> all = nalUnits(frame, off, len);
        if (all.isEmpty() || all.get(0)[0] != 0) {
            throw new FrameCryptoException("H.264 frame does not start with a start code");
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(len + 16);
        List<int[]> ranges = new ArrayList<>();
        for (int[] u : all) {
            int n = u[2] - u[1];
            if (n == 0) {
                continue;
            }
            int p = out.size();
            out.write(0);
            out.write(0);
            out.write(0);
            out.write(1);
            out.write(frame, off + u[1], n);
            int clear = 4 + clearLength(frame, off + u[1], n);
            int[] last = ranges.isEmpty() ? null : ranges.get(ranges.size() - 1);
            if (last != null && last[0] + last[1] == p) {
                last[1] += clear;
            } else {
                ranges.add(new int[] {p, clear});
            }
        }
        if (ranges.isEmpty()) {
            throw new FrameCryptoException("H.264 frame has no NAL unit");
        }
        return new Layout(out.toByteArray(), ranges);
    }
}
