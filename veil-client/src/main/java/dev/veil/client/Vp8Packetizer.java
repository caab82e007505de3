package dev.veil.client;

import java.util.ArrayList;
import java.util.List;

/**
 * Splits one VP8 frame (or its SFrame encryption, whose clear prefix keeps the VP8 frame tag readable) into RTP
 * payloads (RFC 7741 §4): each starts with the 1-byte payload descriptor {@code |X|R|N|S|R|PID|} with X = 0, N = 0,
 * PID = 0 and S = 1 on the first packet of the frame only; the payload that follows is at most {@code maxChunk}
 * bytes. The caller sets the RTP marker on the last one.
 */
final class Vp8Packetizer {
    /** Payload bytes per packet after the descriptor: leaves room for RTP, SRTP and IP/UDP in a 1200-byte MTU. */
    static final int MAX_CHUNK = 1100;
    private static final int START_OF_PARTITION = 0x10;

    private Vp8Packetizer() {}

    static List<byte[]> packetize(byte[] frame, int maxChunk) {
        if (frame.length == 0) {
            throw new IllegalArgumentException("empty VP8 frame");
        }
        if (maxChunk < 1) {
            throw new IllegalArgumentException("maxChunk < 1");
        }
        int n = (frame.length + maxChunk - 1) / maxChunk;
        int base = frame.length / n;
        int extra = frame.length % n; // the first `extra` packets carry one byte more: equal sizes
        List<byte[]> out = new ArrayList<>(n);
        int at = 0;
        for (int i = 0; i < n; i++) {
            int len = base + (i < extra ? 1 : 0);
            byte[] p = new byte[1 + len];
            p[0] = (byte) (i == 0 ? START_OF_PARTITION : 0);
            System.arraycopy(frame, at, p, 1, len);
            at += len;
            out.add(p);
        }
        return out;
    }
}
