package dev.veil.client;

import dev.veil.e2ee.codec.DecryptResult;
import dev.veil.e2ee.codec.FrameCryptoException;
import dev.veil.e2ee.key.KeyId;
import dev.veil.e2ee.sframe.CipherSuite;
import dev.veil.e2ee.sframe.SFrameReceiver;
import dev.veil.e2ee.sframe.SFrameSender;
import dev.veil.e2ee.util.SecretBytes;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * End-to-end encryption of data messages (docs/PROTOCOL.md §1.7, docs/SECURITY.md "Data messages"), the browser
 * SDK's src/e2ee/data.js byte for byte. Each message is one RFC 9605 SFrame ciphertext under the sender's current
 * media base key and KID, with the data cipher suite {@link #SUITE} (AES-128-CTR + HMAC-SHA256-80): the suite id is
 * part of the SFrame key and salt labels, so the data key and salt are independent of the media ones (suite 4) and a
 * (key, nonce) pair can never repeat between media and data, although both count from 0 under the same KID. Data
 * has its own {@link SFrameSender} (its own counter) and one {@link SFrameReceiver} per sender (its own replay
 * window and ratchet), fed the same base keys as the media layer.
 *
 * <p>Plaintext = kind (0 bytes, 1 UTF-8 text) ‖ body. AAD metadata = "Veil data 1" ‖ 0x00 ‖ UTF-8 addressee id
 * (empty for everyone), so a server that re-addresses a direct message makes it fail to authenticate.
 */
final class DataCrypto implements DataOpener {
    static final CipherSuite SUITE = CipherSuite.AES_128_CTR_HMAC_SHA256_80;
    static final byte KIND_BYTES = 0;
    static final byte KIND_TEXT = 1;
    private static final byte[] LABEL = "Veil data 1\0".getBytes(StandardCharsets.US_ASCII);

    private final SFrameSender sender = new SFrameSender(SUITE);
    private final Map<String, SFrameReceiver> receivers = new HashMap<>();
    private boolean sendKey;

    /** A decrypted message: {@code kind} and {@code body}. */
    record Opened(byte kind, byte[] body) {
    }

    static byte[] metadata(String to) {
        byte[] t = to == null ? new byte[0] : to.getBytes(StandardCharsets.UTF_8);
        byte[] out = Arrays.copyOf(LABEL, LABEL.length + t.length);
        System.arraycopy(t, 0, out, LABEL.length, t.length);
        return out;
    }

    static byte[] frame(byte kind, byte[] body) {
        byte[] p = new byte[body.length + 1];
        p[0] = kind;
        System.arraycopy(body, 0, p, 1, body.length);
        return p;
    }

    void setSendKey(KeyId id, SecretBytes base) {
        sender.setKey(id, base);
        sendKey = true;
    }

    void installKey(String from, KeyId id, SecretBytes base, long now) {
        receivers.computeIfAbsent(from, x -> new SFrameReceiver(SUITE)).addKey(id, base, now);
    }

    void setPassphraseKey(String from, SecretBytes p) {
        receivers.computeIfAbsent(from, x -> new SFrameReceiver(SUITE)).setPassphraseKey(p);
    }

    /** A member left: drop its keys; every other key expires at {@code deadline} (or stays with a negative one). */
    void forget(String from, long now, long deadline) {
        SFrameReceiver r = receivers.remove(from);
        if (r != null) {
            r.clearKeys();
        }
        if (deadline >= 0) {
            for (SFrameReceiver other : receivers.values()) {
                other.expireInstalledKeys(now, deadline);
            }
        }
    }

    /** Encrypts one message for {@code to} (null: everyone). */
    byte[] seal(String to, byte kind, byte[] body) throws FrameCryptoException {
        if (!sendKey) {
            throw new FrameCryptoException("no E2EE send key yet: data cannot be encrypted");
        }
        byte[] p = frame(kind, body);
        try {
            return sender.encrypt(metadata(to), p);
        } finally {
            Arrays.fill(p, (byte) 0);
        }
    }

    /** The message, or the name of the rejection (NO_KEY, AUTHENTICATION_FAILED, REPLAYED, ...). */
    @Override
    public Object open(String from, String to, byte[] payload, long now) {
        SFrameReceiver r = receivers.get(from);
        if (r == null) {
            return "NO_KEY";
        }
        byte[] md = metadata(to);
        byte[] out = new byte[Math.max(1, r.maxDecryptedLength(payload.length))];
        DecryptResult res = r.decrypt(md, 0, md.length, payload, 0, payload.length, out, 0, now);
        if (res instanceof DecryptResult.Decrypted d) {
            if (d.length() < 1 || (out[0] != KIND_BYTES && out[0] != KIND_TEXT)) {
                Arrays.fill(out, (byte) 0);
                return "MALFORMED";
            }
            return new Opened(out[0], Arrays.copyOfRange(out, 1, d.length()));
        }
        return ((DecryptResult.Rejected) res).reason().name();
    }

    void destroy() {
        for (SFrameReceiver r : receivers.values()) {
            r.clearKeys();
        }
        receivers.clear();
    }
}
