package dev.veil.webrtc.transport;

import dev.veil.webrtc.dtls.DtlsCertificate;
import dev.veil.webrtc.dtls.DtlsClientEngine;
import dev.veil.webrtc.dtls.DtlsConfig;
import dev.veil.webrtc.dtls.DtlsEvent;
import dev.veil.webrtc.dtls.DtlsServerEngine;
import dev.veil.webrtc.ice.IceCredentials;
import dev.veil.webrtc.ice.IceEvent;
import dev.veil.webrtc.ice.IceLiteAgent;
import dev.veil.webrtc.ice.StunResult;
import dev.veil.webrtc.mux.Demux;
import dev.veil.webrtc.mux.PacketKind;
import dev.veil.webrtc.sdp.DtlsFingerprint;
import dev.veil.webrtc.sdp.SetupRole;
import dev.veil.webrtc.srtp.SrtpProfile;
import dev.veil.webrtc.srtp.SrtpSession;
import java.net.InetSocketAddress;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.ArrayDeque;
import java.util.EnumMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.Executor;

/**
 * One WebRTC peer connection on the server side: ICE-lite ({@link IceLiteAgent}), DTLS 1.2 as server
 * ({@link DtlsServerEngine}) or, if the answer says passive, as client ({@link DtlsClientEngine}) and SRTP
 * ({@link SrtpSession}) behind one sans-IO face, in the manner of str0m's {@code Rtc}.
 *
 * <h2>Run loop</h2>
 * <pre>
 *   transport.handleDatagram(bytes, from, now)   // every datagram the server routes to this peer
 *   n = transport.receiveMediaInPlace(rtcp, buf, off, len, from, now)  // or, for SRTP/SRTCP: no copy, no output
 *   transport.sendRtp(plainRtp) / sendRtcp(..)   // media to forward to this peer
 *   transport.poll(now)                          // when the Timeout passes, or when {@code wakeup} fires
 *   for (;;) {                                   // after each of the above
 *       TransportOutput o = transport.pollOutput();
 *       if (o instanceof TransportOutput.Timeout t) { schedule poll at t.atMillis(); break; }
 *       if (o instanceof TransportOutput.Transmit x) { socket.send(x.data(), x.destination()); }
 *       else if (o instanceof TransportOutput.Event e) { ... }
 *   }
 * </pre>
 * Datagrams are classified once by their first byte (RFC 7983): STUN goes to the ICE agent; DTLS is accepted
 * only from addresses that passed an ICE check (Chromium starts DTLS before it nominates); SRTP/SRTCP only from
 * those addresses and only once keyed. Anything bad is dropped and counted ({@link #stats()}), never thrown.
 *
 * <h2>Threading</h2>
 * Not thread-safe: confine to one event loop. The one exception is the DTLS handshake, which BouncyCastle runs
 * blocking on {@code dtlsExecutor} (see {@link dev.veil.webrtc.dtls.DtlsEngine}); when it has output or has
 * finished it calls {@code wakeup} from its worker thread, and the server must then call {@link #poll(long)} on
 * the transport's loop to collect it. {@link #awaitDtlsIdle()} is for tests and lock-step callers.
 *
 * <h2>SDP</h2>
 * {@link #localIceCredentials()} and {@link #localFingerprint()} go in the offer (with {@code a=ice-lite} and
 * {@code a=setup:actpass}); {@link #setRemoteIceCredentials} and {@link #setRemoteFingerprint} take the answer's.
 * {@link #restartIce()} makes new local credentials for a re-offer; DTLS and SRTP carry on.
 *
 * <h2>DTLS role</h2>
 * The offer says {@code actpass}; {@link #setRemoteSetup} takes the answer's role. {@code active} (browsers): the
 * transport is the DTLS server ({@link DtlsServerEngine}), started by the peer's first ClientHello. {@code passive}
 * (e.g. Pion's default answer to an ICE-lite offer): the transport is the DTLS client ({@link DtlsClientEngine}) and
 * sends its ClientHello as soon as an address has passed an ICE check (an ICE-lite agent cannot check first), to the
 * nominated address if there is one, else to that validated address. Any other role, or a role that changes after
 * it was set, is refused with an {@link IllegalArgumentException} / {@link IllegalStateException}.
 */
public final class WebRtcTransport {
    /** Cap on addresses remembered as ICE-validated (one per candidate pair the browser checks). */
    static final int MAX_VALIDATED_ADDRESSES = 8;

