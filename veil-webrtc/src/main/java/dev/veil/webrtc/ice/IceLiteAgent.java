package dev.veil.webrtc.ice;

import dev.veil.webrtc.stun.StunAttribute;
import dev.veil.webrtc.stun.StunClass;
import dev.veil.webrtc.stun.StunException;
import dev.veil.webrtc.stun.StunMessage;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Objects;
import java.util.Optional;
import java.util.random.RandomGenerator;

/**
 * The ICE-lite side of one peer connection (<a href="https://www.rfc-editor.org/rfc/rfc8445#section-2.5">RFC 8445
 * §2.5</a>): it never sends checks, it answers the browser's Binding requests, latches the nominated 5-tuple and
 * tracks consent freshness (<a href="https://www.rfc-editor.org/rfc/rfc7675">RFC 7675</a>).
 *
 * <h2>Sans-IO contract</h2>
 * No sockets, threads or clock. The caller feeds every STUN datagram received for this peer to {@link #handleStun}
 * with the current time and sends the returned response; it calls {@link #poll(long)} when the deadline it returned
 * has passed (or on any packet); it drains {@link #pollEvent()} after each call. Not thread-safe: confine an agent
 * to one event loop.
 *
 * <h2>Checks</h2>
 * A Binding request is answered only if it has a valid FINGERPRINT, USERNAME {@code "<local ufrag>:<remote ufrag>"}
 * and MESSAGE-INTEGRITY keyed with the local ice-pwd. Failures:
 * <ul>
 *   <li>malformed, not a Binding request, missing or bad FINGERPRINT: dropped silently (RFC 8445 §7.3: FINGERPRINT
 *       is what tells STUN from media on a shared port, so such a datagram is not treated as STUN);</li>
 *   <li>USERNAME or MESSAGE-INTEGRITY missing: 400 Bad Request;</li>
 *   <li>unknown local ufrag, wrong remote ufrag, or integrity mismatch: 401 Unauthenticated without
 *       MESSAGE-INTEGRITY (RFC 8489 §9.1.3 says reject with 401; RFC 8445 §7.3 keeps RFC 8489's processing. The
 *       response is smaller than the request, so it does not amplify a spoofed flood);</li>
 *   <li>ICE-CONTROLLED in the request (the peer claims to be controlled too): 487 Role Conflict; a lite agent is
 *       always controlled (RFC 8445 §6.1.1) and cannot switch.</li>
 * </ul>
 * Unknown comprehension-required attributes are ignored rather than answered with 420.
 *
 * <h2>Nomination and migration</h2>
 * A valid check carrying USE-CANDIDATE selects its source address: the first one emits {@link IceEvent.Connected};
 * one from another address later switches the selection and emits {@link IceEvent.SelectedAddressChanged} (client
 * address migration; also what Firefox's aggressive nomination looks like). Checks without USE-CANDIDATE are
 * answered but select nothing.
 *
 * <h2>Consent</h2>
 * Every valid check from the selected address refreshes consent, and so does every authenticated SRTP or SRTCP
 * packet from it ({@link #mediaReceived}): an ICE-lite agent sends no checks of its own, and a full-ICE client such as
 * Pion sends its keepalive check only when its selected pair has been idle one way or the other, which a publisher
 * that sends media and receives feedback never is. {@link #poll(long)} expires consent
 * {@link #CONSENT_TIMEOUT_MILLIS} after the last refresh, emits {@link IceEvent.ConsentExpired} and clears the
 * selection.
 *
 * <h2>Restart</h2>
 * {@link #restart()} makes new local credentials (to put in the re-offer). Until the first valid check with the new
 * credentials arrives, checks with the previous local and remote credentials are still answered, so media keeps
 * flowing during the restart (RFC 8445 §9). The remote ufrag is checked only once {@link #setRemoteCredentials} has
 * been called: the browser can start checking before the server has processed its answer.
 */
public final class IceLiteAgent {

    /** Consent expires this long after the last valid check from the selected address (RFC 7675 §5.1). */
    public static final long CONSENT_TIMEOUT_MILLIS = 30_000;

    private final RandomGenerator random;
    private Credentials current;
    private Credentials previous;
    private IceState state = IceState.NEW;
    private InetSocketAddress selected;
    private long lastConsentMillis;
    private final ArrayDeque<IceEvent> events = new ArrayDeque<>();

    /** Local credentials with the ufrag of the remote side (null until the answer is processed). */
    private static final class Credentials {
        final IceCredentials local;
        final byte[] key;
        String remoteUfrag;
        String remotePassword;

        Credentials(IceCredentials local) {
            this.local = local;
            this.key = local.password().getBytes(StandardCharsets.UTF_8);
        }
    }

    /**
     * An agent with fresh random local credentials.
     *
     * @param random source of the credentials (production: a {@code SecureRandom}; tests: a seeded generator)
     */
    public IceLiteAgent(RandomGenerator random) {
        this(IceCredentials.random(Objects.requireNonNull(random, "random")), random);
    }

