package dev.veil.e2ee.kdf;

import java.security.InvalidKeyException;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.Objects;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * HKDF (<a href="https://www.rfc-editor.org/rfc/rfc5869">RFC 5869</a>) over HMAC-SHA256 or HMAC-SHA512.
 *
 * <pre>
 *   PRK = HMAC-Hash(salt, IKM)                      -- extract; an empty salt means HashLen zero bytes
 *   T(0) = ""
 *   T(i) = HMAC-Hash(PRK, T(i-1) | info | i)       -- expand, i = 1..ceil(L/HashLen), one byte
 *   OKM  = first L octets of T(1) | T(2) | ...
 * </pre>
 *
 * <p>The JDK has no HKDF before the {@code javax.crypto.KDF} API of JDK 25, so this is the one place where it is
 * built from {@link Mac}. Instances are immutable and thread-safe; every call makes its own {@code Mac}.
 */
public enum Hkdf {
    SHA256("HmacSHA256", 32),
    SHA512("HmacSHA512", 64);

    private final String macAlgorithm;
    private final int hashLength;

    Hkdf(String macAlgorithm, int hashLength) {
        this.macAlgorithm = macAlgorithm;
        this.hashLength = hashLength;
    }

    /** The hash output length in bytes (32 for SHA-256, 64 for SHA-512). */
    public int hashLength() {
        return hashLength;
    }

    /** HKDF-Extract(salt, ikm). A null or empty salt is replaced by HashLen zero bytes, as RFC 5869 §2.2 says. */
    public byte[] extract(byte[] salt, byte[] ikm) {
        Objects.requireNonNull(ikm, "ikm");
        byte[] s = (salt == null || salt.length == 0) ? new byte[hashLength] : salt;
        Mac mac = newMac(s);
        return mac.doFinal(ikm);
    }

    /** HKDF-Expand(prk, info, length); {@code length} is at most 255 * HashLen. */
    public byte[] expand(byte[] prk, byte[] info, int length) {
        Objects.requireNonNull(prk, "prk");
        if (length < 0 || length > 255 * hashLength) {
            throw new IllegalArgumentException("HKDF-Expand length out of range: " + length);
        }
        byte[] inf = info == null ? new byte[0] : info;
        Mac mac = newMac(prk);
        byte[] out = new byte[length];
        byte[] t = new byte[0];
        int pos = 0;
        for (int i = 1; pos < length; i++) {
            mac.update(t);
            mac.update(inf);
            mac.update((byte) i);
            t = mac.doFinal();
            int n = Math.min(t.length, length - pos);
            System.arraycopy(t, 0, out, pos, n);
            pos += n;
        }
        Arrays.fill(t, (byte) 0);
        return out;
    }

    /** Extract then expand in one call. */
    public byte[] derive(byte[] salt, byte[] ikm, byte[] info, int length) {
        byte[] prk = extract(salt, ikm);
        try {
            return expand(prk, info, length);
        } finally {
            Arrays.fill(prk, (byte) 0);
        }
    }

    private Mac newMac(byte[] key) {
        try {
            Mac mac = Mac.getInstance(macAlgorithm);
            mac.init(new SecretKeySpec(key, macAlgorithm));
            return mac;
        } catch (NoSuchAlgorithmException | InvalidKeyException e) {
            // Every Java 17 runtime ships HmacSHA256/HmacSHA512, and any non-empty key is valid for HMAC.
            throw new IllegalStateException("HMAC unavailable: " + macAlgorithm, e);
        }
    }
}
