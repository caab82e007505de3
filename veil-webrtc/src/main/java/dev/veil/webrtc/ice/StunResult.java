package dev.veil.webrtc.ice;

import java.net.InetSocketAddress;

/**
 * What {@link IceLiteAgent#handleStun} did with a datagram. For {@link Accepted} and {@link Rejected} the caller
 * sends {@code datagram} to {@code destination} (the request's source) from the shared media socket.
 */
public sealed interface StunResult {

    /** A valid Binding request; {@code datagram} is the success response (XOR-MAPPED-ADDRESS, MI, FINGERPRINT). */
    record Accepted(InetSocketAddress destination, byte[] datagram) implements StunResult {}

    /**
     * A request that fails authentication or the role check; {@code datagram} is an error response (400, 401 or
     * 487) to send, {@code reason} says why (for counters and debug logs; contains no credential).
     */
    record Rejected(InetSocketAddress destination, byte[] datagram, int errorCode, String reason)
            implements StunResult {}

    /** Silently dropped (malformed, bad FINGERPRINT, not a request, agent closed); count it. */
    record Dropped(String reason) implements StunResult {}
}
