package dev.veil.e2ee.pairwise;

import dev.veil.e2ee.identity.ConnectionIds;
import dev.veil.e2ee.pairwise.PairwiseException.Reason;
import java.util.Arrays;

/**
 * Codec of a sealed pairwise message, the payload a member hands to the server's E2EE relay (base64-encoded there).
 *
 * <pre>
 *    0               1               2
 *   +---------------+---------------+---------------+------- ... -------+
 *   | version = 1   | kind = 1      | slen (uint8)  | sender id (slen)  |
 *   +---------------+---------------+---------------+------- ... -------+
 *   | rlen (uint8)  | recipient id (rlen)           |
 *   +---------------+-------------------------------+---------------+
 *   | seq (uint32, big-endian)                                      |
 *   +---------------------------------------------------------------+
 *   | AES-256-GCM ciphertext (plaintext length) ‖ tag (16)          |
 *   +---------------------------------------------------------------+
 *
 *   header = every byte before the ciphertext; AAD = header
 *   nonce  = 0x00 * 8 ‖ seq (uint32, big-endian)
 * </pre>
 *
 * Connection ids are UTF-8, 1..255 bytes. The whole message is at most {@value #MAX_LENGTH} bytes.
 */
record PairwiseMessage(String sender, String recipient, long seq, byte[] header, byte[] ciphertext) {
    static final int VERSION = 1;
    static final int KIND_SEALED = 1;
    static final int KIND_DEVICE = 2;
    static final int TAG_LENGTH = 16;
    static final int MAX_LENGTH = 4096;
    static final long MAX_SEQ = 0xFFFF_FFFFL;

    static byte[] header(String sender, String recipient, long seq) {
        return header(KIND_SEALED, sender, recipient, seq);
    }

    static byte[] header(int kind, String sender, String recipient, long seq) {
        byte[] s = ConnectionIds.lengthPrefixed(sender);
        byte[] r = ConnectionIds.lengthPrefixed(recipient);
        byte[] h = new byte[2 + s.length + r.length + 4];
        h[0] = VERSION;
        h[1] = (byte) kind;
        System.arraycopy(s, 0, h, 2, s.length);
        System.arraycopy(r, 0, h, 2 + s.length, r.length);
        int p = 2 + s.length + r.length;
        h[p] = (byte) (seq >>> 24);
        h[p + 1] = (byte) (seq >>> 16);
        h[p + 2] = (byte) (seq >>> 8);
        h[p + 3] = (byte) seq;
        return h;
    }

    static byte[] nonce(long seq) {
        byte[] n = new byte[12];
        n[8] = (byte) (seq >>> 24);
        n[9] = (byte) (seq >>> 16);
        n[10] = (byte) (seq >>> 8);
        n[11] = (byte) seq;
        return n;
    }

    static PairwiseMessage decode(byte[] m) throws PairwiseException {
        return decode(m, KIND_SEALED);
    }

    static PairwiseMessage decode(byte[] m, int kind) throws PairwiseException {
        if (m == null || m.length < 2) {
            throw new PairwiseException(Reason.MALFORMED, "shorter than the version and kind bytes");
        }
        if ((m[0] & 0xFF) != VERSION) {
            throw new PairwiseException(Reason.UNSUPPORTED_VERSION, "version " + (m[0] & 0xFF));
        }
        if (m.length > MAX_LENGTH) {
            throw new PairwiseException(Reason.MALFORMED, "longer than " + MAX_LENGTH + " bytes");
        }
        if ((m[1] & 0xFF) != kind) {
            throw new PairwiseException(Reason.MALFORMED, "unknown kind " + (m[1] & 0xFF));
        }
        int p = 2;
        if (p >= m.length) {
            throw new PairwiseException(Reason.MALFORMED, "truncated before the sender id");
        }
        int slen = m[p++] & 0xFF;
        String sender = ConnectionIds.decode(m, p, slen);
        if (sender == null) {
            throw new PairwiseException(Reason.MALFORMED, "bad sender id");
        }
        p += slen;
        if (p >= m.length) {
            throw new PairwiseException(Reason.MALFORMED, "truncated before the recipient id");
        }
        int rlen = m[p++] & 0xFF;
        String recipient = ConnectionIds.decode(m, p, rlen);
        if (recipient == null) {
            throw new PairwiseException(Reason.MALFORMED, "bad recipient id");
        }
        p += rlen;
        if (m.length - p < 4 + TAG_LENGTH) {
            throw new PairwiseException(Reason.MALFORMED, "truncated sequence number or tag");
        }
        long seq = (m[p] & 0xFFL) << 24 | (m[p + 1] & 0xFFL) << 16 | (m[p + 2] & 0xFFL) << 8 | (m[p + 3] & 0xFFL);
        p += 4;
        return new PairwiseMessage(sender, recipient, seq, Arrays.copyOfRange(m, 0, p),
                Arrays.copyOfRange(m, p, m.length));
    }
}
