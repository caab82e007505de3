package dev.veil.webrtc.rtcp;

/**
 * Picture Loss Indication, PSFB (PT=206) FMT=1 (<a href="https://www.rfc-editor.org/rfc/rfc4585#section-6.3.1">RFC
 * 4585 §6.3.1</a>): the receiver asks the media source for a key frame. No FCI.
 *
 * <pre>
 * |V=2|P| FMT=1   |   PT=206      |          length=2             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                  SSRC of packet sender                        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                  SSRC of media source                         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * </pre>
 *
 * @param senderSsrc SSRC of the packet sender
 * @param mediaSsrc SSRC of the media source asked for a key frame
 */
public record PictureLossIndication(long senderSsrc, long mediaSsrc) implements RtcpPacket {

    /** FMT of PLI. */
    public static final int FMT = 1;

    public PictureLossIndication {
        Bytes.checkU32(senderSsrc, "senderSsrc");
        Bytes.checkU32(mediaSsrc, "mediaSsrc");
    }

    @Override
    public int packetType() {
        return PT_PSFB;
    }

    @Override
    public int encodedLength() {
        return 12;
    }

    @Override
    public int writeTo(byte[] out, int off) {
        Bytes.header(out, off, FMT, PT_PSFB, 12);
        Bytes.w32(out, off + 4, senderSsrc);
        Bytes.w32(out, off + 8, mediaSsrc);
        return 12;
    }

    static PictureLossIndication read(byte[] b, int o) {
        return new PictureLossIndication(Bytes.u32(b, o + 4), Bytes.u32(b, o + 8));
    }
}
