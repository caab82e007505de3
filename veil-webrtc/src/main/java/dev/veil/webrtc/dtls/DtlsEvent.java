package dev.veil.webrtc.dtls;

import dev.veil.webrtc.sdp.DtlsFingerprint;
import dev.veil.webrtc.srtp.SrtpKeyingMaterial;
import dev.veil.webrtc.srtp.SrtpProfile;
import java.util.Objects;

/** What a DTLS engine reports. Dispatch with {@code instanceof}. */
public sealed interface DtlsEvent permits DtlsEvent.HandshakeComplete, DtlsEvent.Failed, DtlsEvent.Closed {

    /**
     * The handshake finished and the peer's certificate matched its SDP fingerprint.
     *
     * @param profile the negotiated SRTP protection profile
     * @param keys the exported SRTP master keys and salts (both directions)
     * @param peerFingerprint the fingerprint of the certificate the peer presented
     */
    record HandshakeComplete(SrtpProfile profile, SrtpKeyingMaterial keys, DtlsFingerprint peerFingerprint)
            implements DtlsEvent {
        public HandshakeComplete {
            Objects.requireNonNull(profile, "profile");
            Objects.requireNonNull(keys, "keys");
            Objects.requireNonNull(peerFingerprint, "peerFingerprint");
        }
    }

    /** The association failed for good; the engine sends and accepts nothing more. */
    record Failed(DtlsFailure reason, String detail) implements DtlsEvent {
        public Failed {
            Objects.requireNonNull(reason, "reason");
            Objects.requireNonNull(detail, "detail");
        }
    }

    /** The peer closed the association with close_notify (a local {@code close()} reports nothing). */
    record Closed(String reason) implements DtlsEvent {
        public Closed {
            Objects.requireNonNull(reason, "reason");
        }
    }
}
