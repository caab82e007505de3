package dev.veil.e2ee.mls;

import java.util.Arrays;

/**
 * One leaf of the MLS ratchet tree: its leaf index, the identity of its basic credential ({@link MlsCredential}) and
 * the leaf's signature key.
 */
public record MlsMember(int leafIndex, byte[] identity, byte[] signatureKey) {
    public MlsMember {
        if (leafIndex < 0) {
            throw new IllegalArgumentException("leafIndex < 0");
        }
        identity = identity.clone();
        signatureKey = signatureKey == null ? new byte[0] : signatureKey.clone();
    }

    public MlsMember(int leafIndex, byte[] identity) {
        this(leafIndex, identity, null);
    }

    @Override
    public byte[] signatureKey() {
        return signatureKey.clone();
    }

    /** The connection id the credential names. */
    public String connectionId() {
        return MlsCredential.connectionId(identity);
    }

    /** Whether the credential's device part (if any) vouches for this leaf's signature key. */
    public boolean credentialVerifies() {
        return MlsCredential.verify(identity, signatureKey);
    }

    @Override
    public byte[] identity() {
        return identity.clone();
    }

    @Override
    public boolean equals(Object o) {
        // by leaf and credential (the leaf's signature key is checked through credentialVerifies)
        return o instanceof MlsMember m && m.leafIndex == leafIndex && Arrays.equals(m.identity, identity);
    }

    @Override
    public int hashCode() {
        return 31 * leafIndex + Arrays.hashCode(identity);
    }

    @Override
    public String toString() {
        return "MlsMember[" + leafIndex + "]";
    }
}
