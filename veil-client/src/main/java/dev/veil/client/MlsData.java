package dev.veil.client;

import dev.veil.e2ee.codec.FrameCryptoException;
import dev.veil.e2ee.key.KeyId;
import dev.veil.e2ee.mls.MlsEpochKeys;
import dev.veil.e2ee.mls.MlsFrameCrypto;
import dev.veil.e2ee.mls.MlsGroupSession;
import dev.veil.e2ee.mls.MlsKid;
import dev.veil.e2ee.mls.MlsMember;
import dev.veil.e2ee.sframe.SFrameHeader;
import dev.veil.e2ee.util.SecretBytes;
import java.util.Arrays;
import java.util.OptionalLong;

/**
 * Data messages in the MLS key mode (docs/PROTOCOL.md §4.10): the format of §1.7 ({@link DataCrypto}, suite
 * AES_128_CTR_HMAC_SHA256_80), keyed per epoch from {@code MLS-Exporter("Veil 1.0 data", "", 16)} — a label of its
 * own, so the data base key is independent of the frames' {@code "SFrame 1.0 Base Key"} — under each sender's frame
 * KID of that epoch (so every sender has its own key and salt). Per epoch one {@link DataCrypto} holding, per sender
 * connection, only that sender's KID: a message the server re-attributes to another connection finds no key. The
 * previous epoch stays usable for {@link MlsFrameCrypto#DEFAULT_GRACE_MILLIS} after a switch, then is deleted.
 * Sans-IO, loop thread only.
 */
final class MlsData implements DataOpener {
    static final String EXPORTER_LABEL = "Veil 1.0 data";
    static final int BASE_KEY_LENGTH = 16;

    private record Slot(long epoch, DataCrypto crypto) {
    }

    private Slot current;
    private Slot previous;
    private long previousExpiresAt = Long.MAX_VALUE;

    /** The group entered {@code keys.epoch()}: its data keys are installed and used for sending from now on. */
    void install(MlsGroupSession group, MlsEpochKeys keys, long now) {
        byte[] raw = group.export(EXPORTER_LABEL, new byte[0], BASE_KEY_LENGTH);
        SecretBytes base = SecretBytes.copyOf(raw);
        Arrays.fill(raw, (byte) 0);
        try {
            DataCrypto c = new DataCrypto();
            c.setSendKey(kid(keys.ownLeaf(), keys), base);
            for (MlsMember m : keys.roster()) {
                if (m.leafIndex() != keys.ownLeaf()) {
                    c.installKey(m.connectionId(), kid(m.leafIndex(), keys), base, now);
                }
            }
            if (previous != null) {
                previous.crypto().destroy();
            }
            previous = current;
            previousExpiresAt = previous == null ? Long.MAX_VALUE : now + MlsFrameCrypto.DEFAULT_GRACE_MILLIS;
            current = new Slot(keys.epoch(), c);
        } finally {
            base.destroy();
        }
    }

    private static KeyId kid(long leaf, MlsEpochKeys keys) {
        return KeyId.fromKid(MlsKid.kid(leaf, keys.epoch(), keys.indexBits()));
    }

    /** Seals one message for {@code to} (null: everyone) under this member's KID of the newest epoch. */
    byte[] seal(String to, byte kind, byte[] body) throws FrameCryptoException {
        if (current == null) {
            throw new FrameCryptoException("no MLS epoch yet: data cannot be encrypted");
        }
        return current.crypto().seal(to, kind, body);
    }

    /** The opened message, or the name of the rejection (NO_KEY, AUTHENTICATION_FAILED, REPLAYED, MALFORMED...). */
    @Override
    public Object open(String from, String to, byte[] payload, long now) {
        long kid;
        try {
            kid = SFrameHeader.decode(payload, 0, payload.length).kid();
        } catch (SFrameHeader.MalformedHeaderException | RuntimeException e) {
            return "MALFORMED";
        }
        long epochBits = kid & ((1L << MlsKid.EPOCH_BITS) - 1);
        for (Slot s : new Slot[] {current, previous}) {
            if (s != null && (s.epoch() & ((1L << MlsKid.EPOCH_BITS) - 1)) == epochBits) {
                return s.crypto().open(from, to, payload, now);
            }
        }
        return "NO_KEY";
    }

    OptionalLong nextTimeoutMillis() {
        return previous == null ? OptionalLong.empty() : OptionalLong.of(previousExpiresAt);
    }

    void handleTimeout(long now) {
        if (previous != null && now >= previousExpiresAt) {
            previous.crypto().destroy();
            previous = null;
            previousExpiresAt = Long.MAX_VALUE;
        }
    }

    /** Deletes every data key (removed, refused a commit, alone, or closed). */
    void destroy() {
        for (Slot s : new Slot[] {current, previous}) {
            if (s != null) {
                s.crypto().destroy();
            }
        }
        current = null;
        previous = null;
        previousExpiresAt = Long.MAX_VALUE;
    }
}
