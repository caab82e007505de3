package dev.veil.webrtc.router;

/**
 * Where a {@link Router} with {@link Router#setForwardSink} puts the packets it forwards, instead of queueing a
 * {@link RouterOutput.Rtp} with a fresh array for each: the allocation-free forwarding path.
 *
 * <p><b>Ownership:</b> {@code buf} is the router's own scratch buffer. The plain, rewritten RTP packet for
 * {@code consumer} is {@code buf[off, off+len)}; the sink may change the buffer in place (SRTP-protect it, appending
 * the tag: there are at least {@link Router#FORWARD_TAIL_ROOM} bytes of room after the packet) but must be done with
 * it when {@code forward} returns: the router writes the next consumer's packet there. To keep a packet, copy it.
 */
@FunctionalInterface
public interface ForwardSink {

    /** A packet forwarded to {@code consumer} (its subscriber is {@link Consumer#peerId()}). */
    void forward(Consumer consumer, byte[] buf, int off, int len);
}
