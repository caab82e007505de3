package dev.veil.webrtc.transport;

import dev.veil.webrtc.mux.PacketKind;
import dev.veil.webrtc.srtp.SrtpRejection;
import java.util.Map;

/**
 * A snapshot of a transport's counters.
 *
 * @param received datagrams accepted per RFC 7983 kind (STUN checks answered, DTLS records fed to the engine,
 *     SRTP/SRTCP packets that decrypted)
 * @param dropped datagrams dropped per kind: malformed, unauthenticated, from an unvalidated address, before
 *     SRTP was keyed, after close, or refused by SRTP ({@link PacketKind#UNKNOWN}: unclassifiable)
 * @param srtpRejected SRTP packets refused, by reason (also counted in {@code dropped[RTP]})
 * @param srtcpRejected SRTCP packets refused, by reason (also counted in {@code dropped[RTCP]})
 * @param stunErrorResponses STUN requests answered with an error (400/401/487), counted in {@code dropped[STUN]}
 * @param rtpSent RTP packets protected and queued for sending
 * @param rtcpSent RTCP packets protected and queued for sending
 * @param sendDropped outgoing packets dropped (not connected yet, or refused by SRTP protection)
 */
public record TransportStats(Map<PacketKind, Long> received, Map<PacketKind, Long> dropped,
        Map<SrtpRejection, Long> srtpRejected, Map<SrtpRejection, Long> srtcpRejected, long stunErrorResponses,
        long rtpSent, long rtcpSent, long sendDropped) {

    public TransportStats {
        received = Map.copyOf(received);
        dropped = Map.copyOf(dropped);
        srtpRejected = Map.copyOf(srtpRejected);
        srtcpRejected = Map.copyOf(srtcpRejected);
    }

    /** Received count of one kind (0 if none). */
    public long received(PacketKind kind) {
        return received.getOrDefault(kind, 0L);
    }

    /** Dropped count of one kind (0 if none). */
    public long dropped(PacketKind kind) {
        return dropped.getOrDefault(kind, 0L);
    }
}
