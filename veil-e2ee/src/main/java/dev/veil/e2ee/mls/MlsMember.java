package dev.veil.e2ee.mls;

import java.util.Arrays;

/** One leaf of the MLS ratchet tree: its leaf index and the identity of its basic credential. */
public record MlsMember(int leafIndex, byte[] identity) {
    public MlsMember {
        if (leafIndex < 0) {
            throw new IllegalArgumentException("leafIndex < 0");
        }
        identity = identity.clone();
    }

    @Override
    public byte[] identity() {
        return identity.clone();
    }

    @Override
    public boolean equals(Object o) {
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
