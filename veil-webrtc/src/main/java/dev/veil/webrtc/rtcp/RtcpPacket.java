package dev.veil.webrtc.rtcp;

/**
 * One RTCP packet of a compound packet (<a href="https://www.rfc-editor.org/rfc/rfc3550#section-6.4">RFC 3550
 * §6</a>). Every packet starts with the common header:
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |V=2|P| RC/FMT  |      PT       |    length (32-bit words - 1)  |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * </pre>
 *
 * Parse a datagram with {@link RtcpCompound#parse}; write one with {@link RtcpCompound#write}.
 */
public sealed interface RtcpPacket permits SenderReport, ReceiverReport, SourceDescription, Bye, GenericNack,
        PictureLossIndication, FullIntraRequest, Remb, TransportFeedback, UnknownRtcp {

    /** Sender report. */
    int PT_SR = 200;
    /** Receiver report. */
    int PT_RR = 201;
    /** Source description. */
    int PT_SDES = 202;
    /** Goodbye. */
    int PT_BYE = 203;
    /** Application-defined. */
    int PT_APP = 204;
    /** Transport-layer feedback (RFC 4585). */
    int PT_RTPFB = 205;
    /** Payload-specific feedback (RFC 4585). */
    int PT_PSFB = 206;

    /** The packet type (PT). */
    int packetType();

    /** The encoded length in bytes (a multiple of 4). */
    int encodedLength();

    /**
     * Writes the packet at {@code out[off..]}.
     *
     * @return the number of bytes written, {@link #encodedLength()}
     */
    int writeTo(byte[] out, int off);

    /** The packet alone as bytes. */
    default byte[] encode() {
        byte[] out = new byte[encodedLength()];
        writeTo(out, 0);
        return out;
    }
}
