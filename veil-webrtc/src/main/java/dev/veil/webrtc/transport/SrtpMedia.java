package dev.veil.webrtc.transport;

import dev.veil.webrtc.dtls.DtlsEvent;
import dev.veil.webrtc.srtp.SrtpException;
import dev.veil.webrtc.srtp.SrtpProfile;
import dev.veil.webrtc.srtp.SrtpRejection;
import dev.veil.webrtc.srtp.SrtpSession;
import java.net.InetSocketAddress;
import java.security.GeneralSecurityException;
import java.util.EnumMap;
import java.util.Map;
import java.util.Queue;
import java.util.function.Predicate;

/**
 * The SRTP media path of a {@link WebRtcTransport}: the {@link SrtpSession} keyed from the finished DTLS handshake,
 * what comes in (SRTP/SRTCP from an ICE-validated address, checked and decrypted) and what goes out (protected, to
 * the destination the transport chose), with the counters of both. Kept apart so that the keying material's whole
 * life (derive the session, destroy the exported keys, forget the session when the transport ends) and SRTP's
 * refusals are in one place; the transport keeps what needs ICE or the connection state: whether there is anywhere
 * to send, consent refresh, and the per-kind datagram counts.
 *
 * <p>Refusals come back as {@code false}, {@code null} or {@code -1}, never as {@link SrtpException}: a refused
 * packet is dropped and counted, it never fails the transport. A {@link RuntimeException} (an engine bug) is not
 * caught here; the transport counts those. Like the transport it is sans-IO: it queues on the transport's outputs.
 */
final class SrtpMedia {
    private final Queue<TransportOutput> outputs;
    /** The transport's ICE-validated addresses: media is taken only from these, and RTCP may go back to one. */
    private final Predicate<InetSocketAddress> validated;
    /** Null until keyed, and again after {@link #forget()}. */
    private SrtpSession session;
    /** Set with the session, kept after {@link #forget()} ({@link WebRtcTransport#srtpProfile()} reports it). */
    private SrtpProfile profile;
    /** Where the last authenticated SRTP/SRTCP packet came from (an ICE-validated address), or null. */
    private InetSocketAddress lastSource;

    private final EnumMap<SrtpRejection, Long> srtpRejected = new EnumMap<>(SrtpRejection.class);
    private final EnumMap<SrtpRejection, Long> srtcpRejected = new EnumMap<>(SrtpRejection.class);
    private long rtpSent;
    private long rtcpSent;
    private long sendDropped;

    /**
     * @param outputs the transport's output queue: received media and protected datagrams are queued on it
     * @param validated whether an address passed an ICE check of this transport (read on every packet)
     */
    SrtpMedia(Queue<TransportOutput> outputs, Predicate<InetSocketAddress> validated) {
        this.outputs = outputs;
        this.validated = validated;
    }

    /**
     * Keys the session from a finished handshake, with the keys of the DTLS role this transport played (the client
     * sends with the client write key, the server with the server's). The exported keys are destroyed whether or not
     * this succeeds: the session holds what it needs, and nothing else may keep them.
     *
     * @throws GeneralSecurityException if the profile's ciphers cannot be set up (the transport then fails)
     */
    void key(DtlsEvent.HandshakeComplete handshake, boolean dtlsClient) throws GeneralSecurityException {
        try {
            session = dtlsClient ? SrtpSession.forClient(handshake.keys()) : SrtpSession.forServer(handshake.keys());
            profile = handshake.profile();
        } finally {
            handshake.keys().destroy();
        }
    }

    /** Whether there is a session: from the handshake to the transport's end. */
    boolean isKeyed() {
        return session != null;
    }

    /** The negotiated profile once keyed (also after the end), else null. */
    SrtpProfile profile() {
        return profile;
    }

    /** Drops the session at the transport's end: nothing is protected or unprotected after it. */
    void forget() {
        session = null;
    }

    // ------------------------------------------------------------------------------------------------ receive

