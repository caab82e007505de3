package dev.veil.e2ee.mls;

/** What {@link MlsGroupSession#handle(byte[])} did with one handshake message. */
public sealed interface MlsHandled {
    /** A commit for this member's epoch was applied; the group is now at {@code epoch}. */
    record Applied(long epoch, boolean ownCommit) implements MlsHandled {
    }

    /** A proposal for this epoch was cached for a later commit. */
    record ProposalCached(long epoch) implements MlsHandled {
    }

    /** The message is for an epoch this member already left behind (a replay or a late duplicate); ignored. */
    record Stale(long messageEpoch, long epoch) implements MlsHandled {
    }

    /** The message is for a later epoch: this member missed a commit and must rejoin. */
    record OutOfSync(long messageEpoch, long epoch) implements MlsHandled {
    }

    /** The commit removes this member: it keeps no later epoch and must stop sending. */
    record Removed(long epoch) implements MlsHandled {
    }

    /**
     * The message was refused by the member's {@link MlsMembershipGuard} (a ghost add, an unannounced removal, a
     * proposal type this mode does not use): a proposal is not cached; a commit is not applied, and the member stays
     * at {@code epoch}, out of the group that applied it (fail closed).
     */
    record Refused(long epoch, String reason) implements MlsHandled {
    }
}
