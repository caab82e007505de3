package dev.veil.client;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What the E2EE layer of a {@link Connection} reports (the browser SDK's {@code e2ee} event). Dispatch with
 * {@code instanceof}. No event ever carries key material or media.
 */
public sealed interface E2eeEvent permits E2eeEvent.SendKey, E2eeEvent.KeyInstalled, E2eeEvent.Fingerprints,
        E2eeEvent.VerificationCodeChanged, E2eeEvent.Error, E2eeEvent.DeviceCertified, E2eeEvent.Verified,
        E2eeEvent.VerificationLost, E2eeEvent.MlsEpoch {

    /**
     * MLS key mode: the group entered a new epoch (a commit applied, or this member joined). Frames are sent under
     * it from now on.
     *
     * @param epoch the MLS epoch
     * @param verificationCode the code from the epoch authenticator (30 digits, 6 groups): the same for every
     *     member of this epoch, different for any split view
     * @param members the connection ids in the MLS roster (the agreed membership, not the server's notify list)
     */
    record MlsEpoch(long epoch, String verificationCode, List<String> members) implements E2eeEvent {
        public MlsEpoch {
            members = List.copyOf(members);
        }
    }

    /**
     * Another member as the E2EE layer sees it ({@link Connection#e2eePeers()}).
     *
     * @param name the name in its signaling_notify_metadata: relayed by the server, <b>unverified</b>
     * @param deviceFingerprint its persistent device fingerprint once its device certificate verified, else null
     * @param verified its device (or, without one, connection) fingerprint was marked verified
     * @param verifiedName the name its device fingerprint was verified under
     * @param alarmed a {@link VerificationLost} was raised for it
     */
    record PeerInfo(String connectionId, String name, String fingerprint, String deviceFingerprint, boolean verified,
                    String verifiedName, boolean alarmed) {}

    /** A member's device certificate verified: its persistent device fingerprint. */
    record DeviceCertified(String connectionId, String deviceFingerprint) implements E2eeEvent {}

    /**
     * {@link Connection#markVerified()} ({@code scope = "room"}, {@code code}) or
     * {@link Connection#markVerified(String)} ({@code scope = "peer"}, the peer and the fingerprint).
     */
    record Verified(String scope, String connectionId, String name, String fingerprintOrCode) implements E2eeEvent {}

    /**
     * Loud: what was verified no longer holds. {@code scope = "room"}: the room code changed after
     * {@link Connection#markVerified()} ({@code verifiedCode}, {@code code}). {@code scope = "peer"}: a member claims
     * the name of a verified device but shows another device key ({@code reason = "device-changed"}) or none within
     * the grace period ({@code "no-device-certificate"}).
     */
    record VerificationLost(String scope, String reason, String connectionId, String name,
                            List<String> verifiedFingerprints, String deviceFingerprint, String verifiedCode,
                            String code) implements E2eeEvent {
        public VerificationLost {
            verifiedFingerprints = verifiedFingerprints == null ? List.of() : List.copyOf(verifiedFingerprints);
        }

        static VerificationLost room(String verifiedCode, String code) {
            return new VerificationLost("room", "code-changed", null, null, List.of(), null, verifiedCode, code);
        }

        static VerificationLost peer(String reason, String connectionId, String name, List<String> verified,
                                     String deviceFingerprint) {
            return new VerificationLost("peer", reason, connectionId, name, verified, deviceFingerprint, null, null);
        }
    }

    /** This connection encrypts its frames from now on under the key {@code (generation, step)}. */
    record SendKey(long generation, int step) implements E2eeEvent {}

    /** A key of {@code senderConnectionId} was installed for decryption. */
    record KeyInstalled(String senderConnectionId, long generation, int step) implements E2eeEvent {
        public KeyInstalled {
            Objects.requireNonNull(senderConnectionId, "senderConnectionId");
        }
    }

    /**
     * The set of members whose bundle verified, or an identity, changed.
     *
     * @param self this connection's own fingerprint (display form)
     * @param remote connection id → fingerprint (display form) of every other member
     */
    record Fingerprints(String self, Map<String, String> remote) implements E2eeEvent {
        public Fingerprints {
            Objects.requireNonNull(self, "self");
            remote = Map.copyOf(remote);
        }
    }

    /** The room verification code changed (a member joined or left). */
    record VerificationCodeChanged(String code) implements E2eeEvent {
        public VerificationCodeChanged {
            Objects.requireNonNull(code, "code");
        }
    }

    /**
     * Something was refused: a frame that did not decrypt (and was dropped), or a key message or bundle that was
     * rejected.
     *
     * @param source {@code "frames"} (a media frame), {@code "keys"} (key management) or {@code "device"} (a
     *     device certificate)
     * @param reason the reason, as in docs/PROTOCOL.md §2.6 ({@code NO_KEY}, {@code BAD_TAG}, {@code REPLAY}, ...)
     *     or §3.6 ({@code BAD_BUNDLE}, {@code STALE_KEY}, ...)
     * @param from the connection the input came from (null if unknown)
     * @param detail more words, never key material (may be empty)
     * @param suppressed frame errors of the same sender and reason not reported since the last one (at most one
     *     such event per second per sender and reason)
     */
    record Error(String source, String reason, String from, String detail, long suppressed) implements E2eeEvent {
        public Error {
            Objects.requireNonNull(source, "source");
            Objects.requireNonNull(reason, "reason");
            detail = detail == null ? "" : detail;
        }
    }
}
