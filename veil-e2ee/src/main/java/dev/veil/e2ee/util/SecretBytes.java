package dev.veil.e2ee.util;

import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Objects;

/**
 * Secret key material held in memory. Its bytes never appear in {@link #toString()}; {@link #equals(Object)} is
 * constant-time; {@link #destroy()} overwrites the bytes so a destroyed identity or key cannot be used again.
 * (Shape taken from Tink's {@code SecretBytes}.)
 */
public final class SecretBytes {
    private final byte[] bytes;
    private volatile boolean destroyed;

    private SecretBytes(byte[] bytes) {
        this.bytes = bytes;
    }

    /** Copies {@code bytes}; the caller may wipe its array afterwards. */
    public static SecretBytes copyOf(byte[] bytes) {
        Objects.requireNonNull(bytes, "bytes");
        return new SecretBytes(bytes.clone());
    }

    /** Fresh random bytes from the given source of randomness. */
    public static SecretBytes random(int length, java.security.SecureRandom random) {
        byte[] b = new byte[length];
        random.nextBytes(b);
        return new SecretBytes(b);
    }

    /** The length in bytes. */
    public int size() {
        return bytes.length;
    }

    /** A copy of the secret bytes. Throws once destroyed. */
    public byte[] toByteArray() {
        if (destroyed) {
            throw new IllegalStateException("secret has been destroyed");
        }
        return bytes.clone();
    }

    /** Overwrites the bytes with zeros; later reads throw. */
    public void destroy() {
        destroyed = true;
        Arrays.fill(bytes, (byte) 0);
    }

    public boolean isDestroyed() {
        return destroyed;
    }

    /** Constant-time comparison. */
    @Override
    public boolean equals(Object o) {
        return o instanceof SecretBytes other && MessageDigest.isEqual(bytes, other.bytes);
    }

    @Override
    public int hashCode() {
        return bytes.length; // deliberately carries no information about the content
    }

    @Override
    public String toString() {
        return "SecretBytes[" + bytes.length + " bytes, redacted]";
    }
}
