package dev.veil.webrtc.rtp;

/**
 * Receive side of RTX (<a href="https://www.rfc-editor.org/rfc/rfc4588#section-4">RFC 4588 §4</a>) for an uplink:
 * turns a packet of the RTX stream back into the original packet (the original sequence number, OSN, is the first
 * two bytes of the RTX payload), so a retransmission reaches the router as the packet it repairs.
 *
 * <pre>
 *  RTX payload:  |  OSN (16 bits)  |  original RTP payload ...  |
 * </pre>
 *
 * An RTX packet without a payload beyond the OSN is padding (a sender's bandwidth probe): {@link #unwrap} returns
 * null and the caller drops it (after feeding its transport-wide sequence number to congestion control).
 */
public final class RtxUnwrap {

    private RtxUnwrap() {}

    /**
     * The original packet carried by {@code rtx}, with the media SSRC and payload type and the OSN as sequence
     * number (header extensions and timestamp kept, padding dropped), or null if it carries none (padding only).
     *
     * @throws RtpException if {@code rtx} is not a valid RTP packet
     */
    public static byte[] unwrap(byte[] rtx, long mediaSsrc, int mediaPayloadType) throws RtpException {
        RtpPacket p = RtpPacket.parse(rtx);
        if (p.payloadLength() <= 2) {
            return null;
        }
        int o = p.payloadOffset();
        int osn = ((rtx[o] & 0xFF) << 8) | (rtx[o + 1] & 0xFF);
        RtpHeader h = p.header();
        RtpHeader orig = h.rewritten(mediaSsrc, mediaPayloadType, osn, h.timestamp());
        return RtpPacket.build(orig, rtx, o + 2, p.payloadLength() - 2);
    }
}