    /**
     * Checks and decrypts a whole SRTP ({@code rtcp} false) or SRTCP datagram and queues the plain packet as
     * {@link TransportOutput.RtpReceived} / {@link TransportOutput.RtcpReceived}.
     *
     * @return false if it was dropped: not keyed, not from an ICE-validated address, or refused by SRTP (counted by
     *     reason)
     */
    boolean receive(boolean rtcp, byte[] data, InetSocketAddress from) {
        if (!acceptsFrom(from)) {
            return false;
        }
        byte[] plain;
        try {
            plain = rtcp ? session.unprotectRtcp(data) : session.unprotectRtp(data);
        } catch (SrtpException e) {
            countRejected(rtcp, e);
            return false;
        }
        lastSource = from;
        outputs.add(rtcp ? new TransportOutput.RtcpReceived(plain) : new TransportOutput.RtpReceived(plain));
        return true;
    }

    /**
     * Checks and decrypts the SRTP or SRTCP datagram {@code buf[off, off+len)} in place and queues nothing (see
     * {@link WebRtcTransport#receiveMediaInPlace}); a refused packet leaves the buffer as it was.
     *
     * @return the plain packet's length, or -1 if it was dropped as {@link #receive} drops
     */
    int receiveInPlace(boolean rtcp, byte[] buf, int off, int len, InetSocketAddress from) {
        if (!acceptsFrom(from)) {
            return -1;
        }
        int n;
        try {
            n = rtcp ? session.unprotectRtcpInPlace(buf, off, len) : session.unprotectRtpInPlace(buf, off, len);
        } catch (SrtpException e) {
            countRejected(rtcp, e);
            return -1;
        }
        lastSource = from;
        return n;
    }

    /** Where RTCP may go before ICE nominates: the last source of authenticated media if still validated, or null. */
    InetSocketAddress lastValidatedSource() {
        return lastSource != null && validated.test(lastSource) ? lastSource : null;
    }

    private boolean acceptsFrom(InetSocketAddress from) {
        return session != null && validated.test(from);
    }

    private void countRejected(boolean rtcp, SrtpException e) {
        (rtcp ? srtcpRejected : srtpRejected).merge(e.reason(), 1L, Long::sum);
    }

    // ------------------------------------------------------------------------------------------------ send

    /**
     * Protects a plain RTP ({@code rtcp} false) or (compound) RTCP packet and queues it for {@code to}.
     *
     * @param to where it goes, as the transport chose it; null if there is nowhere to send (or not keyed)
     * @return whether a datagram was queued; if not (no destination, not keyed, refused by SRTP) it is counted as
     *     dropped
     */
    boolean send(boolean rtcp, byte[] plain, InetSocketAddress to) {
        if (to != null && session != null) {
            try {
                outputs.add(new TransportOutput.Transmit(
                        rtcp ? session.protectRtcp(plain) : session.protectRtp(plain), to));
                if (rtcp) {
                    rtcpSent++;
                } else {
                    rtpSent++;
                }
                return true;
            } catch (SrtpException e) {
                // refused (e.g. a malformed header): dropped like a packet with nowhere to go
            }
        }
        sendDropped++;
        return false;
    }

    /**
     * Protects the plain RTP packet {@code buf[off, off+len)} in place for the caller to send to {@code to} (see
     * {@link WebRtcTransport#protectRtpInPlace}); counted as {@link #send} counts.
     *
     * @return the SRTP packet's length, or -1 if it cannot be sent
     */
    int protectRtpInPlace(InetSocketAddress to, byte[] buf, int off, int len) {
        if (to != null && session != null) {
            try {
                int n = session.protectRtpInPlace(buf, off, len);
                rtpSent++;
                return n;
            } catch (SrtpException e) {
                // refused: as in send
            }
        }
        sendDropped++;
        return -1;
    }

    // ------------------------------------------------------------------------------------------------ counters

    /** SRTP packets refused, by reason: the live map ({@link TransportStats} copies it). */
    Map<SrtpRejection, Long> srtpRejected() {
        return srtpRejected;
    }

    /** SRTCP packets refused, by reason: the live map ({@link TransportStats} copies it). */
    Map<SrtpRejection, Long> srtcpRejected() {
        return srtcpRejected;
    }

    long rtpSent() {
        return rtpSent;
    }

    long rtcpSent() {
        return rtcpSent;
    }

    long sendDropped() {
        return sendDropped;
    }
}
