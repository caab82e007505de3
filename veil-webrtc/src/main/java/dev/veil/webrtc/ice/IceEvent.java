package dev.veil.webrtc.ice;

import java.net.InetSocketAddress;

/** What an {@link IceLiteAgent} reports through {@link IceLiteAgent#pollEvent()}. */
public sealed interface IceEvent {

    /**
     * The controlling peer nominated a pair (USE-CANDIDATE in a valid check): media may flow to {@code selected}.
     * Also emitted when a peer whose consent expired nominates again.
     */
    record Connected(InetSocketAddress selected) implements IceEvent {}

    /**
     * A valid check with USE-CANDIDATE came from a different address than the selected one (client address
     * migration, e.g. Wi-Fi to cellular, or a NAT rebinding): send to {@code selected} from now on.
     */
    record SelectedAddressChanged(InetSocketAddress previous, InetSocketAddress selected) implements IceEvent {}

    /**
     * No valid check arrived from the selected address for {@link IceLiteAgent#CONSENT_TIMEOUT_MILLIS} (RFC 7675 §5.1):
     * stop sending to it. The agent is now {@link IceState#DISCONNECTED}; a later nomination reconnects it.
     */
    record ConsentExpired(InetSocketAddress lastSelected) implements IceEvent {}
}
