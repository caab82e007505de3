package dev.veil.e2ee.identity;

import java.util.Arrays;
import java.util.Base64;
import java.util.Map;
import org.bouncycastle.math.ec.rfc8032.Ed25519;

/**
 * The public half of a connection's {@link Identity}, published in {@code signaling_notify_metadata} under the
 * member {@code "e2ee_bundle"} and delivered to the other members by the server's {@code connection.created}
 * notifications.
 *
 * <pre>
 *   signature = Ed25519-Sign(identity private key, "Veil 1.0 bundle" ‖ identity_key (32) ‖ kx_key (32))
 *
 *   JSON:  {"version":1,"identity_key":"&lt;b64url 32 B&gt;","kx_key":"&lt;b64url 32 B&gt;","signature":"&lt;b64url 64 B&gt;"}
 * </pre>
 *
 * <p>base64url is RFC 4648 §5 without padding. The connection id is <em>not</em> in the JSON and not signed: the
 * client publishes its bundle in {@code connect}, before the server tells it its id. The receiver labels the bundle
 * with the id the notification carries. A server that relabels a bundle gains nothing it could not get by inventing
 * a member of its own: pairwise keys bind both connection ids (so the real owner rejects everything sent to the
 * relabelled id), and the room {@link VerificationCode} covers (connection id, identity key) pairs, so the members'
 * codes then differ (docs/SECURITY.md §1).
 *
 * <p>Byte arrays are copied in and out; {@link #equals(Object)} compares contents.
 */
public record Bundle(String connectionId, byte[] identityKey, byte[] kxKey, byte[] signature) {
    /** The version this code writes and the only one it reads. */
    public static final int VERSION = 1;
    /** Length of an Ed25519 signature. */
    public static final int SIGNATURE_LENGTH = 64;
    /** The member of {@code signaling_notify_metadata} that holds the bundle object. */
    public static final String METADATA_MEMBER = "e2ee_bundle";

    public Bundle {
        ConnectionIds.requireValid(connectionId);
        if (identityKey == null || identityKey.length != Identity.KEY_LENGTH
                || kxKey == null || kxKey.length != Identity.KEY_LENGTH
                || signature == null || signature.length != SIGNATURE_LENGTH) {
            throw new IllegalArgumentException("bundle keys must be 32 bytes and the signature 64 bytes");
        }
        identityKey = identityKey.clone();
        kxKey = kxKey.clone();
        signature = signature.clone();
    }

    @Override
    public byte[] identityKey() {
        return identityKey.clone();
    }

    @Override
    public byte[] kxKey() {
        return kxKey.clone();
    }

    @Override
    public byte[] signature() {
        return signature.clone();
    }

    /** {@code "Veil 1.0 bundle" ‖ identityKey ‖ kxKey}: the bytes the identity key signs. */
    public static byte[] signatureInput(byte[] identityKey, byte[] kxKey) {
        byte[] l = Labels.BUNDLE;
        byte[] out = new byte[l.length + 64];
        System.arraycopy(l, 0, out, 0, l.length);
        System.arraycopy(identityKey, 0, out, l.length, 32);
        System.arraycopy(kxKey, 0, out, l.length + 32, 32);
        return out;
    }

    /** True if the signature is a valid Ed25519 signature of the identity key over the kx key. */
    public boolean verify() {
        byte[] input = signatureInput(identityKey, kxKey);
        try {
            return Ed25519.verify(signature, 0, identityKey, 0, input, 0, input.length);
        } catch (RuntimeException e) {
            return false; // a malformed point must never escape as an unchecked exception
        }
    }

    /** The fingerprint of the identity key. */
    public Fingerprint fingerprint() {
        return Fingerprint.of(identityKey);
    }

    /** The JSON object to put under {@link #METADATA_MEMBER} (members in this order, no whitespace). */
    public String toJson() {
        Base64.Encoder e = Base64.getUrlEncoder().withoutPadding();
        return "{\"version\":" + VERSION
                + ",\"identity_key\":\"" + e.encodeToString(identityKey)
                + "\",\"kx_key\":\"" + e.encodeToString(kxKey)
                + "\",\"signature\":\"" + e.encodeToString(signature) + "\"}";
    }

    /**
     * Parses a bundle object and labels it with the connection id the notification carried. Unknown members are
     * ignored; the four members above are required. Does not {@linkplain #verify() verify} the signature.
     *
     * @throws BundleFormatException if the JSON, the version, a base64url value or a length is wrong
     */
    public static Bundle fromJson(String connectionId, String json) throws BundleFormatException {
        if (!ConnectionIds.isValid(connectionId)) {
            throw new BundleFormatException("invalid connection id");
        }
        Map<String, Object> obj = FlatJson.parseObject(json);
        Object v = obj.get("version");
        if (!(v instanceof Long) || (Long) v != VERSION) {
            throw new BundleFormatException("unsupported or missing bundle version");
        }
        byte[] ik = b64(obj.get("identity_key"), Identity.KEY_LENGTH, "identity_key");
        byte[] kx = b64(obj.get("kx_key"), Identity.KEY_LENGTH, "kx_key");
        byte[] sig = b64(obj.get("signature"), SIGNATURE_LENGTH, "signature");
        return new Bundle(connectionId, ik, kx, sig);
    }

    private static byte[] b64(Object value, int length, String name) throws BundleFormatException {
        if (!(value instanceof String s)) {
            throw new BundleFormatException("missing or non-string " + name);
        }
        // strict: base64url alphabet, no padding, exact length
        if (s.length() != (length * 4 + 2) / 3) {
            throw new BundleFormatException(name + " has the wrong length");
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'
                    || c == '_';
            if (!ok) {
                throw new BundleFormatException(name + " is not base64url without padding");
            }
        }
        try {
            byte[] out = Base64.getUrlDecoder().decode(s);
            if (out.length != length) {
                throw new BundleFormatException(name + " has the wrong length");
            }
            // reject non-canonical trailing bits so every bundle has exactly one encoding
            if (!Base64.getUrlEncoder().withoutPadding().encodeToString(out).equals(s)) {
                throw new BundleFormatException(name + " is not canonical base64url");
            }
            return out;
        } catch (IllegalArgumentException e) {
            throw new BundleFormatException(name + " is not base64url");
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Bundle b && connectionId.equals(b.connectionId)
                && Arrays.equals(identityKey, b.identityKey) && Arrays.equals(kxKey, b.kxKey)
                && Arrays.equals(signature, b.signature);
    }

    @Override
    public int hashCode() {
        return connectionId.hashCode() * 31 + Arrays.hashCode(identityKey);
    }

    @Override
    public String toString() {
        return "Bundle[" + connectionId + ", " + fingerprint() + "]";
    }
}
