package dev.veil.e2ee.sframe;

import dev.veil.e2ee.kdf.Hkdf;
import java.util.Optional;

/**
 * The SFrame cipher suites of RFC 9605 section 4.5 (IANA "SFrame Cipher Suites").
 *
 * <pre>
 *   id      name                         KDF hash  Nk  Nn  Nt   AEAD
 *   0x0001  AES_128_CTR_HMAC_SHA256_80   SHA-256   48  12  10   AES-128-CTR + HMAC-SHA256 (enc key 16, auth key 32)
 *   0x0002  AES_128_CTR_HMAC_SHA256_64   SHA-256   48  12   8   same, tag truncated to 8
 *   0x0003  AES_128_CTR_HMAC_SHA256_32   SHA-256   48  12   4   same, tag truncated to 4
 *   0x0004  AES_128_GCM_SHA256_128       SHA-256   16  12  16   AES-128-GCM
 *   0x0005  AES_256_GCM_SHA512_128       SHA-512   32  12  16   AES-256-GCM
 * </pre>
 */
public enum CipherSuite {
    AES_128_CTR_HMAC_SHA256_80(0x0001, Hkdf.SHA256, 48, 10, false),
    AES_128_CTR_HMAC_SHA256_64(0x0002, Hkdf.SHA256, 48, 8, false),
    AES_128_CTR_HMAC_SHA256_32(0x0003, Hkdf.SHA256, 48, 4, false),
    AES_128_GCM_SHA256_128(0x0004, Hkdf.SHA256, 16, 16, true),
    AES_256_GCM_SHA512_128(0x0005, Hkdf.SHA512, 32, 16, true);

    /** Nn: every suite uses a 96-bit nonce. */
    public static final int NONCE_LENGTH = 12;
    /** Nka of the CTR+HMAC suites: the AES-128 encryption key is the first 16 bytes of the SFrame key. */
    static final int CTR_ENC_KEY_LENGTH = 16;

    private final int id;
    private final Hkdf kdf;
    private final int keyLength;
    private final int tagLength;
    private final boolean gcm;

    CipherSuite(int id, Hkdf kdf, int keyLength, int tagLength, boolean gcm) {
        this.id = id;
        this.kdf = kdf;
        this.keyLength = keyLength;
        this.tagLength = tagLength;
        this.gcm = gcm;
    }

    /** The 16-bit IANA value. */
    public int id() {
        return id;
    }

    /** Nk, the SFrame key length in bytes. */
    public int keyLength() {
        return keyLength;
    }

    /** Nt, the authentication tag length in bytes. */
    public int tagLength() {
        return tagLength;
    }

    /** Nn, the nonce (and salt) length in bytes. */
    public int nonceLength() {
        return NONCE_LENGTH;
    }

    /** The HKDF of the key schedule. */
    Hkdf kdf() {
        return kdf;
    }

    boolean isGcm() {
        return gcm;
    }

    /** The suite with this IANA value, if Veil implements it. */
    public static Optional<CipherSuite> fromId(int id) {
        for (CipherSuite s : values()) {
            if (s.id == id) {
                return Optional.of(s);
            }
        }
        return Optional.empty();
    }
}
