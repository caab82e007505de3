package dev.veil.webrtc.router;

/**
 * Something the server must send, drained from {@link Router#pollOutput()}. Bytes are plain RTP/RTCP: the server
 * protects them with the peer's SRTP context and sends them to the peer's selected address.
 */
public sealed interface RouterOutput {

    /** The peer this goes to. */
    String peerId();

    /** An RTP packet for one consumer (forwarded or retransmitted), already rewritten for its subscriber. */
    record Rtp(String peerId, String consumerId, byte[] packet) implements RouterOutput {}

    /** A compound RTCP packet: PLI/FIR/NACK/RR to a publisher, or SR+SDES to a subscriber. */
    record Rtcp(String peerId, byte[] packet) implements RouterOutput {}
}
