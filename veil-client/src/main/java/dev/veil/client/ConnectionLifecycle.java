package dev.veil.client;

/**
 * What the parts of a {@link Connection} (its signaling, its media transport) ask of the connection itself: its
 * state, the stage a timeout names, and the ways it ends. Called on the connection's loop thread only.
 */
interface ConnectionLifecycle {
    /** Whether the connection has ended (however it ended). */
    boolean isClosed();

    /** Whether {@code connect()} is still under way (the offer, ICE or DTLS has not completed). */
    boolean isConnecting();

    /** What the connect is doing now; a connect timeout says it ("... ms while {@code what}"). */
    void stage(String what);

    /** DTLS is up and SRTP keyed: media can flow; completes the connect. */
    void secured();

    /** Ends the connection (not by the application): everything closed, keys destroyed, listeners told once. */
    void end(String reason);

    /** The server broke the protocol: tells it so ({@code disconnect "protocol violation"}), then ends. */
    void protocolFailure(String reason);
}
