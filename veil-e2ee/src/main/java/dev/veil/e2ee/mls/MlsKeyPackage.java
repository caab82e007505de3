package dev.veil.e2ee.mls;

import dev.veil.e2ee.identity.DeviceIdentity;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Objects;
import org.bouncycastle.crypto.AsymmetricCipherKeyPair;
import org.bouncycastle.mls.TreeKEM.LeafNode;
import org.bouncycastle.mls.TreeKEM.LifeTime;
import org.bouncycastle.mls.codec.Capabilities;
import org.bouncycastle.mls.codec.Credential;
import org.bouncycastle.mls.codec.Extension;
import org.bouncycastle.mls.codec.KeyPackage;
import org.bouncycastle.mls.codec.MLSMessage;
import org.bouncycastle.mls.crypto.MlsCipherSuite;

/**
 * A member's own key package (RFC 9420 §10) with its private keys: published through the delivery service so that a
 * member can add it, then used once to join from the Welcome. The credential is a basic credential whose identity is
 * the member's {@code identity} bytes (its persistent identity key where it has one, so fingerprints stay stable).
 * Key bytes never appear in {@link #toString()}.
 */
public final class MlsKeyPackage {
    final AsymmetricCipherKeyPair initKey;
    final AsymmetricCipherKeyPair encryptionKey;
    final AsymmetricCipherKeyPair signatureKey;
    final KeyPackage keyPackage;
    private final byte[] identity;
    private final byte[] bytes;

    private MlsKeyPackage(AsymmetricCipherKeyPair init, AsymmetricCipherKeyPair enc, AsymmetricCipherKeyPair sig,
                          KeyPackage kp, byte[] identity) {
        this.initKey = init;
        this.encryptionKey = enc;
        this.signatureKey = sig;
        this.keyPackage = kp;
        this.identity = identity.clone();
        this.bytes = Bcmls.encode(MLSMessage.keyPackage(kp));
    }

    /** Fresh HPKE init and leaf keys and a fresh Ed25519 signature key for {@code identity} (1..512 bytes). */
    public static MlsKeyPackage create(byte[] identity) {
        Objects.requireNonNull(identity, "identity");
        return create(sigKey -> identity);
    }

    /**
     * A key package whose credential names {@code connectionId} and, if {@code device} is not null, carries the
     * persistent device identity vouching for this leaf's signature key ({@link MlsCredential}).
     */
    public static MlsKeyPackage create(String connectionId, DeviceIdentity device) {
        return create(sigKey -> MlsCredential.identity(connectionId, device, sigKey));
    }

    private static MlsKeyPackage create(java.util.function.Function<byte[], byte[]> identityFor) {
        synchronized (Bcmls.LOCK) {
            try {
                MlsCipherSuite suite = Bcmls.suite();
                AsymmetricCipherKeyPair init = suite.getHPKE().generatePrivateKey();
                AsymmetricCipherKeyPair enc = suite.getHPKE().generatePrivateKey();
                AsymmetricCipherKeyPair sig = suite.generateSignatureKeyPair();
                byte[] identity = identityFor.apply(suite.serializeSignaturePublicKey(sig.getPublic()));
                if (identity.length == 0 || identity.length > 512) {
                    throw new IllegalArgumentException("identity must be 1..512 bytes, was " + identity.length);
                }
                byte[] sigPriv = suite.serializeSignaturePrivateKey(sig.getPrivate());
                LeafNode leaf = new LeafNode(suite, suite.getHPKE().serializePublicKey(enc.getPublic()),
                        suite.serializeSignaturePublicKey(sig.getPublic()), Credential.forBasic(identity.clone()),
                        new Capabilities(), new LifeTime(), new ArrayList<Extension>(), sigPriv);
                KeyPackage kp = new KeyPackage(suite, suite.getHPKE().serializePublicKey(init.getPublic()), leaf,
                        new ArrayList<Extension>(), sigPriv);
                Arrays.fill(sigPriv, (byte) 0);
                return new MlsKeyPackage(init, enc, sig, kp, identity);
            } catch (IllegalArgumentException e) {
                throw e;
            } catch (Exception e) {
                throw new IllegalStateException("key package generation failed", e);
            }
        }
    }

    /** The serialized {@code MLSMessage} (wire format mls_key_package) to publish. */
    public byte[] bytes() {
        return bytes.clone();
    }

    /** The identity in the credential. */
    public byte[] identity() {
        return identity.clone();
    }

    /**
     * Decodes and checks a key package another member published: suite 1, valid signature, basic credential.
     * Returns the bcmls object (package use only).
     */
    static KeyPackage parse(byte[] bytes) throws MlsException {
        MLSMessage m = Bcmls.decode(bytes);
        if (m.keyPackage == null) {
            throw new MlsException("not a key package (wire format " + m.wireFormat + ")");
        }
        try {
            if (m.keyPackage.getSuite().getSuiteID() != Bcmls.SUITE_ID) {
                throw new MlsException("key package for cipher suite " + m.keyPackage.getSuite().getSuiteID());
            }
            if (!m.keyPackage.verify()) {
                throw new MlsException("key package signature does not verify");
            }
        } catch (MlsException e) {
            throw e;
        } catch (Exception e) {
            throw new MlsException("key package check failed", e);
        }
        return m.keyPackage;
    }

    /**
     * The credential identity of a published key package, after the checks of {@link #parse} (suite 1, valid
     * signature); lets a member refuse a key package whose identity is not the connection that published it.
     */
    public static byte[] identityOf(byte[] keyPackage) throws MlsException {
        synchronized (Bcmls.LOCK) {
            KeyPackage kp = parse(keyPackage);
            byte[] id = kp.getLeafNode().getCredential().getIdentity().clone();
            if (!MlsCredential.verify(id, kp.getLeafNode().getSignatureKey())) {
                throw new MlsException("the key package's device identity does not vouch for its signature key");
            }
            return id;
        }
    }

    @Override
    public String toString() {
        return "MlsKeyPackage[" + bytes.length + " bytes]";
    }
}
