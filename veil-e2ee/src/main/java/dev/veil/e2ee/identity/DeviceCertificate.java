package dev.veil.e2ee.identity;

import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import org.bouncycastle.math.ec.rfc8032.Ed25519;

/**
 * A persistent device key's statement that one connection's fresh identity key is its own, in one channel
 * (docs/PROTOCOL.md §3.2, "Device identity").
 *
 * <pre>
 *   input     = "Veil 1.0 device certificate" ‖ device_key (32) ‖ identity_key (32)
 *               ‖ len (uint8) ‖ connection id (UTF-8) ‖ len (uint8) ‖ channel id (UTF-8)
 *   signature = Ed25519-Sign(device seed, input)                                            64 bytes
 *   encoding  = version (1) = 1 ‖ device_key (32) ‖ signature (64)                          97 bytes
 * </pre>
 *
 * It travels inside the pairwise device channel (kind 2, {@code PairwiseChannel.Purpose.DEVICE}), so the server
 * never sees the device key in clear. A receiver checks it against the identity key of the bundle it accepted for
 * that connection, the connection id the relay stamped, and its own channel id.
 */
public record DeviceCertificate(byte[] deviceKey, byte[] signature) {
    public static final int VERSION = 1;
    public static final int LENGTH = 1 + 32 + 64;

    public DeviceCertificate {
        if (deviceKey == null || deviceKey.length != Identity.KEY_LENGTH || signature == null
                || signature.length != Bundle.SIGNATURE_LENGTH) {
            throw new IllegalArgumentException("device key must be 32 bytes and the signature 64 bytes");
        }
        deviceKey = deviceKey.clone();
        signature = signature.clone();
    }

    @Override
    public byte[] deviceKey() {
        return deviceKey.clone();
    }

    @Override
    public byte[] signature() {
        return signature.clone();
    }

    /** The signed bytes. */
    public static byte[] signatureInput(byte[] deviceKey, byte[] identityKey, String connectionId, String channelId) {
        if (deviceKey == null || deviceKey.length != 32 || identityKey == null || identityKey.length != 32) {
            throw new IllegalArgumentException("keys must be 32 bytes");
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(Labels.DEVICE_CERTIFICATE);
        out.writeBytes(deviceKey);
        out.writeBytes(identityKey);
        out.writeBytes(ConnectionIds.lengthPrefixed(connectionId));
        out.writeBytes(ConnectionIds.lengthPrefixed(channelId));
        return out.toByteArray();
    }

    /** {@code version ‖ device_key ‖ signature}. */
    public byte[] encode() {
        byte[] out = new byte[LENGTH];
        out[0] = VERSION;
        System.arraycopy(deviceKey, 0, out, 1, 32);
        System.arraycopy(signature, 0, out, 33, 64);
        return out;
    }

    /** Parses the 97-byte encoding; null for anything else (wrong length or version). Does not verify. */
    public static DeviceCertificate decode(byte[] bytes) {
        if (bytes == null || bytes.length != LENGTH || bytes[0] != VERSION) {
            return null;
        }
        return new DeviceCertificate(Arrays.copyOfRange(bytes, 1, 33), Arrays.copyOfRange(bytes, 33, LENGTH));
    }

    /** True if the signature verifies for this identity key, connection id and channel id. */
    public boolean verify(byte[] identityKey, String connectionId, String channelId) {
        if (!ConnectionIds.isValid(connectionId) || !ConnectionIds.isValid(channelId)) {
            return false;
        }
        byte[] input = signatureInput(deviceKey, identityKey, connectionId, channelId);
        try {
            return Ed25519.verify(signature, 0, deviceKey, 0, input, 0, input.length);
        } catch (RuntimeException e) {
            return false;
        }
    }

    /** The device fingerprint ({@link Fingerprint#ofDevice}). */
    public Fingerprint fingerprint() {
        return Fingerprint.ofDevice(deviceKey);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DeviceCertificate c && Arrays.equals(deviceKey, c.deviceKey)
                && Arrays.equals(signature, c.signature);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(deviceKey);
    }

    @Override
    public String toString() {
        return "DeviceCertificate[" + fingerprint() + "]";
    }
}
