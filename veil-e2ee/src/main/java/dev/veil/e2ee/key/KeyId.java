package dev.veil.e2ee.key;

/**
 * The id of one sender's media key: a <em>generation</em>, which changes whenever the sender draws a fresh random
 * key (on a leave), and a <em>step</em>, the number of ratchet steps taken inside that generation (one per join).
 *
 * <pre>
 *   KID (uint64) = generation &lt;&lt; 8 | step        generation: 0 .. 2^56-1, step: 0 .. 255
 * </pre>
 *
 * <p>A receiver holding the key of (g, s) can compute the key of (g, s') for any s' &gt; s by ratcheting s' - s times,
 * so a join never needs a message to the members already present; a new generation always has to be delivered.
 * In SFrame the KID is carried as is; in JFrame (one key-index byte) the index is {@code generation mod 16}.
 */
public record KeyId(long generation, int step) implements Comparable<KeyId> {
    /** Largest step inside one generation; a join past it starts a new generation instead. */
    public static final int MAX_STEP = 0xFF;
    /** Largest generation that fits the 64-bit KID. */
    public static final long MAX_GENERATION = (1L << 56) - 1;

    public KeyId {
        if (generation < 0 || generation > MAX_GENERATION) {
            throw new IllegalArgumentException("generation out of range: " + generation);
        }
        if (step < 0 || step > MAX_STEP) {
            throw new IllegalArgumentException("step out of range: " + step);
        }
    }

    /** Decodes a KID (an unsigned 64-bit value held in a long). */
    public static KeyId fromKid(long kid) {
        return new KeyId(kid >>> 8, (int) (kid & 0xFF));
    }

    /** The 64-bit KID, as an unsigned value held in a long. */
    public long toKid() {
        return generation << 8 | step;
    }

    /** The id after one ratchet step in this generation; throws if the step space is exhausted. */
    public KeyId nextStep() {
        if (step == MAX_STEP) {
            throw new IllegalStateException("ratchet steps exhausted in generation " + generation);
        }
        return new KeyId(generation, step + 1);
    }

    /** The first id of the next generation. */
    public KeyId nextGeneration() {
        return new KeyId(generation + 1, 0);
    }

    @Override
    public int compareTo(KeyId o) {
        int c = Long.compare(generation, o.generation);
        return c != 0 ? c : Integer.compare(step, o.step);
    }
}
