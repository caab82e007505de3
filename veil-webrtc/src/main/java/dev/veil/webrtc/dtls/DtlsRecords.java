package dev.veil.webrtc.dtls;

/**
 * A structural check of the DTLS records in a datagram, done before BouncyCastle sees it
 * (<a href="https://www.rfc-editor.org/rfc/rfc6347#section-4.1">RFC 6347 §4.1</a>).
 *
 * <pre>
 *   struct {
 *     ContentType type;                 // 1 byte, 20..25
 *     ProtocolVersion version;          // 2 bytes, {254, 253} for DTLS 1.2 ({254, 255} for 1.0)
 *     uint16 epoch;
 *     uint48 sequence_number;
 *     uint16 length;
 *     opaque fragment[length];          // epoch &gt; 0: explicit nonce (8) || ciphertext || GCM tag (16)
 *   } DTLSCiphertext;                   // several records may share one datagram
 * </pre>
 *
 * RFC 6347 §4.1.2.7 says invalid records should be silently discarded, but BouncyCastle 1.84 answers a protected
 * record too short to hold a nonce and a tag with a fatal decode_error, which would let one forged datagram from
 * the peer's address end the association, and it fails the same way on a record whose version is the reserved
 * {254, 254}. So a datagram is refused whole unless every record in it is complete, has version DTLS 1.0 or 1.2,
 * and every record of a protected epoch has room for the AES-GCM nonce and tag.
 */
final class DtlsRecords {
    static final int HEADER = 13;
    /** TLS 1.2 AES-GCM: 8-byte explicit nonce + 16-byte tag (both negotiated suites are AES-GCM). */
    static final int MIN_PROTECTED_FRAGMENT = 8 + 16;

    private DtlsRecords() {
    }

    static boolean wellFormed(byte[] d) {
        int off = 0;
        if (d.length < HEADER) {
            return false;
        }
        while (off < d.length) {
            if (d.length - off < HEADER) {
                return false;
            }
            int type = d[off] & 0xff;
            if (type < 20 || type > 25 || (d[off + 1] & 0xff) != 0xfe) {
                return false;
            }
            int minor = d[off + 2] & 0xff;
            if (minor != 0xff && minor != 0xfd) {
                // Only DTLS 1.0 (ClientHello records) and 1.2. BouncyCastle 1.84 turns the reserved {254, 254} into
                // an internal_error that ends the association (found by WebRtcTransportFuzzTest).
                return false;
            }
            int epoch = ((d[off + 3] & 0xff) << 8) | (d[off + 4] & 0xff);
            int length = ((d[off + 11] & 0xff) << 8) | (d[off + 12] & 0xff);
            if (length > d.length - off - HEADER) {
                return false;
            }
            if (epoch != 0 && length < MIN_PROTECTED_FRAGMENT) {
                return false;
            }
            off += HEADER + length;
        }
        return true;
    }
}