    private final IceLiteAgent ice;
    private final ArrayDeque<TransportOutput> outputs = new ArrayDeque<>();
    private final LinkedHashSet<InetSocketAddress> validated = new LinkedHashSet<>();
    /** Names the transport address of a non-UDP path (an unresolved path key); null: no such paths. */
    private java.util.function.UnaryOperator<InetSocketAddress> mappedAddresses;
    /** The DTLS engine in its role (server until the answer says passive), and where its datagrams go. */
    private final DtlsLeg dtls;
    /** SRTP once DTLS keyed it: media in from validated addresses, media out, and their counters. */
    private final SrtpMedia media = new SrtpMedia(outputs, validated::contains);

    private boolean connected;
    private boolean ended;

    private final long[] received = new long[PacketKind.values().length];
    private final long[] dropped = new long[PacketKind.values().length];
    private long stunErrorResponses;
    private long engineErrors;

    /**
     * @param certificate the server's DTLS certificate (one for all transports)
     * @param dtlsConfig SRTP profile preference, MTU, handshake deadline
     * @param dtlsExecutor runs BouncyCastle's blocking handshake; a small pool owned by the server
     * @param wakeup called from a DTLS worker thread when there is output to collect: schedule {@link #poll(long)}
     *     on this transport's loop
     * @param random ICE credentials and DTLS randomness
     */
    public WebRtcTransport(DtlsCertificate certificate, DtlsConfig dtlsConfig, Executor dtlsExecutor,
            Runnable wakeup, SecureRandom random) {
        Objects.requireNonNull(random, "random");
        this.ice = new IceLiteAgent(random);
        this.dtls = new DtlsLeg(certificate, dtlsConfig, dtlsExecutor, wakeup, random);
    }

    /**
     * The answer's {@code a=setup} (RFC 8842 §5.3 with our {@code actpass} offer): {@link SetupRole#ACTIVE} keeps this
     * transport the DTLS server; {@link SetupRole#PASSIVE} makes it the DTLS client, which starts its handshake once
     * an address has passed an ICE check (at once if one already has). Idempotent for the same role.
     *
     * @throws IllegalArgumentException for a role other than active or passive (an answer may not say actpass or
     *     holdconn)
     * @throws IllegalStateException if a different role was set before, or if the answer says passive after the peer
     *     already started DTLS as a client (it sent us a ClientHello)
     */
    public void setRemoteSetup(SetupRole setup, long nowMillis) {
        if (dtls.setRemoteSetup(setup, received[PacketKind.DTLS.ordinal()] > 0 || ended)) {
            maybeStartClient(nowMillis);
        }
    }

    /** The DTLS role of this transport: true once the answer said passive (we send the ClientHello). */
    public boolean isDtlsClient() {
        return dtls.isClient();
    }

    /**
     * As DTLS client: the handshake starts once an address has passed an ICE check, towards the nominated address if
     * there is one, else the first validated one (unless DTLS already points somewhere).
     */
    private void maybeStartClient(long nowMillis) {
        if (!dtls.clientDue() || ended || validated.isEmpty()) {
            return;
        }
        dtls.startClient(ice.selectedAddress().orElse(validated.iterator().next()), nowMillis);
        drainDtls();
    }

    // ------------------------------------------------------------------------------------------ SDP parameters

    /**
     * Lets this transport take packets over paths other than UDP, such as ICE-TCP connections (RFC 6544). The server
     * gives each such path an <em>unresolved</em> {@link InetSocketAddress} as its key (so it is never equal to a UDP
     * source address) and passes it as {@code from} to {@link #handleDatagram}; outputs for that path carry the same
     * key as their destination. {@code resolver} maps a key to the path's real remote address, which STUN responses
     * report in XOR-MAPPED-ADDRESS; returning null (a path that is gone) drops the packet.
     */
    public void setMappedAddressResolver(java.util.function.UnaryOperator<InetSocketAddress> resolver) {
        this.mappedAddresses = resolver;
    }

    /** The local ICE ufrag and password for the offer. */
    public IceCredentials localIceCredentials() {
        return ice.localCredentials();
    }

    /** The local DTLS fingerprint for the offer ({@code a=fingerprint:sha-256 ...}). */
    public DtlsFingerprint localFingerprint() {
        return dtls.localFingerprint();
    }

    /** The browser's {@code a=ice-ufrag} / {@code a=ice-pwd} from its answer. */
    public void setRemoteIceCredentials(String ufrag, String password) {
        ice.setRemoteCredentials(ufrag, password);
    }