    /** An agent with the given local credentials; {@code random} is used by {@link #restart()}. */
    public IceLiteAgent(IceCredentials local, RandomGenerator random) {
        this.random = Objects.requireNonNull(random, "random");
        this.current = new Credentials(Objects.requireNonNull(local, "local"));
    }

    /** The local ufrag and password to put in the offer ({@code a=ice-ufrag}, {@code a=ice-pwd}). */
    public IceCredentials localCredentials() {
        return current.local;
    }

    /**
     * Sets the remote ufrag and password from the browser's answer ({@code a=ice-ufrag}, {@code a=ice-pwd}). After
     * this, checks must carry USERNAME {@code "<local ufrag>:<this ufrag>"}. The password is only kept (a lite agent
     * sends no checks, so it never needs it).
     */
    public void setRemoteCredentials(String ufrag, String password) {
        Objects.requireNonNull(ufrag, "ufrag");
        if (ufrag.isEmpty() || ufrag.indexOf(':') >= 0) {
            throw new IllegalArgumentException("bad remote ufrag");
        }
        current.remoteUfrag = ufrag;
        current.remotePassword = password;
    }

    /** The remote ufrag set by {@link #setRemoteCredentials}, if any. */
    public Optional<String> remoteUfrag() {
        return Optional.ofNullable(current.remoteUfrag);
    }

    /** The current state. */
    public IceState state() {
        return state;
    }

    /** Where to send media: the nominated address, empty unless {@link IceState#CONNECTED}. */
    public Optional<InetSocketAddress> selectedAddress() {
        return Optional.ofNullable(selectedAddressOrNull());
    }

    /** {@link #selectedAddress()} without the Optional (the per-packet send path), or null. */
    public InetSocketAddress selectedAddressOrNull() {
        return state == IceState.CONNECTED ? selected : null;
    }

    /** Whether a non-STUN datagram from {@code from} belongs to this agent's selected 5-tuple. */
    public boolean isSelected(InetSocketAddress from) {
        return state == IceState.CONNECTED && selected.equals(from);
    }

    /**
     * Handles one STUN datagram from {@code from}.
     *
     * @return the response to send, or why it was dropped; never throws for bad input
     */
    public StunResult handleStun(InetSocketAddress from, byte[] buf, int off, int len, long nowMillis) {
        return handleStun(from, from, buf, off, len, nowMillis);
    }

    /**
     * Handles one STUN packet that came over the path {@code from}, whose transport address (what the
     * XOR-MAPPED-ADDRESS of the response reports) is {@code mapped}. The two differ for ICE-TCP (RFC 6544): the server
     * keys each TCP connection by a path of its own, which is never equal to a UDP source address, while the response
     * reports the connection's remote address.
     *
     * @return the response to send (to {@code from}), or why it was dropped; never throws for bad input
     */
    public StunResult handleStun(InetSocketAddress from, InetSocketAddress mapped, byte[] buf, int off, int len,
            long nowMillis) {
        Objects.requireNonNull(from, "from");
        Objects.requireNonNull(mapped, "mapped");
        if (mapped.isUnresolved()) {
            throw new IllegalArgumentException("the mapped address must be resolved");
        }
        if (state == IceState.CLOSED) {
            return new StunResult.Dropped("agent closed");
        }
        StunMessage req;
        try {
            req = StunMessage.decode(buf, off, len);
        } catch (StunException e) {
            return new StunResult.Dropped("malformed STUN: " + e.getMessage());
        }
        if (!req.isBindingRequest()) {
            return new StunResult.Dropped("not a Binding request: " + req.messageClass());
        }
        if (!req.verifyFingerprint()) {
            return new StunResult.Dropped("missing or bad FINGERPRINT");
        }
        Optional<String> username = req.username();
        if (username.isEmpty() || !req.hasIntegrity()) {
            return reject(req, from, 400, "Bad Request", "USERNAME or MESSAGE-INTEGRITY missing", null);
        }
        String user = username.get();
        int colon = user.indexOf(':');
        if (colon < 0) {
            return reject(req, from, 401, "Unauthenticated", "USERNAME without ':'", null);
        }
        String localPart = user.substring(0, colon);
        String remotePart = user.substring(colon + 1);
        Credentials creds = null;
        if (localPart.equals(current.local.ufrag())) {
            creds = current;
        } else if (previous != null && localPart.equals(previous.local.ufrag())) {
            creds = previous;
        }
        if (creds == null) {
            return reject(req, from, 401, "Unauthenticated", "unknown local ufrag", null);
        }
        if (creds.remoteUfrag != null && !creds.remoteUfrag.equals(remotePart)) {
            return reject(req, from, 401, "Unauthenticated", "wrong remote ufrag", null);
        }
        if (!req.verifyIntegrity(creds.key)) {
            return reject(req, from, 401, "Unauthenticated", "MESSAGE-INTEGRITY mismatch", null);
        }
        if (req.has(StunAttribute.IceControlled.class)) {
            return reject(req, from, 487, "Role Conflict", "peer is ICE-CONTROLLED too", creds.key);
        }
        // Authenticated check.
        if (creds == current) {
            previous = null; // the restart completed: the old credentials are no longer accepted
        }
        onValidCheck(from, req.has(StunAttribute.UseCandidate.class), nowMillis);
        byte[] response = StunMessage.builder(StunClass.SUCCESS_RESPONSE, StunMessage.METHOD_BINDING,
                        req.transactionId())
                .add(new StunAttribute.XorMappedAddress(mapped))
                .encode(creds.key, true);
        return new StunResult.Accepted(from, response);
    }

