package dev.veil.client;

import dev.veil.e2ee.codec.Codec;
import dev.veil.e2ee.codec.DecryptResult;
import dev.veil.e2ee.codec.FrameCryptoException;
import dev.veil.e2ee.codec.FrameType;
import dev.veil.e2ee.codec.Rejection;
import dev.veil.e2ee.mls.MlsCredential;
import dev.veil.e2ee.mls.MlsEpochKeys;
import dev.veil.e2ee.mls.MlsFrameCrypto;
import dev.veil.e2ee.mls.MlsGroupSession;
import dev.veil.e2ee.sframe.SFrameReceiver;
import java.util.Arrays;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * The MLS key mode's media frames (docs/PROTOCOL.md §4.4) and data messages (§4.10) under the keys of the group's
 * epochs, for {@link MlsSession}, which installs each epoch's keys and says when sending is held. A received frame
 * or message that does not decrypt is dropped and reported. Loop thread only.
 */
final class MlsMediaKeys {
    /** Where drops are reported: {@code (source, reason, from, detail, now)}. */
    @FunctionalInterface
    interface Errors {
        void error(String source, String reason, String from, String detail, long now);
    }

    private final MlsFrameCrypto frames = new MlsFrameCrypto(MlsSession.SUITE);
    private final MlsData data = new MlsData();
    private final Errors errors;
    private boolean closed;

    MlsMediaKeys(Errors errors) {
        this.errors = errors;
    }

    /** The group entered {@code keys.epoch()}: frames and data are sent under it from now on. */
    void install(MlsGroupSession group, MlsEpochKeys keys, long now) {
        frames.install(keys, now);
        data.install(group, keys, now);
    }

    /** Deletes the frame keys (this member was removed: it neither sends nor receives frames). */
    void destroyFrameKeys() {
        frames.destroy();
    }

    /** Deletes every key (a new group, a refused commit, a group of one); the next epoch installs new ones. */
    void destroyKeys() {
        frames.destroy();
        data.destroy();
    }

    /** The session ends: every key is deleted and nothing is sent or received any more. */
    void close() {
        closed = true;
        destroyKeys();
    }

    /**
     * Seals one frame under this member's key of the current epoch.
     *
     * @param held why sending is held, or null
     */
    byte[] encrypt(Codec codec, FrameType type, byte[] frame, String held) throws FrameCryptoException {
        if (closed || frames.currentEpoch().isEmpty()) {
            throw new FrameCryptoException("no MLS epoch to send under");
        }
        if (held != null) {
            throw new FrameCryptoException("sending held: " + held);
        }
        return frames.sender().encryptFrame(codec, type, frame);
    }

    /** A received frame of {@code senderId}, decrypted; null if dropped (reported). */
    byte[] decrypt(Codec codec, String senderId, byte[] frame, long now) {
        if (closed || frame.length < 1) {
            return null;
        }
        int off = codec.clearPrefixLength(frame, 0, frame.length, FrameType.UNSPECIFIED);
        byte[] identity = frames.senderIdentity(frame, off, frame.length - off);
        if (identity == null) {
            errors.error("frames", Rejection.NO_KEY.name(), senderId, "no key for this KID", now);
            return null;
        }
        if (!MlsCredential.connectionId(identity).equals(senderId)) {
            errors.error("frames", "SENDER_MISMATCH", senderId, "the KID names another member", now);
            return null;
        }
        Rejection[] why = new Rejection[1];
        Optional<SFrameReceiver> r = frames.receiverFor(frame, off, frame.length - off, now, why);
        if (r.isEmpty()) {
            errors.error("frames", why[0].name(), senderId, "", now);
            return null;
        }
        byte[] out = new byte[frame.length];
        DecryptResult res = r.get().decryptFrame(codec, FrameType.UNSPECIFIED, frame, 0, frame.length, out, 0, now);
        if (res instanceof DecryptResult.Decrypted d) {
            return Arrays.copyOf(out, d.length());
        }
        errors.error("frames", ((DecryptResult.Rejected) res).reason().name(), senderId, "", now);
        return null;
    }

    /** Seals a data message; refused while sending is held. */
    byte[] sealData(String to, byte kind, byte[] body, boolean held) throws FrameCryptoException {
        if (closed || held) {
            throw new FrameCryptoException("no MLS epoch to send data under" + (held ? " (sending held)" : ""));
        }
        return data.seal(to, kind, body);
    }

    /** Opens a data message, or reports why it was dropped and returns null. */
    DataCrypto.Opened openData(String from, String to, byte[] payload, long now) {
        return closed ? null : data.openOrDrop(from, to, payload, now,
                why -> errors.error("data", why, from, DataOpener.DROPPED, now));
    }

    /** When {@link #handleTimeout} should run next (a previous epoch's keys expire), or MAX_VALUE. */
    long nextTimeoutMillis() {
        OptionalLong f = frames.nextTimeoutMillis();
        OptionalLong d = data.nextTimeoutMillis();
        return Math.min(f.orElse(Long.MAX_VALUE), d.orElse(Long.MAX_VALUE));
    }

    void handleTimeout(long now) {
        frames.handleTimeout(now);
        data.handleTimeout(now);
    }
}
