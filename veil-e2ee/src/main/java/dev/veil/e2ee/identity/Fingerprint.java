package dev.veil.e2ee.identity;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;

/**
 * The fingerprint of an identity key, for comparison out of band.
 *
 * <pre>
 *   fingerprint = SHA-256("Veil 1.0 fingerprint" ‖ identity_key (32))                          32 bytes
 *   display     = lowercase hex, 16 groups of 4 digits separated by one space (79 characters)
 * </pre>
 */
public final class Fingerprint {
    public static final int LENGTH = 32;
    private final byte[] bytes;

    private Fingerprint(byte[] bytes) {
        this.bytes = bytes;
    }

    /** The fingerprint of a 32-byte Ed25519 identity key. */
    public static Fingerprint of(byte[] identityKey) {
        if (identityKey == null || identityKey.length != Identity.KEY_LENGTH) {
            throw new IllegalArgumentException("identity key must be 32 bytes");
        }
        MessageDigest md = sha256();
        md.update(Labels.FINGERPRINT);
        md.update(identityKey);
        return new Fingerprint(md.digest());
    }

    /**
     * The fingerprint of a persistent device key ({@link DeviceIdentity}):
     * {@code SHA-256("Veil 1.0 device fingerprint" ‖ device_key)}, shown like a connection fingerprint. The
     * distinct label keeps a device fingerprint from ever equalling a connection fingerprint.
     */
    public static Fingerprint ofDevice(byte[] deviceKey) {
        if (deviceKey == null || deviceKey.length != Identity.KEY_LENGTH) {
            throw new IllegalArgumentException("device key must be 32 bytes");
        }
        MessageDigest md = sha256();
        md.update(Labels.DEVICE_FINGERPRINT);
        md.update(deviceKey);
        return new Fingerprint(md.digest());
    }

    /** The 32 fingerprint bytes (a copy). */
    public byte[] bytes() {
        return bytes.clone();
    }

    /** {@code "xxxx xxxx ... xxxx"}: 16 groups of 4 lowercase hex digits. */
    public String display() {
        StringBuilder b = new StringBuilder(79);
        for (int i = 0; i < LENGTH; i++) {
            if (i > 0 && i % 2 == 0) {
                b.append(' ');
            }
            b.append(Character.forDigit((bytes[i] >> 4) & 0xF, 16)).append(Character.forDigit(bytes[i] & 0xF, 16));
        }
        return b.toString();
    }

    /**
     * Constant-time comparison with a displayed fingerprint typed or pasted by a user: spaces, colons and case
     * are ignored. False for anything that is not 64 hex digits.
     */
    public boolean matches(String displayed) {
        if (displayed == null) {
            return false;
        }
        String hex = displayed.replace(" ", "").replace(":", "").toLowerCase(java.util.Locale.ROOT);
        if (hex.length() != 2 * LENGTH) {
            return false;
        }
        byte[] other = new byte[LENGTH];
        for (int i = 0; i < LENGTH; i++) {
            int hi = Character.digit(hex.charAt(2 * i), 16);
            int lo = Character.digit(hex.charAt(2 * i + 1), 16);
            if (hi < 0 || lo < 0) {
                return false;
            }
            other[i] = (byte) (hi << 4 | lo);
        }
        return MessageDigest.isEqual(bytes, other);
    }

    /** Constant-time. */
    @Override
    public boolean equals(Object o) {
        return o instanceof Fingerprint f && MessageDigest.isEqual(bytes, f.bytes);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(bytes);
    }

    @Override
    public String toString() {
        return display();
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 unavailable", e); // every Java runtime has it
        }
    }
}
