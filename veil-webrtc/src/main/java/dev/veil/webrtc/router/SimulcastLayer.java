package dev.veil.webrtc.router;

/**
 * One simulcast layer as the router measures it, for a layer policy (e.g. {@code cc.LayerSelector}).
 *
 * @param width its picture width from its last VP8 key frame, 0 if unknown
 * @param height its picture height from its last VP8 key frame, 0 if unknown
 * @param bitrateBps what it costs: the highest of its bitrates (bytes of its RTP packets per second) over the last
 *     5 one-second windows, 0 if it sent nothing in the last one (not running)
 */
public record SimulcastLayer(int width, int height, long bitrateBps) {}
