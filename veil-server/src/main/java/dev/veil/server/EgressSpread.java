package dev.veil.server;

/**
 * Whether a media loop sends through the other loops' sockets too ({@code media_egress_spread}): its channels'
 * routing and SRTP stay on it, and the send system calls of a channel too big for one core move to the others.
 * Handing a datagram to another loop costs CPU (a copy, a queue, a wake-up), so spreading pays only when the loop's
 * own core is the limit.
 */
public enum EgressSpread {
  /** Spread while the loop's thread is busy (see {@link EgressSpreadPolicy}). */
  AUTO,
  /** Always spread (with several loops). */
  ON,
  /** Never spread: each loop sends through its own socket. */
  OFF
}
