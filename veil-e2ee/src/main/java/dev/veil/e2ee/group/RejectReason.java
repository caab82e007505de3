package dev.veil.e2ee.group;

import dev.veil.e2ee.pairwise.PairwiseException;

/** Why the {@link GroupKeyManager} refused an input. The state of the manager is unchanged by a rejection. */
public enum RejectReason {
    /** Pairwise message: too short/long, inconsistent lengths, unknown kind, bad connection id bytes. */
    MALFORMED,
    /** Pairwise message: version byte other than 1. */
    UNSUPPORTED_VERSION,
    /** Pairwise message addressed to another connection. */
    WRONG_RECIPIENT,
    /** Pairwise message whose header names another sender than the relay stamped. */
    WRONG_SENDER,
    /** Pairwise message with a sequence number not above the last accepted one. */
    REPLAY,
    /** Pairwise message that does not authenticate. */
    BAD_TAG,
    /** A joined member's bundle: bad signature, own connection id, or a small-order kx key. */
    BAD_BUNDLE,
    /** The decrypted key message is not a well-formed KEY or KEY_ACK. */
    MALFORMED_KEY_MESSAGE,
    /** A KEY whose KID is not above the last KEY that member sent (a rollback attempt). */
    STALE_KEY,
    /** A message from a member that left or whose bundle was refused. */
    UNKNOWN_SENDER,
    /** A message from a member not (yet) announced while that buffer is full, or a join beyond MAX_MEMBERS. */
    BUFFER_FULL,
    /** A join for a connection id that is already a member. */
    DUPLICATE_MEMBER,
    /** An input that names this member's own connection id as a peer. */
    SELF;

    static RejectReason of(PairwiseException.Reason r) {
        switch (r) {
            case MALFORMED:
                return MALFORMED;
            case UNSUPPORTED_VERSION:
                return UNSUPPORTED_VERSION;
            case WRONG_RECIPIENT:
                return WRONG_RECIPIENT;
            case WRONG_SENDER:
                return WRONG_SENDER;
            case REPLAY:
                return REPLAY;
            case BAD_TAG:
                return BAD_TAG;
            default:
                return BAD_BUNDLE;
        }
    }
}
