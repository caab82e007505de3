package dev.veil.e2ee.mls;

import dev.veil.e2ee.codec.DecryptResult;
import dev.veil.e2ee.codec.FrameCryptoException;
import dev.veil.e2ee.codec.Rejection;
import dev.veil.e2ee.key.KeyId;
import dev.veil.e2ee.sframe.CipherSuite;
import dev.veil.e2ee.sframe.SFrameHeader;
import dev.veil.e2ee.sframe.SFrameReceiver;
import dev.veil.e2ee.sframe.SFrameSender;
import dev.veil.e2ee.util.SecretBytes;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalLong;

/**
 * The SFrame layer of the MLS key mode (RFC 9605 §5.2), sans-IO. Each epoch the group enters is
 * {@link #install installed}: from then on this member sends under its own KID of that epoch (no gap: the new key is
 * used as soon as the commit is applied), and receives under the KIDs of that epoch's members. The previous epoch's
 * keys stay usable for {@link #graceMillis()} after the switch, for frames still in flight, and are then deleted; at
 * most the current and the previous epoch are ever held. A frame whose KID names an epoch not held, an index that
 * is not a member of that epoch, this member's own index, or a context other than 0 is rejected ({@link Rejection#NO_KEY})
 * before any key derivation, so forged KIDs cannot grow the state.
 *
 * <p>Per sender and epoch one {@link SFrameReceiver} (one key, its own replay window) decrypts. Not thread-safe.
 */
public final class MlsFrameCrypto {
    /** How long the previous epoch's keys stay usable after the switch, unless told otherwise. */
    public static final long DEFAULT_GRACE_MILLIS = 2_000;

    private final CipherSuite suite;
    private final long graceMillis;
    private final SFrameSender sender;
    private Slot current;
    private Slot previous;

    private static final class Slot {
        final MlsEpochKeys keys;
        final byte[] baseKey;
        final Map<Long, SFrameReceiver> receivers = new HashMap<>();
        long expiresAt = Long.MAX_VALUE;

        Slot(MlsEpochKeys keys) {
            this.keys = keys;
            this.baseKey = keys.baseKey().toByteArray();
        }

        void destroy() {
            java.util.Arrays.fill(baseKey, (byte) 0);
            for (SFrameReceiver r : receivers.values()) {
                r.clearKeys();
            }
            receivers.clear();
        }
    }

    public MlsFrameCrypto(CipherSuite suite) {
        this(suite, DEFAULT_GRACE_MILLIS);
    }

    public MlsFrameCrypto(CipherSuite suite, long graceMillis) {
        this.suite = Objects.requireNonNull(suite, "suite");
        if (graceMillis < 0 || graceMillis > 60_000) {
            throw new IllegalArgumentException("grace must be 0..60000 ms");
        }
        this.graceMillis = graceMillis;
        this.sender = new SFrameSender(suite);
    }

    public CipherSuite suite() {
        return suite;
    }

    public long graceMillis() {
        return graceMillis;
    }

    /**
     * Switches to a new epoch: sends under it from now on; the epoch held so far stays receivable until
     * {@code nowMillis + grace}; anything older is deleted at once.
     *
     * @throws IllegalArgumentException if {@code keys} is not newer than the current epoch
     */
    public void install(MlsEpochKeys keys, long nowMillis) {
        Objects.requireNonNull(keys, "keys");
        if (current != null && keys.epoch() <= current.keys.epoch()) {
            throw new IllegalArgumentException("epoch " + keys.epoch() + " is not after " + current.keys.epoch());
        }
        if (previous != null) {
            previous.destroy();
        }
        previous = current;
        if (previous != null) {
            previous.expiresAt = satAdd(nowMillis, graceMillis);
            if (MlsKid.epochBits(previous.keys.epoch()) == MlsKid.epochBits(keys.epoch())) {
                previous.destroy(); // same low E bits: the old epoch is removed (RFC 9605 §5.2)
                previous = null;
            }
        }
        current = new Slot(keys);
        long kid = MlsKid.kid(keys.ownLeaf(), keys.epoch(), keys.indexBits());
        sender.setKey(KeyId.fromKid(kid), SecretBytes.copyOf(current.baseKey));
        handleTimeout(nowMillis);
    }

    /** The epoch frames are sent under, if any. */
    public OptionalLong currentEpoch() {
        return current == null ? OptionalLong.empty() : OptionalLong.of(current.keys.epoch());
    }

    /** Whether the previous epoch is still receivable. */
    public boolean holdsPreviousEpoch() {
        return previous != null;
    }

    /** The sender (this member's KID of the current epoch); use it for every outgoing stream. */
    public SFrameSender sender() {
        if (current == null) {
            throw new IllegalStateException("no epoch installed");
        }
        return sender;
    }

