package dev.veil.client;

import dev.veil.e2ee.codec.Codec;
import dev.veil.e2ee.codec.DecryptResult;
import dev.veil.e2ee.codec.FrameCryptoException;
import dev.veil.e2ee.codec.FrameType;
import dev.veil.e2ee.key.KeyId;
import dev.veil.e2ee.sframe.SFrameReceiver;
import dev.veil.e2ee.sframe.SFrameSender;
import dev.veil.e2ee.util.SecretBytes;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/**
 * The frame layer of an {@link E2eeSession}: one {@link SFrameSender} for this member (every outgoing stream shares
 * its CTR), one {@link SFrameReceiver} per remote sender, the frames held while their key is missing, and the
 * rate-limited reports of dropped frames. Keys come from the session (its key manager or the passphrase); confined
 * to the connection's event-loop thread like the session.
 */
final class E2eeFrames {
    private static final long ERROR_INTERVAL_MILLIS = 1_000;

    private final SFrameSender sender = new SFrameSender(E2eeSession.SUITE);
    private final Map<String, SFrameReceiver> receivers = new HashMap<>();
    private final Map<String, long[]> errorState = new HashMap<>(); // sender|reason -> {last report, suppressed}
    private final HeldFrames held = new HeldFrames(E2eeSession.HOLD_MAX_FRAMES, E2eeSession.HOLD_MAX_BYTES);
    private final Consumer<E2eeEvent> events;
    private final BiConsumer<String, byte[]> released;

    /** @param released receives (sender, decrypted frame) for held frames that decrypted once their key arrived */
    E2eeFrames(Consumer<E2eeEvent> events, BiConsumer<String, byte[]> released) {
        this.events = events;
        this.released = released;
    }

    // ------------------------------------------------------------------------------------------ keys

    /** This member's send key from now on. */
    void setSendKey(KeyId id, SecretBytes baseKey) {
        sender.setKey(id, baseKey);
    }

    /** A key of {@code senderId} (from the key manager). */
    void installKey(String senderId, KeyId id, SecretBytes baseKey, long now) {
        receiver(senderId).addKey(id, baseKey, now);
    }

    /** Passphrase mode: the sender's P, from which its frame keys are derived. */
    void setPassphraseKey(String senderId, SecretBytes p) {
        receiver(senderId).setPassphraseKey(p);
    }

    private SFrameReceiver receiver(String senderId) {
        return receivers.computeIfAbsent(senderId, x -> new SFrameReceiver(E2eeSession.SUITE));
    }

    /** Drops the receiver of {@code senderId} and wipes its keys. */
    void removeReceiver(String senderId) {
        SFrameReceiver r = receivers.remove(senderId);
        if (r != null) {
            r.clearKeys();
        }
    }

    /**
     * A member left (key manager): its receiver and held frames go, and every key held now of every other sender
     * expires at {@code expireAt} (the departed member may know them).
     */
    void forgetSender(String senderId, long now, long expireAt) {
        removeReceiver(senderId);
        held.drop(senderId);
        for (SFrameReceiver other : receivers.values()) {
            other.expireInstalledKeys(now, expireAt);
        }
    }

    // ------------------------------------------------------------------------------------------ frames

    byte[] encrypt(Codec codec, FrameType type, byte[] frame) throws FrameCryptoException {
        return sender.encryptFrame(codec, type, frame);
    }

    /**
     * Decrypts one Opus frame of {@code senderId}; null if it does not decrypt (held while its key is missing, else
     * dropped and reported, at most once per second per sender and reason).
     */
    byte[] decryptOpus(String senderId, byte[] frame, long now) {
        if (held.has(senderId)) {
            retryHeld(senderId, now);
            if (held.has(senderId)) {
                hold(senderId, frame, now); // behind the frames still waiting: order kept
                return null;
            }
        }
        Object r = tryDecrypt(senderId, frame, now, Codec.OPUS);
        if (r instanceof byte[] plain) {
            return plain;
        }
        if ("NO_KEY".equals(r) && hold(senderId, frame, now)) {
            return null;
        }
        frameError(senderId, (String) r, now);
        return null;
    }

