package dev.veil.e2ee.codec;

/**
 * Why a received frame was not decrypted. A rejected frame must be dropped: it is never passed on, not even in
 * part (fail closed).
 */
public enum Rejection {
    /** Shorter than the fixed parts of its format (SFrame tag, JFrame 30-byte trailer), or empty. */
    TRUNCATED,
    /** SFrame: the header does not fit in the frame. JFrame: IV-length byte not 12, or frame counter &gt;= 0xFFFF. */
    MALFORMED_HEADER,
    /** JFrame: key-index byte &gt;= 16. */
    BAD_KEY_INDEX,
    /** No key for the KID / key index, and none it could be ratcheted to within the window. */
    NO_KEY,
    /** The counter was already accepted, or is older than the replay window. */
    REPLAY,
    /** Authentication failed under every candidate key (tampered, wrong key, or beyond the ratchet window). */
    BAD_TAG,
    /** The KID (or a higher one of the same sender) has expired: its key was deleted and is never accepted again. */
    EXPIRED_KEY;

    private static final Rejection[] VALUES = values();

    /** The negative code that the {@code ...Raw} decrypt methods return for this reason: {@code -1 - ordinal()}. */
    public int code() {
        return -1 - ordinal();
    }

    /** The reason for a negative code returned by a {@code ...Raw} decrypt method. */
    public static Rejection fromCode(int code) {
        int i = -1 - code;
        if (i < 0 || i >= VALUES.length) {
            throw new IllegalArgumentException("not a rejection code: " + code);
        }
        return VALUES[i];
    }
}
