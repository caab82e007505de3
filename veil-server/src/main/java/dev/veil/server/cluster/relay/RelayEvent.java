package dev.veil.server.cluster.relay;

/** What a {@link RelayLink} reports ({@link RelayLink#pollEvent()}). */
public sealed interface RelayEvent {
  /** The link is authenticated both ways (a new session with the peer node). */
  record Up(String peerNode) implements RelayEvent { }

  /** Nothing authenticated came from the peer for the dead interval: the session is dropped. */
  record Down(String peerNode, String reason) implements RelayEvent { }

  /**
   * A media packet from the peer node, byte-for-byte as the peer's router received it from its publisher (an SRTP-
   * decrypted RTP packet whose payload is the sender's E2EE ciphertext, or an RTCP packet).
   */
  record Media(boolean rtcp, byte[] packet) implements RelayEvent {
    @Override
    public String toString() {
      return "Media[" + (rtcp ? "rtcp" : "rtp") + ", " + packet.length + " bytes]";
    }
  }
}