    private void onValidCheck(InetSocketAddress from, boolean useCandidate, long nowMillis) {
        if (useCandidate) {
            if (state == IceState.CONNECTED && !from.equals(selected)) {
                InetSocketAddress old = selected;
                selected = from;
                events.add(new IceEvent.SelectedAddressChanged(old, from));
            } else if (state != IceState.CONNECTED) {
                selected = from;
                state = IceState.CONNECTED;
                events.add(new IceEvent.Connected(from));
            }
        } else if (state == IceState.NEW) {
            state = IceState.CHECKING;
        }
        if (state == IceState.CONNECTED && from.equals(selected)) {
            lastConsentMillis = nowMillis;
        }
    }

    private StunResult reject(StunMessage req, InetSocketAddress from, int code, String phrase, String reason,
            byte[] key) {
        byte[] response = StunMessage.builder(StunClass.ERROR_RESPONSE, StunMessage.METHOD_BINDING,
                        req.transactionId())
                .add(new StunAttribute.ErrorCode(code, phrase))
                .encode(key, true);
        return new StunResult.Rejected(from, response, code, reason);
    }

    /**
     * Refreshes consent on media: the caller has authenticated an SRTP or SRTCP packet (integrity and replay checked)
     * from {@code from}. Only the selected address counts; media from any other address changes nothing. Packets that
     * need the session keys to forge and cannot be replayed show that the peer still receives and sends at that
     * address, which is what a consent check shows (RFC 7675 §5.1).
     */
    public void mediaReceived(InetSocketAddress from, long nowMillis) {
        if (state == IceState.CONNECTED && from.equals(selected) && nowMillis > lastConsentMillis) {
            lastConsentMillis = nowMillis;
        }
    }

    /**
     * Advances time: expires consent if due.
     *
     * @return the next deadline in the caller's millisecond clock at which {@code poll} must be called again, or
     *     {@link Long#MAX_VALUE} if none
     */
    public long poll(long nowMillis) {
        if (state == IceState.CONNECTED && nowMillis - lastConsentMillis >= CONSENT_TIMEOUT_MILLIS) {
            state = IceState.DISCONNECTED;
            InetSocketAddress old = selected;
            selected = null;
            events.add(new IceEvent.ConsentExpired(old));
        }
        return nextTimeout();
    }

    /** The next deadline for {@link #poll(long)}, or {@link Long#MAX_VALUE} if there is none. */
    public long nextTimeout() {
        return state == IceState.CONNECTED ? lastConsentMillis + CONSENT_TIMEOUT_MILLIS : Long.MAX_VALUE;
    }

    /** The next event, or null when there is none. Drain after every call that may change state. */
    public IceEvent pollEvent() {
        return events.poll();
    }

    /**
     * ICE restart: makes new local credentials (put them in the re-offer; then call {@link #setRemoteCredentials}
     * with the browser's new ones). The selected address and consent are kept; checks with the previous
     * credentials stay valid until the first valid check with the new ones.
     *
     * @return the new local credentials
     */
    public IceCredentials restart() {
        previous = current;
        current = new Credentials(IceCredentials.random(random));
        return current.local;
    }

    /** Closes the agent: every later datagram is dropped and no event is emitted. */
    public void close() {
        state = IceState.CLOSED;
        selected = null;
        events.clear();
    }

    /**
     * The local ufrag named in a STUN Binding request (the part of USERNAME before ':'), so a server with one UDP
     * port can route the first packet from a new remote address to the agent that owns the ufrag. Nothing is
     * authenticated here: the agent checks integrity when it handles the packet.
     *
     * @return the ufrag, or empty if the datagram is not a Binding request with a USERNAME
     */
    public static Optional<String> localUfragOf(byte[] buf, int off, int len) {
        if (!StunMessage.looksLikeStun(buf, off, len)) {
            return Optional.empty();
        }
        try {
            StunMessage m = StunMessage.decode(buf, off, len);
            if (!m.isBindingRequest()) {
                return Optional.empty();
            }
            return m.username().filter(u -> u.indexOf(':') > 0).map(u -> u.substring(0, u.indexOf(':')));
        } catch (StunException e) {
            return Optional.empty();
        }
    }
}
