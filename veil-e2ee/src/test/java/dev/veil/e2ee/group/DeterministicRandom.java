package dev.veil.e2ee.group;

import java.security.SecureRandom;
import java.util.SplittableRandom;

/** A seeded, reproducible stand-in for SecureRandom in tests (never for real keys). */
final class DeterministicRandom extends SecureRandom {
    private static final long serialVersionUID = 1L;
    private final transient SplittableRandom r;

    DeterministicRandom(long seed) {
        this.r = new SplittableRandom(seed);
    }

    @Override
    public void nextBytes(byte[] bytes) {
        r.nextBytes(bytes);
    }

    @Override
    public int nextInt() {
        return r.nextInt();
    }
}
