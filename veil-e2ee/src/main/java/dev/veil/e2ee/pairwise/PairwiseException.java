package dev.veil.e2ee.pairwise;

/** A pairwise channel refused to be set up or refused a message. Nothing about the channel's state changed. */
public final class PairwiseException extends Exception {
    private static final long serialVersionUID = 1L;

    /** Why. */
    public enum Reason {
        /** Too short, too long, lengths that do not add up, an unknown kind or a non-UTF-8 connection id. */
        MALFORMED,
        /** A version byte other than 1. */
        UNSUPPORTED_VERSION,
        /** The recipient connection id in the header is not this member. */
        WRONG_RECIPIENT,
        /** The sender connection id in the header is not the peer of this channel. */
        WRONG_SENDER,
        /** The sequence number is not larger than the last one accepted (a replay or a reordering). */
        REPLAY,
        /** AES-GCM authentication failed (tampered, or sealed under another key). */
        BAD_TAG,
        /** The peer's bundle signature does not verify, or it names this member's own connection id. */
        BAD_BUNDLE,
        /** X25519 gave the all-zero secret (a small-order peer key). */
        BAD_KEY
    }

    private final Reason reason;

    public PairwiseException(Reason reason, String message) {
        super(reason + ": " + message);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
