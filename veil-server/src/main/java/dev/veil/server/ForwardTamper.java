package dev.veil.server;

import java.util.List;

/**
 * TEST ONLY: the hand of a hostile server on the media it forwards, for the hostile-server test suites that prove
 * what end-to-end encryption holds against the SFU itself (docs/SECURITY.md §6). Set only through {@link
 * VeilServer#setForwardTamperForTesting}, which no configuration key or command-line flag reaches.
 *
 * <p>Called on the event loop for every RTP packet the router forwards, before the SRTP of the hop to the
 * subscriber: the server sees exactly this (the RTP header it rewrote and the payload as the publisher's E2EE layer
 * left it) and may send anything instead, which is what a malicious operator can do.
 */
public interface ForwardTamper {
  /**
   * The plain RTP packets to send to {@code toConnectionId} in place of {@code rtp}, a packet of {@code
   * fromConnectionId}'s track ({@code List.of(rtp)} forwards it unchanged, an empty list drops it, several replay
   * or inject). The SRTP of the hop is applied to each, so a packet sent twice must carry a new sequence number.
   */
  List<byte[]> forward(String fromConnectionId, String toConnectionId, byte[] rtp);
}
