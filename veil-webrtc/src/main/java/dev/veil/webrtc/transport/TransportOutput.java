package dev.veil.webrtc.transport;

import dev.veil.webrtc.srtp.SrtpProfile;
import java.net.InetSocketAddress;
import java.util.Objects;

/**
 * What {@link WebRtcTransport#pollOutput()} returns: a datagram to send, an event, or — when nothing else is
 * queued — the time at which {@link WebRtcTransport#poll(long)} must run next. Dispatch with {@code instanceof}.
 */
public sealed interface TransportOutput
        permits TransportOutput.Transmit, TransportOutput.Timeout, TransportOutput.Event {

    /** Send {@code data} to {@code destination} from the shared media socket. */
    record Transmit(byte[] data, InetSocketAddress destination) implements TransportOutput {
        public Transmit {
            Objects.requireNonNull(data, "data");
            Objects.requireNonNull(destination, "destination");
        }
    }

    /**
     * Nothing more is queued; call {@link WebRtcTransport#poll(long)} at {@code atMillis} (caller's clock) or on
     * the next datagram or wakeup, whichever is first. {@link Long#MAX_VALUE}: no timer.
     */
    record Timeout(long atMillis) implements TransportOutput {
    }

    /** Something happened on the peer connection. */
    sealed interface Event extends TransportOutput
            permits Connected, AddressValidated, RemoteAddressChanged, RtpReceived, RtcpReceived, Closed, Failed {
    }

    /** ICE is nominated, DTLS finished with a matching fingerprint and SRTP is keyed: media may flow. Once. */
    record Connected(SrtpProfile profile, InetSocketAddress remote) implements Event {
    }

    /**
     * A valid ICE check came from this address for the first time. The server should route datagrams from it to
     * this transport (DTLS may start before nomination).
     */
    record AddressValidated(InetSocketAddress address) implements Event {
    }

    /** The peer nominated a new address (migration); media now goes to {@code current}. */
    record RemoteAddressChanged(InetSocketAddress previous, InetSocketAddress current) implements Event {
    }

    /** A decrypted, authenticated RTP packet from the peer. */
    record RtpReceived(byte[] packet) implements Event {
    }

    /** A decrypted, authenticated (compound) RTCP packet from the peer. */
    record RtcpReceived(byte[] packet) implements Event {
    }

    /** The connection ended normally (peer's close_notify, or local {@link WebRtcTransport#close()}). Final. */
    record Closed(String reason) implements Event {
    }

    /** The connection failed (DTLS failure or timeout, fingerprint mismatch, ICE consent lost). Final. */
    record Failed(String reason) implements Event {
    }
}
