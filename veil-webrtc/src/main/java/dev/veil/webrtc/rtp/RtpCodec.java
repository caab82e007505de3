package dev.veil.webrtc.rtp;

import java.util.Locale;

/** The codecs the SFU forwards, and where a decoder can start (key frames). */
public enum RtpCodec {
    /** Opus: every packet is independently decodable. */
    OPUS,
    /** VP8 (RFC 7741). */
    VP8,
    /** H.264 (RFC 6184), passed through. */
    H264,
    /**
     * VP9 (RFC 9628): a key frame is a packet that starts a frame (B bit) and is not inter-picture predicted (P bit
     * clear), read from the payload descriptor only (the frame itself may be end-to-end encrypted whole).
     */
    VP9,
    /**
     * AV1 (AV1 RTP payload format §4.4): a key frame is a packet whose aggregation header |Z|Y|W W|N|-|-|-| has N set
     * (the first packet of a coded video sequence) and Z clear; read from that header only (the OBUs may be end-to-end
     * encrypted).
     */
    AV1,
    /** Anything else: forwarded without key-frame gating. */
    OTHER;

    /** The codec for an rtpmap encoding name ("opus", "VP8", "H264"), case-insensitive. */
    public static RtpCodec fromName(String encodingName) {
        switch (encodingName.toUpperCase(Locale.ROOT)) {
            case "OPUS":
                return OPUS;
            case "VP8":
                return VP8;
            case "H264":
                return H264;
            case "VP9":
                return VP9;
            case "AV1":
                return AV1;
            default:
                return OTHER;
        }
    }

    /** Whether forwarding must start at a key frame. */
    public boolean needsKeyFrame() {
        return this == VP8 || this == H264 || this == VP9 || this == AV1;
    }

    /**
     * Whether the RTP payload {@code buf[off..off+len)} is a place a decoder can start: the first packet of a key
     * frame for video, any packet for audio and unknown codecs.
     */
    public boolean isKeyFrame(byte[] buf, int off, int len) {
        switch (this) {
            case VP8:
                return Vp8Descriptor.isKeyFrame(buf, off, len);
            case H264:
                return dev.veil.webrtc.rtp.H264.isKeyFrame(buf, off, len); // the class, not this enum constant
            case VP9:
                // RFC 9628 §4.2, first byte |I|P|L|F|B|E|V|Z|: B (0x08) starts a frame, P (0x40) = inter-predicted
                return len >= 1 && (buf[off] & 0x48) == 0x08;
            case AV1:
                // Z (0x80) clear: not a continued fragment; N (0x08) set: starts a coded video sequence
                return len >= 1 && (buf[off] & 0x88) == 0x08;
            default:
                return true;
        }
    }
}