    /**
     * The browser's {@code a=fingerprint} from its answer. The DTLS handshake is only reported complete once this
     * is set and matches the certificate the browser presented; a mismatch fails the transport.
     */
    public void setRemoteFingerprint(DtlsFingerprint fingerprint) {
        dtls.setRemoteFingerprint(fingerprint);
        drainDtls();
    }

    /** ICE restart: new local credentials for the re-offer (then {@link #setRemoteIceCredentials} again). */
    public IceCredentials restartIce() {
        return ice.restart();
    }

    // ------------------------------------------------------------------------------------------------- input

    /**
     * Handles one datagram the server received for this peer. Never throws for bad input: whatever is malformed,
     * unauthenticated, from the wrong address or arrives too early is dropped and counted.
     */
    public void handleDatagram(byte[] data, InetSocketAddress from, long nowMillis) {
        Objects.requireNonNull(data, "data");
        Objects.requireNonNull(from, "from");
        PacketKind kind = Demux.classify(data, 0, data.length);
        if (ended) {
            dropped[kind.ordinal()]++;
            return;
        }
        try {
            switch (kind) {
                case STUN:
                    handleStun(data, from, nowMillis);
                    break;
                case DTLS:
                    handleDtls(data, from, nowMillis);
                    break;
                case RTP:
                case RTCP:
                    handleMedia(kind, data, from, nowMillis);
                    break;
                default:
                    dropped[PacketKind.UNKNOWN.ordinal()]++;
                    break;
            }
        } catch (RuntimeException e) {
            // A bug in a protocol engine must not take the server down for one peer's packet: drop and count.
            dropped[kind.ordinal()]++;
            engineErrors++;
        }
    }

    private void handleStun(byte[] data, InetSocketAddress from, long nowMillis) {
        InetSocketAddress mapped = from;
        if (from.isUnresolved()) {
            mapped = mappedAddresses == null ? null : mappedAddresses.apply(from);
            if (mapped == null || mapped.isUnresolved()) {
                dropped[PacketKind.STUN.ordinal()]++; // a path nobody can name: nothing to answer
                return;
            }
        }
        StunResult r = ice.handleStun(from, mapped, data, 0, data.length, nowMillis);
        if (r instanceof StunResult.Accepted a) {
            received[PacketKind.STUN.ordinal()]++;
            outputs.add(new TransportOutput.Transmit(a.datagram(), a.destination()));
            if (!validated.contains(from)) {
                if (validated.size() >= MAX_VALIDATED_ADDRESSES) {
                    evictOldestValidated();
                }
                validated.add(from);
                outputs.add(new TransportOutput.AddressValidated(from));
                dtls.addressValidated(from);
            }
        } else if (r instanceof StunResult.Rejected rej) {
            dropped[PacketKind.STUN.ordinal()]++;
            stunErrorResponses++;
            outputs.add(new TransportOutput.Transmit(rej.datagram(), rej.destination()));
        } else {
            dropped[PacketKind.STUN.ordinal()]++;
        }
        drainIce();
        maybeStartClient(nowMillis);
    }

    private void evictOldestValidated() {
        Optional<InetSocketAddress> selected = ice.selectedAddress();
        for (InetSocketAddress a : validated) {
            if (!selected.map(a::equals).orElse(false) && !a.equals(dtls.remote())) {
                validated.remove(a);
                return;
            }
        }
    }

    private void handleDtls(byte[] data, InetSocketAddress from, long nowMillis) {
        if (!validated.contains(from) || !dtls.accepts()) {
            dropped[PacketKind.DTLS.ordinal()]++;
            return;
        }
        if (dtls.handleDatagram(data, from, nowMillis)) {
            received[PacketKind.DTLS.ordinal()]++;
        } else {
            dropped[PacketKind.DTLS.ordinal()]++;
        }
        drainDtls();
    }

    /** SRTP ({@link PacketKind#RTP}) or SRTCP from the peer: queued decrypted, or dropped and counted. */
    private void handleMedia(PacketKind kind, byte[] data, InetSocketAddress from, long nowMillis) {
        if (media.receive(kind == PacketKind.RTCP, data, from)) {
            mediaReceived(kind, from, nowMillis);
        } else {
            dropped[kind.ordinal()]++;
        }
    }

    /** Authenticated media from {@code from} refreshes consent if it is the selected address (RFC 7675 §5.1). */
    private void mediaReceived(PacketKind kind, InetSocketAddress from, long nowMillis) {
        ice.mediaReceived(from, nowMillis);
        received[kind.ordinal()]++;
    }

