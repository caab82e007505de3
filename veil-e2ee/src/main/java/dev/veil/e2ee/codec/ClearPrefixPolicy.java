package dev.veil.e2ee.codec;

/**
 * How many leading bytes of an encoded media frame stay in clear (and are authenticated as AAD), so that the SFU and
 * the packetizer can still read what they need (VP8 key-frame flag and size, the Opus TOC byte).
 *
 * <p>A strategy per codec: {@link Codec} holds the built-in ones (VP8, Opus, none). H.264, VP9 and AV1 can be added
 * as further implementations; note that for codecs whose packetizer parses the whole frame (H.264 NAL units, AV1
 * OBUs) a prefix is not enough and they will need a per-unit rule, which this interface leaves room for by receiving
 * the whole frame.
 *
 * <p>Implementations must be pure functions of their arguments, must never throw for any {@code len >= 0}, and
 * must return a value in {@code [0, len]}: a frame shorter than its codec prefix is entirely clear-prefix.
 */
@FunctionalInterface
public interface ClearPrefixPolicy {
    /**
     * The clear-prefix length of the frame {@code frame[off, off + len)}.
     *
     * @param type what the caller knows of the frame; {@link FrameType#UNSPECIFIED} lets the policy read the frame
     * @return a length in {@code [0, len]}
     */
    int clearPrefixLength(byte[] frame, int off, int len, FrameType type);
}
