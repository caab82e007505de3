package dev.veil.e2ee.codec;

/** The outcome of decrypting one frame: the plaintext length written, or the reason it was rejected. */
public sealed interface DecryptResult permits DecryptResult.Decrypted, DecryptResult.Rejected {

    /** The frame authenticated; {@code length} plaintext bytes (clear prefix included) were written to the output. */
    record Decrypted(int length) implements DecryptResult {
        public Decrypted {
            if (length < 0) {
                throw new IllegalArgumentException("negative length");
            }
        }
    }

    /** The frame was dropped. */
    record Rejected(Rejection reason) implements DecryptResult {
        private static final Rejected[] CACHE;

        static {
            Rejection[] rs = Rejection.values();
            CACHE = new Rejected[rs.length];
            for (Rejection r : rs) {
                CACHE[r.ordinal()] = new Rejected(r);
            }
        }

        /** The shared instance for a reason (rejections allocate nothing). */
        public static Rejected of(Rejection reason) {
            return CACHE[reason.ordinal()];
        }
    }

    /** Maps a {@code ...Raw} decrypt return value (length, or a negative {@link Rejection#code()}). */
    static DecryptResult fromRaw(int raw) {
        return raw >= 0 ? new Decrypted(raw) : Rejected.of(Rejection.fromCode(raw));
    }
}
