package dev.veil.e2ee.pairwise;

import dev.veil.e2ee.identity.Bundle;

/** Test access to package-private parts of the pairwise channel. */
public final class PairwiseTesting {
    private PairwiseTesting() {
    }

    /** A channel from a precomputed X25519 shared secret (the bundle is not verified here). */
    public static PairwiseChannel fromShared(String selfConnectionId, byte[] selfIdentityKey, byte[] selfKxKey,
                                             Bundle peer, byte[] shared) {
        return PairwiseChannel.fromShared(selfConnectionId, selfIdentityKey, selfKxKey, peer, shared);
    }
}
