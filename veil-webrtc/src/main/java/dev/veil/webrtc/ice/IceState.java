package dev.veil.webrtc.ice;

/** The state of an {@link IceLiteAgent}. */
public enum IceState {
    /** No valid check yet. */
    NEW,
    /** Valid checks arrived but no pair is nominated yet. */
    CHECKING,
    /** A pair is nominated; {@link IceLiteAgent#selectedAddress()} is where to send. */
    CONNECTED,
    /** Consent expired (RFC 7675); nothing may be sent until a new nomination. */
    DISCONNECTED,
    /** {@link IceLiteAgent#close()} was called; every packet is dropped. */
    CLOSED
}
