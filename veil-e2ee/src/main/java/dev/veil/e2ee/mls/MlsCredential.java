package dev.veil.e2ee.mls;

import dev.veil.e2ee.identity.DeviceIdentity;
import dev.veil.e2ee.identity.Fingerprint;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.bouncycastle.math.ec.rfc8032.Ed25519;

/**
 * The basic-credential identity of a member in the MLS key mode (docs/PROTOCOL.md §4.9):
 *
 * <pre>
 *   identity   = UTF-8(connection_id)                                            without a device identity
 *              | UTF-8(connection_id) ‖ 0x00 ‖ device_key (32) ‖ device_sig (64)  with one
 *   device_sig = Ed25519(device_key, "Veil 1.0 MLS credential" ‖ uint8 len ‖ UTF-8(connection_id)
 *                                    ‖ leaf signature_key (32))
 * </pre>
 *
 * The device key vouches for the leaf's MLS signature key in this connection, so the member's fingerprint
 * ({@link Fingerprint#ofDevice}) is the same in every call and a leaf cannot borrow another device's identity.
 */
public final class MlsCredential {
    private static final int DEVICE_PART = 1 + 32 + Ed25519.SIGNATURE_SIZE;

    private MlsCredential() {
    }

    /** The identity for {@code connectionId}, vouched for by {@code device} if not null. */
    public static byte[] identity(String connectionId, DeviceIdentity device, byte[] leafSignatureKey) {
        byte[] cid = connectionId.getBytes(StandardCharsets.UTF_8);
        for (byte b : cid) {
            if (b == 0) {
                throw new IllegalArgumentException("a connection id in an MLS credential holds no NUL");
            }
        }
        if (device == null) {
            return cid;
        }
        byte[] sig = device.certifyMlsLeaf(connectionId, leafSignatureKey);
        byte[] out = Arrays.copyOf(cid, cid.length + DEVICE_PART);
        out[cid.length] = 0;
        System.arraycopy(device.publicKey(), 0, out, cid.length + 1, 32);
        System.arraycopy(sig, 0, out, cid.length + 33, sig.length);
        return out;
    }

    private static int split(byte[] identity) {
        for (int i = 0; i < identity.length; i++) {
            if (identity[i] == 0) {
                return i;
            }
        }
        return -1;
    }

    /** The connection id an identity names (the whole identity if it has no device part). */
    public static String connectionId(byte[] identity) {
        int at = split(identity);
        return new String(identity, 0, at < 0 ? identity.length : at, StandardCharsets.UTF_8);
    }

    /** The device key of an identity with a device part, else null. */
    public static byte[] deviceKey(byte[] identity) {
        int at = split(identity);
        return at < 0 || identity.length != at + DEVICE_PART ? null : Arrays.copyOfRange(identity, at + 1, at + 33);
    }

    /** The device fingerprint to show for an identity with a device part, else null. */
    public static String deviceFingerprint(byte[] identity) {
        byte[] key = deviceKey(identity);
        return key == null ? null : Fingerprint.ofDevice(key).display();
    }

    /**
     * Whether {@code identity} is well-formed for a leaf whose signature key is {@code leafSignatureKey}: no device
     * part, or one whose signature by its device key covers this connection id and this leaf key.
     */
    public static boolean verify(byte[] identity, byte[] leafSignatureKey) {
        int at = split(identity);
        if (at < 0) {
            return identity.length > 0;
        }
        if (at == 0 || identity.length != at + DEVICE_PART || leafSignatureKey == null
                || leafSignatureKey.length != 32) {
            return false;
        }
        byte[] input = DeviceIdentity.mlsLeafInput(connectionId(identity), leafSignatureKey);
        try {
            return Ed25519.verify(identity, at + 33, identity, at + 1, input, 0, input.length);
        } catch (RuntimeException e) {
            return false;
        }
    }
}