    /** Encrypts {@code plaintext} with AAD = header ‖ metadata. */
    public byte[] encrypt(byte[] metadata, byte[] plaintext) throws FrameCryptoException {
        return sender().encrypt(metadata, plaintext);
    }

    /**
     * The receiver for the KID of the frame {@code in[off, off + len)}, or empty with the reason in
     * {@code reason[0]} when the KID is not acceptable (see the class comment).
     */
    public java.util.Optional<SFrameReceiver> receiverFor(byte[] in, int off, int len, long nowMillis,
                                                          Rejection[] reason) {
        handleTimeout(nowMillis);
        long kid;
        try {
            kid = SFrameHeader.decode(in, off, len).kid();
        } catch (SFrameHeader.MalformedHeaderException e) {
            reason[0] = Rejection.MALFORMED_HEADER;
            return java.util.Optional.empty();
        }
        Slot slot = slotFor(kid);
        if (slot == null) {
            reason[0] = Rejection.NO_KEY;
            return java.util.Optional.empty();
        }
        int s = slot.keys.indexBits();
        long index = MlsKid.senderIndex(kid, s);
        if (MlsKid.context(kid, s) != 0 || index == slot.keys.ownLeaf() || index > Integer.MAX_VALUE
                || !slot.keys.senders().get((int) index)) {
            reason[0] = Rejection.NO_KEY;
            return java.util.Optional.empty();
        }
        SFrameReceiver r = slot.receivers.get(kid);
        if (r == null) {
            r = new SFrameReceiver(suite, 1);
            r.addKey(KeyId.fromKid(kid), SecretBytes.copyOf(slot.baseKey), nowMillis);
            slot.receivers.put(kid, r);
        }
        return java.util.Optional.of(r);
    }

    /**
     * The credential identity of the member whose KID the header at {@code in[off..)} carries, in the epoch that KID
     * names, or null (no such epoch or member). Lets a caller check that a frame came in on that member's stream.
     */
    public byte[] senderIdentity(byte[] in, int off, int len) {
        long kid;
        try {
            kid = SFrameHeader.decode(in, off, len).kid();
        } catch (SFrameHeader.MalformedHeaderException e) {
            return null;
        }
        Slot slot = slotFor(kid);
        return slot == null ? null : slot.keys.identityOf(MlsKid.senderIndex(kid, slot.keys.indexBits()));
    }

    /** Decrypts a whole-frame SFrame ciphertext (AAD = header ‖ metadata); null if it is rejected. */
    public byte[] decrypt(byte[] metadata, byte[] in, long nowMillis) {
        Rejection[] why = new Rejection[1];
        java.util.Optional<SFrameReceiver> r = receiverFor(in, 0, in.length, nowMillis, why);
        if (r.isEmpty()) {
            return null;
        }
        byte[] out = new byte[r.get().maxDecryptedLength(in.length)];
        DecryptResult res = r.get().decrypt(metadata, 0, metadata.length, in, 0, in.length, out, 0, nowMillis);
        if (res instanceof DecryptResult.Decrypted d) {
            return java.util.Arrays.copyOf(out, d.length());
        }
        return null;
    }

    private Slot slotFor(long kid) {
        int low = MlsKid.epochBits(kid);
        if (current != null && MlsKid.epochBits(current.keys.epoch()) == low) {
            return current;
        }
        if (previous != null && MlsKid.epochBits(previous.keys.epoch()) == low) {
            return previous;
        }
        return null;
    }

    /** When the previous epoch's keys are due for deletion, if they are held. */
    public OptionalLong nextTimeoutMillis() {
        return previous == null ? OptionalLong.empty() : OptionalLong.of(previous.expiresAt);
    }

    /** Deletes the previous epoch's keys once their grace is over. */
    public void handleTimeout(long nowMillis) {
        if (previous != null && nowMillis >= previous.expiresAt) {
            previous.destroy();
            previous = null;
        }
    }

    /** Deletes every key (leaving the call, or removed from the group). */
    public void destroy() {
        List<Slot> all = new ArrayList<>();
        if (current != null) {
            all.add(current);
        }
        if (previous != null) {
            all.add(previous);
        }
        for (Slot s : all) {
            s.destroy();
        }
        current = null;
        previous = null;
    }

    private static long satAdd(long a, long b) {
        long r = a + b;
        return ((a ^ r) & (b ^ r)) < 0 ? Long.MAX_VALUE : r;
    }

    @Override
    public String toString() {
        return "MlsFrameCrypto[epoch=" + (current == null ? "none" : current.keys.epoch()) + ", previous="
                + (previous == null ? "none" : previous.keys.epoch()) + "]";
    }
}
