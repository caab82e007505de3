package dev.veil.webrtc.router.simulcast;

/** What a {@link LayerSwitcher} asks its caller to do, drained from {@link LayerSwitcher#pollOutput()}. */
public sealed interface LayerOutput {

    /**
     * Forward the packet just given to {@link LayerSwitcher#onPacket} to one consumer, with these sequence number
     * and timestamp (SSRC and payload type are the consumer's own).
     *
     * @param consumerId the consumer
     * @param layer the layer the packet came from (the consumer's current layer)
     * @param outSeq the sequence number to send (continuous across layer switches)
     * @param outTimestamp the RTP timestamp to send (continuous across layer switches)
     * @param switched whether this packet starts a new layer for the consumer (the first packet of a key frame)
     */
    record Forward(String consumerId, int layer, int outSeq, long outTimestamp, boolean switched)
            implements LayerOutput {}

    /** Ask the publisher for a key frame on a layer (a PLI to that layer's SSRC), already rate-limited per layer. */
    record RequestKeyFrame(int layer) implements LayerOutput {}
}