    /** Decrypts one VP8 frame of {@code senderId}; null if it does not decrypt (dropped and reported, never held). */
    byte[] decryptVp8(String senderId, byte[] frame, long now) {
        Object r = tryDecrypt(senderId, frame, now, Codec.VP8);
        if (r instanceof byte[] plain) {
            return plain;
        }
        frameError(senderId, (String) r, now);
        return null;
    }

    /** The plaintext, or the rejection reason's name. */
    private Object tryDecrypt(String senderId, byte[] frame, long now, Codec codec) {
        SFrameReceiver r = receivers.get(senderId);
        if (r == null) {
            return "NO_KEY";
        }
        byte[] out = new byte[Math.max(frame.length, r.maxDecryptedLength(frame.length))];
        DecryptResult res = r.decryptFrame(codec, FrameType.UNSPECIFIED, frame, 0, frame.length, out, 0, now);
        if (res instanceof DecryptResult.Decrypted d) {
            return Arrays.copyOf(out, d.length());
        }
        Arrays.fill(out, (byte) 0);
        return ((DecryptResult.Rejected) res).reason().name();
    }

    /** Holds a frame that came before its key, if the bounds allow (checked before the copy). */
    private boolean hold(String senderId, byte[] frame, long now) {
        if (!held.add(senderId, frame, now)) {
            frameError(senderId, "NO_KEY", now); // dropped and reported
        }
        return true;
    }

    /** Retries the held frames of a sender in order: each is released, dropped, or (no key yet, young) kept. */
    void retryHeld(String senderId, long now) {
        for (HeldFrames.Held h; (h = held.first(senderId)) != null; ) {
            boolean expired = now - h.at() >= E2eeSession.HOLD_MILLIS;
            Object r = tryDecrypt(senderId, h.frame(), now, Codec.OPUS);
            if ("NO_KEY".equals(r) && !expired) {
                return;
            }
            held.removeFirst(senderId);
            if (r instanceof byte[] plain) {
                released.accept(senderId, plain);
            } else {
                frameError(senderId, (String) r, now);
            }
        }
    }

    /** Retries every sender's held frames (a timeout: expired ones are dropped and reported). */
    void retryAllHeld(long now) {
        for (String s : held.senders()) {
            retryHeld(s, now);
        }
    }

    /** When the oldest held frame expires, or {@code Long.MAX_VALUE}. */
    long heldDeadline() {
        long oldest = held.oldest();
        return oldest == Long.MAX_VALUE ? Long.MAX_VALUE : oldest + E2eeSession.HOLD_MILLIS;
    }

    /** Tests only: frames held now. */
    int heldCount() {
        return held.count();
    }

    private void frameError(String senderId, String reason, long now) {
        long[] st = errorState.computeIfAbsent(senderId + "|" + reason, k -> new long[] {Long.MIN_VALUE, 0});
        if (st[0] != Long.MIN_VALUE && now - st[0] < ERROR_INTERVAL_MILLIS) {
            st[1]++;
            return;
        }
        long suppressed = st[1];
        st[0] = now;
        st[1] = 0;
        events.accept(new E2eeEvent.Error("frames", reason, senderId, "frame dropped", suppressed));
    }

    /** Wipes the send key (replaced by a random one: SFrameSender has no destroy), every receive key, held frames. */
    void destroy(SecureRandom random) {
        SecretBytes junk = SecretBytes.random(32, random);
        sender.setKey(new KeyId(0, 0), junk);
        junk.destroy();
        for (SFrameReceiver r : receivers.values()) {
            r.clearKeys();
        }
        receivers.clear();
        for (String s : held.senders()) {
            held.drop(s);
        }
    }
}
