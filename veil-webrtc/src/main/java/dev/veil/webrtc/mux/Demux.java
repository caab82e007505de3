package dev.veil.webrtc.mux;

/**
 * First-byte demultiplexing of a datagram on a port shared by STUN, DTLS and (S)RTP/(S)RTCP, per
 * <a href="https://www.rfc-editor.org/rfc/rfc7983#section-7">RFC 7983 §7</a>, with RTP and RTCP told apart by the
 * packet type per <a href="https://www.rfc-editor.org/rfc/rfc5761#section-4">RFC 5761 §4</a>.
 *
 * <pre>
 *                  +----------------+
 *                  |        [0..3] -+--&gt; STUN
 *                  |                |
 *                  |      [16..19] -+--&gt; ZRTP          (UNKNOWN here)
 *   packet --&gt;     |                |
 *                  |      [20..63] -+--&gt; DTLS
 *                  |                |
 *                  |      [64..79] -+--&gt; TURN Channel  (UNKNOWN here)
 *                  |                |
 *                  |    [128..191] -+--&gt; RTP/RTCP: second byte (M|PT) in 192..223 = RTCP, else RTP
 *                  +----------------+
 * </pre>
 *
 * Only the first two bytes are looked at; the caller must still parse the packet with the codec of its kind.
 * Stateless and thread-safe.
 */
public final class Demux {

    private Demux() {}

    /** Classifies {@code buf[off..off+len)}. Never throws for a bad length; returns {@link PacketKind#UNKNOWN}. */
    public static PacketKind classify(byte[] buf, int off, int len) {
        if (buf == null || off < 0 || len <= 0 || off > buf.length - len) {
            return PacketKind.UNKNOWN;
        }
        int b0 = buf[off] & 0xFF;
        if (b0 <= 3) {
            return PacketKind.STUN;
        }
        if (b0 >= 20 && b0 <= 63) {
            return PacketKind.DTLS;
        }
        if (b0 >= 128 && b0 <= 191) {
            if (len < 2) {
                return PacketKind.UNKNOWN;
            }
            int pt = buf[off + 1] & 0xFF;
            return pt >= 192 && pt <= 223 ? PacketKind.RTCP : PacketKind.RTP;
        }
        return PacketKind.UNKNOWN;
    }

    /** Classifies a whole array. */
    public static PacketKind classify(byte[] buf) {
        return classify(buf, 0, buf == null ? 0 : buf.length);
    }
}
