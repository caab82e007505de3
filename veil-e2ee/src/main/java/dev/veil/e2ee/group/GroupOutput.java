package dev.veil.e2ee.group;

import dev.veil.e2ee.key.KeyId;
import dev.veil.e2ee.util.SecretBytes;
import java.util.Objects;

/**
 * What a {@link GroupKeyManager} asks its caller to do. Dispatch with {@code instanceof} patterns. Every
 * {@link SecretBytes} in an output is a fresh copy owned by the caller, who should {@code destroy()} it once it has
 * handed it to the frame layer.
 */
public sealed interface GroupOutput permits GroupOutput.SendTo, GroupOutput.InstallKey, GroupOutput.ActivateSendKey,
        GroupOutput.ForgetSender, GroupOutput.Rejected {

    /** Send {@code message} (a sealed pairwise message, opaque to the server) to one member through the E2EE relay. */
    record SendTo(String connectionId, byte[] message) implements GroupOutput {
        public SendTo {
            Objects.requireNonNull(connectionId, "connectionId");
            Objects.requireNonNull(message, "message");
        }

        @Override
        public String toString() {
            return "SendTo[" + connectionId + ", " + message.length + " bytes]";
        }
    }

    /**
     * Install {@code sender}'s base key {@code keyId} in the receive-side key ring of that sender, next to the keys
     * already there (do not drop older ones: frames under them may still be in flight). The ring derives
     * {@code (g, s')} for {@code s' > s} itself with {@code KeyRatchet.VEIL} when a frame with a higher step arrives.
     */
    record InstallKey(String sender, KeyId keyId, SecretBytes baseKey) implements GroupOutput {
        public InstallKey {
            Objects.requireNonNull(sender, "sender");
            Objects.requireNonNull(keyId, "keyId");
            Objects.requireNonNull(baseKey, "baseKey");
        }
    }

    /** Encrypt every frame sent from now on under {@code keyId} with this base key. */
    record ActivateSendKey(KeyId keyId, SecretBytes baseKey) implements GroupOutput {
        public ActivateSendKey {
            Objects.requireNonNull(keyId, "keyId");
            Objects.requireNonNull(baseKey, "baseKey");
        }
    }

    /** The member left: drop (and wipe) every key of {@code connectionId}. */
    record ForgetSender(String connectionId) implements GroupOutput {
        public ForgetSender {
            Objects.requireNonNull(connectionId, "connectionId");
        }
    }

    /**
     * An input was refused and changed nothing; {@code from} is the connection it concerned. For the SDK's
     * {@code e2ee} error event; never contains key material.
     */
    record Rejected(String from, RejectReason reason, String detail) implements GroupOutput {
        public Rejected {
            Objects.requireNonNull(reason, "reason");
        }
    }
}
