package dev.veil.e2ee.group;

import dev.veil.e2ee.key.KeyId;
import dev.veil.e2ee.key.KeyRatchet;
import dev.veil.e2ee.util.SecretBytes;
import java.util.Objects;

/**
 * A key message, the plaintext of a sealed pairwise message (docs/PROTOCOL.md §3.4).
 *
 * <pre>
 *    0          1          2                                  10                         42
 *   +----------+----------+----------------------------------+--------------------------+
 *   | type = 1 | flags    | KID (uint64, big-endian)         | base key (32 bytes)      |   KEY
 *   +----------+----------+----------------------------------+--------------------------+
 *   | type = 2 | flags = 0| KID (uint64, big-endian)         |                                KEY_ACK (10 bytes)
 *   +----------+----------+----------------------------------+
 *
 *   flags (KEY): bit 0 (0x01) = ACTIVE: the sender already encrypts with this key;
 *                clear = PENDING: the sender will switch to it once every member acknowledged it.
 *                All other bits are zero. KID = generation &lt;&lt; 8 | step (see KeyId).
 * </pre>
 *
 * The key in a KEY message is always the <em>sender's own</em> media base key; nobody forwards another member's
 * key. A message of any other length, type or flag bit is malformed.
 */
public sealed interface KeyMessage permits KeyMessage.Key, KeyMessage.KeyAck {
    int TYPE_KEY = 1;
    int TYPE_KEY_ACK = 2;
    int FLAG_ACTIVE = 0x01;
    int KEY_LENGTH = 42;
    int KEY_ACK_LENGTH = 10;

    /** The id of the key this message is about. */
    KeyId keyId();

    /** The wire bytes. */
    byte[] encode();

    /** The sender's base key {@code keyId}; {@code active} says whether the sender already uses it. */
    record Key(KeyId keyId, SecretBytes baseKey, boolean active) implements KeyMessage {
        public Key {
            Objects.requireNonNull(keyId, "keyId");
            Objects.requireNonNull(baseKey, "baseKey");
            if (baseKey.size() != KeyRatchet.BASE_KEY_LENGTH) {
                throw new IllegalArgumentException("base key must be 32 bytes");
            }
        }

        @Override
        public byte[] encode() {
            byte[] out = new byte[KEY_LENGTH];
            out[0] = TYPE_KEY;
            out[1] = (byte) (active ? FLAG_ACTIVE : 0);
            putKid(out, keyId);
            byte[] k = baseKey.toByteArray();
            System.arraycopy(k, 0, out, 10, 32);
            java.util.Arrays.fill(k, (byte) 0);
            return out;
        }
    }

    /** Acknowledges a PENDING key of the receiver of this ack. */
    record KeyAck(KeyId keyId) implements KeyMessage {
        public KeyAck {
            Objects.requireNonNull(keyId, "keyId");
        }

        @Override
        public byte[] encode() {
            byte[] out = new byte[KEY_ACK_LENGTH];
            out[0] = TYPE_KEY_ACK;
            putKid(out, keyId);
            return out;
        }
    }

    /**
     * Parses a key message.
     *
     * @throws KeyMessageException if the type, flags or length are wrong
     */
    static KeyMessage decode(byte[] b) throws KeyMessageException {
        if (b == null || b.length < 2) {
            throw new KeyMessageException("shorter than type and flags");
        }
        int type = b[0] & 0xFF;
        int flags = b[1] & 0xFF;
        if (type == TYPE_KEY) {
            if (b.length != KEY_LENGTH) {
                throw new KeyMessageException("KEY must be " + KEY_LENGTH + " bytes, got " + b.length);
            }
            if ((flags & ~FLAG_ACTIVE) != 0) {
                throw new KeyMessageException("reserved flag bits set in KEY");
            }
            byte[] k = java.util.Arrays.copyOfRange(b, 10, 42);
            try {
                return new Key(getKid(b), SecretBytes.copyOf(k), (flags & FLAG_ACTIVE) != 0);
            } finally {
                java.util.Arrays.fill(k, (byte) 0);
            }
        }
        if (type == TYPE_KEY_ACK) {
            if (b.length != KEY_ACK_LENGTH) {
                throw new KeyMessageException("KEY_ACK must be " + KEY_ACK_LENGTH + " bytes, got " + b.length);
            }
            if (flags != 0) {
                throw new KeyMessageException("reserved flag bits set in KEY_ACK");
            }
            return new KeyAck(getKid(b));
        }
        throw new KeyMessageException("unknown key message type " + type);
    }

    private static void putKid(byte[] out, KeyId id) {
        long kid = id.toKid();
        for (int i = 0; i < 8; i++) {
            out[2 + i] = (byte) (kid >>> (56 - 8 * i));
        }
    }

    private static KeyId getKid(byte[] b) {
        long kid = 0;
        for (int i = 0; i < 8; i++) {
            kid = kid << 8 | (b[2 + i] & 0xFFL);
        }
        return KeyId.fromKid(kid);
    }
}
