package dev.veil.webrtc.mux;

/** What a datagram received on the shared media port carries, as classified by {@link Demux}. */
public enum PacketKind {
    /** A STUN message (first byte 0..3). */
    STUN,
    /** A DTLS record (first byte 20..63). */
    DTLS,
    /** An RTP packet, or SRTP (first byte 128..191, payload type outside 192..223). */
    RTP,
    /** An RTCP packet, or SRTCP (first byte 128..191, packet type 192..223). */
    RTCP,
    /** Anything else (ZRTP, TURN channel data, garbage, an empty datagram): drop it. */
    UNKNOWN
}
