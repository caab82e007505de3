package dev.veil.e2ee.codec;

/**
 * What the encoder (sender) or depacketizer (receiver) says about a media frame. It only matters to codecs whose
 * clear prefix depends on it (VP8); audio frames are {@link #UNSPECIFIED}, as in WebRTC where an
 * {@code RTCEncodedAudioFrame} has no {@code type}.
 */
public enum FrameType {
    /** A key frame (VP8: P bit 0). */
    KEY,
    /** A delta (inter) frame (VP8: P bit 1). */
    DELTA,
    /** Not known or not applicable; a codec that needs it reads it from the (clear) frame bytes. */
    UNSPECIFIED
}
