package dev.veil.webrtc.sdp;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Objects;

/**
 * A certificate fingerprint, {@code a=fingerprint:<hash-func> <hex:hex:...>} (RFC 8122 §5).
 *
 * @param algorithm lower-case hash function name as in the SDP ("sha-256")
 * @param value the digest bytes
 */
public record DtlsFingerprint(String algorithm, byte[] value) {

    public DtlsFingerprint {
        Objects.requireNonNull(algorithm, "algorithm");
        algorithm = algorithm.toLowerCase(Locale.ROOT);
        value = value.clone();
        if (value.length == 0) {
            throw new IllegalArgumentException("empty fingerprint");
        }
    }

    /** The SHA-256 fingerprint of a DER certificate. */
    public static DtlsFingerprint sha256(byte[] certificateDer) {
        try {
            return new DtlsFingerprint("sha-256", MessageDigest.getInstance("SHA-256").digest(certificateDer));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is mandatory in every JDK", e);
        }
    }

    /**
     * Parses the attribute value {@code "sha-256 AB:CD:..."}.
     *
     * @throws SdpException if it is not a hash name followed by colon-separated hex bytes
     */
    public static DtlsFingerprint parse(String attributeValue) throws SdpException {
        String[] parts = SdpText.fields(attributeValue);
        if (parts.length != 2) {
            throw new SdpException("bad fingerprint: " + attributeValue);
        }
        String[] hex = parts[1].split(":");
        byte[] v = new byte[hex.length];
        for (int i = 0; i < hex.length; i++) {
            if (hex[i].length() != 2) {
                throw new SdpException("bad fingerprint byte: " + hex[i]);
            }
            try {
                v[i] = (byte) Integer.parseInt(hex[i], 16);
            } catch (NumberFormatException e) {
                throw new SdpException("bad fingerprint byte: " + hex[i]);
            }
        }
        if (v.length == 0) {
            throw new SdpException("empty fingerprint");
        }
        return new DtlsFingerprint(parts[0], v);
    }

    /** A copy of the digest. */
    @Override
    public byte[] value() {
        return value.clone();
    }

    /** The JCA digest name for {@link #algorithm()} ("sha-256" → "SHA-256"), or null if unknown. */
    public String jcaAlgorithm() {
        switch (algorithm) {
            case "sha-1":
                return "SHA-1";
            case "sha-224":
                return "SHA-224";
            case "sha-256":
                return "SHA-256";
            case "sha-384":
                return "SHA-384";
            case "sha-512":
                return "SHA-512";
            default:
                return null;
        }
    }

    /**
     * Whether a DER certificate has this fingerprint, compared in constant time. False for an unknown hash.
     */
    public boolean matches(byte[] certificateDer) {
        String jca = jcaAlgorithm();
        if (jca == null) {
            return false;
        }
        try {
            return MessageDigest.isEqual(value, MessageDigest.getInstance(jca).digest(certificateDer));
        } catch (NoSuchAlgorithmException e) {
            return false;
        }
    }

    /** The attribute value: {@code "sha-256 AB:CD:..."} with upper-case hex. */
    public String toSdpValue() {
        StringBuilder sb = new StringBuilder(algorithm).append(' ');
        HexFormat hex = HexFormat.ofDelimiter(":").withUpperCase();
        return sb.append(hex.formatHex(value)).toString();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DtlsFingerprint f && f.algorithm.equals(algorithm) && Arrays.equals(f.value, value);
    }

    @Override
    public int hashCode() {
        return algorithm.hashCode() * 31 + Arrays.hashCode(value);
    }

    @Override
    public String toString() {
        return "DtlsFingerprint[" + toSdpValue() + "]";
    }
}
