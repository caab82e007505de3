package dev.veil.client;

import java.util.Map;
import java.util.Objects;

/**
 * What the E2EE layer of a {@link Connection} reports (the browser SDK's {@code e2ee} event). Dispatch with
 * {@code instanceof}. No event ever carries key material or media.
 */
public sealed interface E2eeEvent permits E2eeEvent.SendKey, E2eeEvent.KeyInstalled, E2eeEvent.Fingerprints,
        E2eeEvent.VerificationCodeChanged, E2eeEvent.Error {

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
     * @param source {@code "frames"} (a media frame) or {@code "keys"} (key management)
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
