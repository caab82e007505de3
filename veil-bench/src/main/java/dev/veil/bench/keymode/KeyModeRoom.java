package dev.veil.bench.keymode;

/**
 * A room of members in one E2EE key mode, driven through an {@link EventSim}: one newcomer joins, then the newest
 * member leaves. Members are the real veil-e2ee engines with real media frames (SFrame), all in memory.
 */
interface KeyModeRoom extends AutoCloseable {
    /** The mode's name in the tables. */
    String mode();

    /** Builds a settled room of {@code n} members (not measured); the clock then reads {@code startNanos}. */
    void setUp(int n, long startNanos) throws Exception;

    /** Members in the room. */
    int size();

    /**
     * At {@code sim}'s clock the server admits a newcomer; runs until quiet. Times are from the admission to the end
     * of the step after which the frames concerned decrypt (a frame's own media transit excluded: it is the same in
     * both modes).
     */
    JoinOutcome join(EventSim sim) throws Exception;

    /** At {@code sim}'s clock the newest member leaves (the server drops it); runs until quiet. */
    LeaveOutcome leaveNewest(EventSim sim) throws Exception;

    @Override
    void close();

    /**
     * @param joinerFirstNanos the newcomer decrypts a frame of its first member
     * @param joinerAllNanos   ... of every member
     * @param membersAllNanos  every member decrypts the newcomer's frames
     * @param messages         messages through the server: each leg (member → server, server → member) counts
     * @param bytes            their bytes
     */
    record JoinOutcome(long joinerFirstNanos, long joinerAllNanos, long membersAllNanos, long messages, long bytes,
                       long endNanos) {
    }

    /**
     * @param lockoutFirstNanos the first remaining member sends frames the leaver cannot decrypt
     * @param lockoutAllNanos   every remaining member does (the leaver is locked out)
     * @param messages          messages through the server, per leg
     * @param bytes             their bytes
     */
    record LeaveOutcome(long lockoutFirstNanos, long lockoutAllNanos, long messages, long bytes, long endNanos) {
    }
}