    /**
     * The allocation-free receive path for media (SRTP or SRTCP, told apart by the caller with {@link Demux}): checks
     * and decrypts the datagram {@code buf[off, off+len)} in place and queues nothing. Dropped and counted exactly as
     * {@link #handleDatagram} would (wrong source, not keyed yet, refused by SRTP: the buffer is then left as it was).
     *
     * <p>Ownership: {@code buf} stays the caller's (e.g. its socket's reused receive buffer); on success the plain
     * packet is at {@code buf[off, off+result)} and the caller hands it on (routing) before it reuses the buffer. Only
     * the given range is read or written.
     *
     * @param rtcp true for an SRTCP datagram (RFC 7983 / 5761: second byte 192–223), false for SRTP
     * @return the plain packet's length, or -1 if the datagram was dropped
     */
    public int receiveMediaInPlace(boolean rtcp, byte[] buf, int off, int len, InetSocketAddress from,
            long nowMillis) {
        PacketKind kind = rtcp ? PacketKind.RTCP : PacketKind.RTP;
        if (!ended && buf != null && off >= 0 && len > 0 && off <= buf.length - len) {
            try {
                int n = media.receiveInPlace(rtcp, buf, off, len, from);
                if (n >= 0) {
                    mediaReceived(kind, from, nowMillis);
                    return n;
                }
            } catch (RuntimeException e) {
                // as handleDatagram: an engine bug drops the packet, never the server
                engineErrors++;
            }
        }
        dropped[kind.ordinal()]++;
        return -1;
    }

    /** Advances timers (ICE consent, DTLS handshake deadline) and collects what the DTLS worker produced. */
    public void poll(long nowMillis) {
        if (ended) {
            return;
        }
        ice.poll(nowMillis);
        drainIce();
        if (!ended) {
            dtls.poll(nowMillis);
            drainDtls();
        }
    }

    // ------------------------------------------------------------------------------------------------ output

    /**
     * Protects a plain RTP packet for this peer and queues it for the selected address. Dropped (and counted) if
     * the transport is not connected or SRTP refuses it (e.g. a malformed header).
     *
     * @return whether a datagram was queued
     */
    public boolean sendRtp(byte[] plainRtp) {
        Objects.requireNonNull(plainRtp, "plainRtp");
        return media.send(false, plainRtp, mediaDestination());
    }

    /**
     * The allocation-free variant of {@link #sendRtp} for the forwarding path: protects the plain RTP packet
     * {@code buf[off, off+len)} in place (the SRTP tag is written after it, so {@code buf} needs
     * {@link dev.veil.webrtc.srtp.SrtpSession#tagLength()} bytes of room there) and queues nothing: the caller sends
     * the result to {@link #mediaDestination()} itself, before it reuses the buffer. Counted as {@link #sendRtp} is.
     *
     * @return the length of the SRTP packet now at {@code buf[off..]}, or -1 if it cannot be sent (not connected, no
     *     selected address, refused by SRTP: counted as dropped)
     */
    public int protectRtpInPlace(byte[] buf, int off, int len) {
        return media.protectRtpInPlace(mediaDestination(), buf, off, len);
    }

    /** Where media to this peer goes now (the selected address), or null. */
    public InetSocketAddress mediaDestination() {
        return connected && !ended ? ice.selectedAddressOrNull() : null;
    }

    /**
     * Protects a plain (compound) RTCP packet and queues it; see {@link #sendRtp}. Unlike RTP, RTCP may go out before
     * the controlling agent nominates a pair (Chromium nominates seconds after media starts): to the ICE-validated
     * address the last authenticated SRTP/SRTCP packet came from (RFC 8445 §12.1 allows sending on a valid pair
     * before selection). Congestion control feedback must reach a publisher from its first packets on.
     */
    public boolean sendRtcp(byte[] plainRtcp) {
        Objects.requireNonNull(plainRtcp, "plainRtcp");
        InetSocketAddress to = ice.selectedAddressOrNull();
        if (to == null) {
            to = media.lastValidatedSource();
        }
        return media.send(true, plainRtcp, ended ? null : to);
    }

    /** The next output: a queued datagram or event, else the {@link TransportOutput.Timeout} for {@link #poll}. */
    public TransportOutput pollOutput() {
        TransportOutput o = outputs.poll();
        return o != null ? o : new TransportOutput.Timeout(nextTimeoutMillis());
    }

    /** When {@link #poll(long)} must next run (caller's clock), or {@link Long#MAX_VALUE}. */
    public long nextTimeoutMillis() {
        if (ended) {
            return Long.MAX_VALUE;
        }
        return Math.min(ice.nextTimeout(), dtls.nextTimeoutMillis());
    }

