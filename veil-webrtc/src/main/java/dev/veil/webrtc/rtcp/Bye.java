package dev.veil.webrtc.rtcp;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Goodbye, PT=203 (RFC 3550 §6.6).
 *
 * <pre>
 * |V=2|P|    SC   |   PT=BYE=203  |             length            |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                           SSRC/CSRC                           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * :                              ...                              :
 * +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 * |     length    |               reason for leaving            ... (opt)
 * </pre>
 *
 * @param ssrcs the sources leaving (up to 31)
 * @param reason the reason, or "" for none
 */
public record Bye(List<Long> ssrcs, String reason) implements RtcpPacket {

    public Bye {
        ssrcs = List.copyOf(ssrcs);
        if (ssrcs.size() > 31) {
            throw new IllegalArgumentException("at most 31 sources");
        }
        for (long s : ssrcs) {
            Bytes.checkU32(s, "ssrc");
        }
        reason = reason == null ? "" : reason;
        if (reason.getBytes(StandardCharsets.UTF_8).length > 255) {
            throw new IllegalArgumentException("reason longer than 255 bytes");
        }
    }

    @Override
    public int packetType() {
        return PT_BYE;
    }

    @Override
    public int encodedLength() {
        int n = 4 + 4 * ssrcs.size();
        if (!reason.isEmpty()) {
            n += (1 + reason.getBytes(StandardCharsets.UTF_8).length + 3) & ~3;
        }
        return n;
    }

    @Override
    public int writeTo(byte[] out, int off) {
        int len = encodedLength();
        java.util.Arrays.fill(out, off, off + len, (byte) 0);
        Bytes.header(out, off, ssrcs.size(), PT_BYE, len);
        int p = off + 4;
        for (long s : ssrcs) {
            Bytes.w32(out, p, s);
            p += 4;
        }
        if (!reason.isEmpty()) {
            byte[] r = reason.getBytes(StandardCharsets.UTF_8);
            out[p] = (byte) r.length;
            System.arraycopy(r, 0, out, p + 1, r.length);
        }
        return len;
    }

    static Bye read(byte[] b, int o, int count, int len) throws RtcpException {
        if (len < 4 + 4 * count) {
            throw new RtcpException("BYE shorter than its " + count + " sources");
        }
        Long[] s = new Long[count];
        for (int i = 0; i < count; i++) {
            s[i] = Bytes.u32(b, o + 4 + 4 * i);
        }
        String reason = "";
        int p = o + 4 + 4 * count;
        if (p < o + len) {
            int n = Bytes.u8(b, p);
            if (o + len - p - 1 < n) {
                throw new RtcpException("BYE reason overruns the packet");
            }
            reason = Bytes.utf8(b, p + 1, n, "BYE reason");
        }
        return new Bye(List.of(s), reason);
    }
}
