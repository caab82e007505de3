package dev.veil.e2ee.mls;

import java.util.List;

/**
 * A commit this member created for {@code epoch}, not yet applied: it is sent to the delivery service and applied
 * only when the delivery service hands it back as the accepted commit of that epoch ({@link MlsGroupSession#handle}).
 * {@code welcome} is the serialized Welcome for the members it adds (null if it adds none); {@code roster} the
 * members of the epoch it starts (by leaf index), so the caller can tell the delivery service who is at which leaf.
 */
public record MlsCommit(long epoch, byte[] commit, byte[] welcome, List<MlsMember> roster) {
    public MlsCommit {
        commit = commit.clone();
        welcome = welcome == null ? null : welcome.clone();
        roster = roster == null ? List.of() : List.copyOf(roster);
    }

    public MlsCommit(long epoch, byte[] commit, byte[] welcome) {
        this(epoch, commit, welcome, null);
    }

    @Override
    public byte[] commit() {
        return commit.clone();
    }

    @Override
    public byte[] welcome() {
        return welcome == null ? null : welcome.clone();
    }

    @Override
    public String toString() {
        return "MlsCommit[epoch=" + epoch + ", commit=" + commit.length + " B, welcome="
                + (welcome == null ? "none" : welcome.length + " B") + "]";
    }
}