    /** Closes the connection: sends DTLS close_notify, stops ICE, reports {@link TransportOutput.Closed}. */
    public void close() {
        if (ended) {
            return;
        }
        dtls.close();
        drainDtlsTransmits();
        end(new TransportOutput.Closed("closed locally"));
    }

    // -------------------------------------------------------------------------------------------------- state

    /** True between {@link TransportOutput.Connected} and the end. */
    public boolean isConnected() {
        return connected && !ended;
    }

    /** True after {@link TransportOutput.Closed} or {@link TransportOutput.Failed}. */
    public boolean isEnded() {
        return ended;
    }

    /** Where media goes: the nominated address, if any. */
    public Optional<InetSocketAddress> selectedAddress() {
        return ice.selectedAddress();
    }

    /** Whether a datagram from this address belongs to this transport (it passed an ICE check). */
    public boolean isValidatedAddress(InetSocketAddress address) {
        return validated.contains(address);
    }

    /** The negotiated SRTP profile, once DTLS finished. */
    public Optional<SrtpProfile> srtpProfile() {
        return Optional.ofNullable(media.profile());
    }

    /** A snapshot of the counters. */
    public TransportStats stats() {
        Map<PacketKind, Long> rec = new EnumMap<>(PacketKind.class);
        Map<PacketKind, Long> drop = new EnumMap<>(PacketKind.class);
        for (PacketKind k : PacketKind.values()) {
            rec.put(k, received[k.ordinal()]);
            drop.put(k, dropped[k.ordinal()]);
        }
        return new TransportStats(rec, drop, media.srtpRejected(), media.srtcpRejected(), stunErrorResponses,
                media.rtpSent(), media.rtcpSent(), media.sendDropped());
    }

    /** Datagrams whose handling threw a RuntimeException (an engine bug, dropped); the fuzz target asserts 0. */
    long engineErrors() {
        return engineErrors;
    }

    /**
     * Blocks until the DTLS worker has consumed every datagram given to it and waits for more (or has ended);
     * then {@link #poll(long)} collects its output. For tests and lock-step callers, never on a loop that the
     * worker's {@code wakeup} needs.
     */
    public void awaitDtlsIdle() throws InterruptedException {
        dtls.awaitIdle();
    }

    // ------------------------------------------------------------------------------------------------ internals

    private void drainIce() {
        for (IceEvent e; (e = ice.pollEvent()) != null;) {
            if (e instanceof IceEvent.Connected) {
                maybeConnected();
            } else if (e instanceof IceEvent.SelectedAddressChanged c) {
                outputs.add(new TransportOutput.RemoteAddressChanged(c.previous(), c.selected()));
            } else if (e instanceof IceEvent.ConsentExpired) {
                dtls.close();
                drainDtlsTransmits();
                end(new TransportOutput.Failed("ICE consent expired (no valid check for "
                        + IceLiteAgent.CONSENT_TIMEOUT_MILLIS / 1000 + " s)"));
                return;
            }
        }
    }

    private void drainDtls() {
        drainDtlsTransmits();
        for (DtlsEvent e; !ended && (e = dtls.pollEvent()) != null;) {
            if (e instanceof DtlsEvent.HandshakeComplete hc) {
                try {
                    media.key(hc, dtls.isClient());
                } catch (GeneralSecurityException ex) {
                    end(new TransportOutput.Failed("SRTP setup failed: " + ex.getMessage()));
                    return;
                }
                maybeConnected();
            } else if (e instanceof DtlsEvent.Failed f) {
                drainDtlsTransmits();
                end(new TransportOutput.Failed("DTLS " + f.reason() + ": " + f.detail()));
            } else if (e instanceof DtlsEvent.Closed c) {
                drainDtlsTransmits();
                end(new TransportOutput.Closed("DTLS " + c.reason()));
            }
        }
    }

    /** DTLS output goes to the nominated address, else to where the peer's DTLS came from. */
    private void drainDtlsTransmits() {
        dtls.drainTransmits(outputs, ice.selectedAddressOrNull());
    }

    private void maybeConnected() {
        if (connected || ended || !media.isKeyed()) {
            return;
        }
        Optional<InetSocketAddress> sel = ice.selectedAddress();
        if (sel.isPresent()) {
            connected = true;
            outputs.add(new TransportOutput.Connected(media.profile(), sel.get()));
        }
    }

    private void end(TransportOutput.Event finalEvent) {
        if (ended) {
            return;
        }
        ended = true;
        connected = false;
        ice.close();
        dtls.close();
        media.forget();
        outputs.add(finalEvent);
    }
}
