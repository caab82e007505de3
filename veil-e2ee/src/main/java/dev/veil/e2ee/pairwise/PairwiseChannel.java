package dev.veil.e2ee.pairwise;

import dev.veil.e2ee.identity.Bundle;
import dev.veil.e2ee.identity.ConnectionIds;
import dev.veil.e2ee.identity.Identity;
import dev.veil.e2ee.kdf.Hkdf;
import dev.veil.e2ee.pairwise.PairwiseException.Reason;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.InvalidKeyException;
import java.util.Arrays;
import java.util.Objects;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * The authenticated, encrypted channel between two members over which they send each other key messages. One per
 * (own connection, peer connection); it lives as long as both connections and dies with them ({@link #destroy()}).
 *
 * <pre>
 *   shared        = X25519(own kx private key, peer kx_key)               (all-zero result: rejected)
 *   party(P)      = len(cid_P) (uint8) ‖ cid_P (UTF-8) ‖ identity_key_P (32) ‖ kx_key_P (32)
 *   key(X → Y)    = HKDF-SHA256(salt = "", IKM = shared,
 *                               info = "Veil 1.0 pairwise key" ‖ party(X) ‖ party(Y), L = 32)
 * </pre>
 *
 * Messages from X to Y are sealed with AES-256-GCM under key(X → Y) in the {@link PairwiseMessage} format. Each
 * direction has its own key and its own sequence number, starting at 0 and incremented by one per message; the
 * receiver accepts a message only if its sequence number is strictly larger than the last one it accepted. Gaps are
 * allowed (a message the relay dropped does not block the ones after it), replays and reorderings are rejected.
 * A sequence number is only consumed by a message whose tag verified.
 *
 * <p>Both connection ids and both identity and kx keys are in the key derivation, so a message sealed for one pair
 * of connections never opens in another, and both ids are also in the authenticated header. Not thread-safe.
 */
public final class PairwiseChannel {
    /**
     * What a channel carries. Each purpose has its own key label and envelope kind, so two channels of different
     * purposes between the same pair never share a key (their sequence numbers are independent) and a message of
     * one never opens in the other.
     */
    public enum Purpose {
        /** Key messages (§3.4): label "Veil 1.0 pairwise key", kind 1. */
        KEYS("Veil 1.0 pairwise key", PairwiseMessage.KIND_SEALED),
        /** Device certificates (§3.2): label "Veil 1.0 pairwise device", kind 2. */
        DEVICE("Veil 1.0 pairwise device", PairwiseMessage.KIND_DEVICE);

        final byte[] label;
        final int kind;

        Purpose(String label, int kind) {
            this.label = label.getBytes(StandardCharsets.US_ASCII);
            this.kind = kind;
        }

        /** The envelope's kind byte. */
        public int kind() {
            return kind;
        }
    }

    /** The kind byte of a relay payload (its second byte), or -1 if it has none: which channel it is for. */
    public static int kindOf(byte[] payload) {
        return payload == null || payload.length < 2 ? -1 : payload[1] & 0xFF;
    }

    private final String self;
    private final String peer;
    private final byte[] sendKey;
    private final byte[] receiveKey;
    private long nextSendSeq;
    private long lastReceivedSeq = -1;
    private boolean destroyed;

    private final Purpose purpose;

    private PairwiseChannel(Purpose purpose, String self, String peer, byte[] sendKey, byte[] receiveKey) {
        this.purpose = purpose;
        this.self = self;
        this.peer = peer;
        this.sendKey = sendKey;
        this.receiveKey = receiveKey;
    }

    /**
     * Sets up the channel from the own identity and connection id and the peer's bundle.
     *
     * @throws PairwiseException {@code BAD_BUNDLE} if the peer's signature does not verify or the peer has the own
     *     connection id; {@code BAD_KEY} if X25519 gives the all-zero secret
     */
    public static PairwiseChannel create(Identity self, String selfConnectionId, Bundle peer)
            throws PairwiseException {
        return create(Purpose.KEYS, self, selfConnectionId, peer);
    }

    /** As {@link #create(Identity, String, Bundle)}, for a channel of the given purpose. */
    public static PairwiseChannel create(Purpose purpose, Identity self, String selfConnectionId, Bundle peer)
            throws PairwiseException {
        Objects.requireNonNull(purpose, "purpose");
        Objects.requireNonNull(self, "self");
        Objects.requireNonNull(peer, "peer");
        ConnectionIds.requireValid(selfConnectionId);
        if (peer.connectionId().equals(selfConnectionId)) {
            throw new PairwiseException(Reason.BAD_BUNDLE, "peer has the own connection id");
        }
        if (!peer.verify()) {
            throw new PairwiseException(Reason.BAD_BUNDLE, "bundle signature does not verify");
        }
        byte[] shared;
        try {
            shared = self.agree(peer.kxKey());
        } catch (InvalidKeyException e) {
            throw new PairwiseException(Reason.BAD_KEY, e.getMessage());
        }
        try {
            return fromShared(purpose, selfConnectionId, self.identityKey(), self.kxKey(), peer, shared);
        } finally {
            Arrays.fill(shared, (byte) 0);
        }
    }

    /** The channel from an X25519 result already computed (tests reuse shared secrets to run faster). */
    static PairwiseChannel fromShared(String selfConnectionId, byte[] selfIdentityKey, byte[] selfKxKey, Bundle peer,
                                      byte[] shared) {
        return fromShared(Purpose.KEYS, selfConnectionId, selfIdentityKey, selfKxKey, peer, shared);
    }

    static PairwiseChannel fromShared(Purpose purpose, String selfConnectionId, byte[] selfIdentityKey,
                                      byte[] selfKxKey, Bundle peer, byte[] shared) {
        byte[] own = party(selfConnectionId, selfIdentityKey, selfKxKey);
        byte[] other = party(peer.connectionId(), peer.identityKey(), peer.kxKey());
        return new PairwiseChannel(purpose, selfConnectionId, peer.connectionId(),
                directionKey(purpose.label, shared, own, other), directionKey(purpose.label, shared, other, own));
    }

    /** {@code len ‖ cid ‖ identity key ‖ kx key}. */
    static byte[] party(String connectionId, byte[] identityKey, byte[] kxKey) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(ConnectionIds.lengthPrefixed(connectionId));
        b.writeBytes(identityKey);
        b.writeBytes(kxKey);
        return b.toByteArray();
    }

    /** key(X → Y) from the shared secret and party(X), party(Y). */
    static byte[] directionKey(byte[] shared, byte[] senderParty, byte[] receiverParty) {
        return directionKey(Purpose.KEYS.label, shared, senderParty, receiverParty);
    }

    static byte[] directionKey(byte[] label, byte[] shared, byte[] senderParty, byte[] receiverParty) {
        byte[] info = new byte[label.length + senderParty.length + receiverParty.length];
        System.arraycopy(label, 0, info, 0, label.length);
        System.arraycopy(senderParty, 0, info, label.length, senderParty.length);
        System.arraycopy(receiverParty, 0, info, label.length + senderParty.length, receiverParty.length);
        return Hkdf.SHA256.derive(new byte[0], shared, info, 32);
    }

    /** The peer's connection id. */
    public String peerConnectionId() {
        return peer;
    }

    /** The own connection id. */
    public String selfConnectionId() {
        return self;
    }

    /**
     * Seals {@code plaintext} as the next message to the peer.
     *
     * @throws IllegalStateException once destroyed, or after 2^32 messages in this direction
     */
    public byte[] seal(byte[] plaintext) {
        Objects.requireNonNull(plaintext, "plaintext");
        checkLive();
        if (nextSendSeq > PairwiseMessage.MAX_SEQ) {
            throw new IllegalStateException("pairwise sequence numbers exhausted");
        }
        long seq = nextSendSeq++;
        byte[] header = PairwiseMessage.header(purpose.kind, self, peer, seq);
        if (header.length + plaintext.length + PairwiseMessage.TAG_LENGTH > PairwiseMessage.MAX_LENGTH) {
            throw new IllegalArgumentException("plaintext too long for a pairwise message");
        }
        try {
            Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
            c.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(sendKey, "AES"),
                    new GCMParameterSpec(128, PairwiseMessage.nonce(seq)));
            c.updateAAD(header);
            byte[] out = Arrays.copyOf(header, header.length + plaintext.length + PairwiseMessage.TAG_LENGTH);
            c.doFinal(plaintext, 0, plaintext.length, out, header.length);
            return out;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM unavailable", e); // every Java 17 runtime has it
        }
    }

    /**
     * Opens a message from the peer and returns its plaintext.
     *
     * @throws PairwiseException with the reason; the channel's state is unchanged
     * @throws IllegalStateException once destroyed
     */
    public byte[] open(byte[] message) throws PairwiseException {
        checkLive();
        PairwiseMessage m = PairwiseMessage.decode(message, purpose.kind);
        if (!m.recipient().equals(self)) {
            throw new PairwiseException(Reason.WRONG_RECIPIENT, "addressed to another connection");
        }
        if (!m.sender().equals(peer)) {
            throw new PairwiseException(Reason.WRONG_SENDER, "not from this channel's peer");
        }
        if (m.seq() <= lastReceivedSeq) {
            throw new PairwiseException(Reason.REPLAY, "sequence number " + m.seq() + " not above " + lastReceivedSeq);
        }
        byte[] plaintext;
        try {
            Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
            c.init(Cipher.DECRYPT_MODE, new SecretKeySpec(receiveKey, "AES"),
                    new GCMParameterSpec(128, PairwiseMessage.nonce(m.seq())));
            c.updateAAD(m.header());
            plaintext = c.doFinal(m.ciphertext());
        } catch (AEADBadTagException e) {
            throw new PairwiseException(Reason.BAD_TAG, "authentication failed");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM unavailable", e);
        }
        lastReceivedSeq = m.seq();
        return plaintext;
    }

    /** Overwrites both direction keys; later seal/open throw {@link IllegalStateException}. */
    public void destroy() {
        destroyed = true;
        Arrays.fill(sendKey, (byte) 0);
        Arrays.fill(receiveKey, (byte) 0);
    }

    public boolean isDestroyed() {
        return destroyed;
    }

    private void checkLive() {
        if (destroyed) {
            throw new IllegalStateException("pairwise channel has been destroyed");
        }
    }

    @Override
    public String toString() {
        return "PairwiseChannel[" + self + " <-> " + peer + (destroyed ? ", destroyed]" : "]");
    }
}
