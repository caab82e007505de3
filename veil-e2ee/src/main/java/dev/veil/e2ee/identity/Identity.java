package dev.veil.e2ee.identity;

import java.security.InvalidKeyException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Objects;
import org.bouncycastle.math.ec.rfc7748.X25519;
import org.bouncycastle.math.ec.rfc8032.Ed25519;

/**
 * The E2EE identity of one connection: an Ed25519 identity key and an X25519 key-agreement ("kx") key whose public
 * half the identity key signs. Made fresh for every connection and {@linkplain #destroy() destroyed} when the
 * connection ends, which is what gives the pairwise channels their per-connection forward secrecy.
 *
 * <p>Private keys are held as raw byte arrays (BouncyCastle's RFC 8032 / RFC 7748 code on byte arrays), so
 * {@link #destroy()} really overwrites them. The public half travels as a {@link Bundle}.
 */
public final class Identity {
    /** Length of an Ed25519 or X25519 public or private key. */
    public static final int KEY_LENGTH = 32;

    private final byte[] identitySeed;      // Ed25519 private key (RFC 8032 seed)
    private final byte[] identityPublic;
    private final byte[] kxPrivate;         // X25519 private scalar (unclamped bytes; clamped by X25519 itself)
    private final byte[] kxPublic;
    private final byte[] signature;         // over Labels.BUNDLE ‖ identityPublic ‖ kxPublic
    private volatile boolean destroyed;

    private Identity(byte[] identitySeed, byte[] kxPrivate) {
        this.identitySeed = identitySeed;
        this.kxPrivate = kxPrivate;
        this.identityPublic = new byte[KEY_LENGTH];
        Ed25519.generatePublicKey(identitySeed, 0, identityPublic, 0);
        this.kxPublic = new byte[KEY_LENGTH];
        X25519.generatePublicKey(kxPrivate, 0, kxPublic, 0);
        byte[] input = Bundle.signatureInput(identityPublic, kxPublic);
        this.signature = new byte[Ed25519.SIGNATURE_SIZE];
        Ed25519.sign(identitySeed, 0, identityPublic, 0, input, 0, input.length, signature, 0);
    }

    /** A fresh identity drawn from {@code random} (64 bytes: the Ed25519 seed, then the X25519 private key). */
    public static Identity generate(SecureRandom random) {
        Objects.requireNonNull(random, "random");
        byte[] seed = new byte[KEY_LENGTH];
        byte[] kx = new byte[KEY_LENGTH];
        random.nextBytes(seed);
        random.nextBytes(kx);
        return new Identity(seed, kx);
    }

    /**
     * An identity from given private keys (test vectors, or keys kept by the caller). Both arrays are copied; the
     * caller may wipe its own copies.
     */
    public static Identity fromPrivateKeys(byte[] ed25519Seed, byte[] x25519PrivateKey) {
        if (ed25519Seed == null || ed25519Seed.length != KEY_LENGTH
                || x25519PrivateKey == null || x25519PrivateKey.length != KEY_LENGTH) {
            throw new IllegalArgumentException("private keys must be 32 bytes each");
        }
        return new Identity(ed25519Seed.clone(), x25519PrivateKey.clone());
    }

    /** The Ed25519 public identity key (32 bytes, a copy). */
    public byte[] identityKey() {
        return identityPublic.clone();
    }

    /** The X25519 public key-agreement key (32 bytes, a copy). */
    public byte[] kxKey() {
        return kxPublic.clone();
    }

    /** The fingerprint of this identity, the same one others compute from the bundle. */
    public Fingerprint fingerprint() {
        return Fingerprint.of(identityPublic);
    }

    /**
     * The bundle to publish, labelled with this connection's id. The signature does not cover the connection id
     * (it is made before the server assigns one); see {@link Bundle}.
     */
    public Bundle bundle(String connectionId) {
        checkLive();
        return new Bundle(connectionId, identityPublic, kxPublic, signature);
    }

    /**
     * X25519 of the own kx private key and a peer's kx public key: the raw 32-byte shared secret, for the pairwise
     * channel's key derivation only. The caller must wipe the result.
     *
     * @throws InvalidKeyException if the result is all zeros (the peer key is of small order), as RFC 7748 §6.1
     *     and WebCrypto require
     * @throws IllegalStateException once destroyed
     */
    public byte[] agree(byte[] peerKxKey) throws InvalidKeyException {
        checkLive();
        if (peerKxKey == null || peerKxKey.length != KEY_LENGTH) {
            throw new InvalidKeyException("X25519 public key must be 32 bytes");
        }
        byte[] shared = new byte[KEY_LENGTH];
        if (!X25519.calculateAgreement(kxPrivate, 0, peerKxKey, 0, shared, 0)) {
            Arrays.fill(shared, (byte) 0);
            throw new InvalidKeyException("X25519 shared secret is all zeros");
        }
        return shared;
    }

    /** Overwrites both private keys; every later use that needs them throws {@link IllegalStateException}. */
    public void destroy() {
        destroyed = true;
        Arrays.fill(identitySeed, (byte) 0);
        Arrays.fill(kxPrivate, (byte) 0);
    }

    public boolean isDestroyed() {
        return destroyed;
    }

    private void checkLive() {
        if (destroyed) {
            throw new IllegalStateException("identity has been destroyed");
        }
    }

    @Override
    public String toString() {
        return "Identity[" + fingerprint() + (destroyed ? ", destroyed]" : "]");
    }
}
