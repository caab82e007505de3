package dev.veil.bench.keymode;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.security.SecureRandom;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The join / leave comparison with free steps (only the 10 ms hops take time), so every figure is exact: the number
 * of one-way hops on each mode's critical path, and its message counts (one per leg to or from the server). Each round also checks (in the rooms) that
 * the newcomer and the members decrypt each other's real frames and that the leaver decrypts no frame sent after
 * the lockout.
 */
class KeyModeLatencyTest {
    private static final long HOP = 10;

    private static KeyModeLatency.Rounds run(KeyModeRoom room, int n) throws Exception {
        return KeyModeLatency.run(room, n, 2, EventSim.FREE, HOP);
    }

    private static long ms(long nanos) {
        return nanos / 1_000_000;
    }

    @Test
    void senderKeys_joinTakesThreeHops_leaveFive() throws Exception {
        for (int n : new int[] {2, 5}) {
            KeyModeLatency.Rounds r = run(new SenderKeysRoom(new SecureRandom()), n);
            for (KeyModeRoom.JoinOutcome j : r.joins()) {
                // connection.created (1 hop), then each KEY member → server → member (2)
                assertEquals(List.of(30L, 30L, 30L), List.of(ms(j.joinerFirstNanos()), ms(j.joinerAllNanos()),
                        ms(j.membersAllNanos())), n + " members");
                // n KEYs to the newcomer, n from it, 2n acks, each member → server → member (two messages)
                assertEquals(8L * n, j.messages(), n + " members");
            }
            for (KeyModeRoom.LeaveOutcome l : r.leaves()) {
                // connection.destroyed (1), the new key to every other member (2), their acks back (2)
                assertEquals(List.of(50L, 50L), List.of(ms(l.lockoutFirstNanos()), ms(l.lockoutAllNanos())));
                // a KEY and an ack per ordered pair, each through the server
                assertEquals(4L * n * (n - 1), l.messages(), n + " members");
            }
        }
    }

    @Test
    void mls_joinTakesFiveHops_leaveThree() throws Exception {
        for (int n : new int[] {2, 5}) {
            KeyModeLatency.Rounds r = run(new MlsRoom(new SecureRandom()), n);
            for (KeyModeRoom.JoinOutcome j : r.joins()) {
                // join event (1), key package to the server (1) and to the committer (1), commit to the server (1),
                // commit to the members and Welcome to the newcomer (1)
                assertEquals(List.of(50L, 50L, 50L), List.of(ms(j.joinerFirstNanos()), ms(j.joinerAllNanos()),
                        ms(j.membersAllNanos())), n + " members");
                // key package up + to n members, commit(+Welcome) up + to n members + Welcome down
                assertEquals(2L * n + 3, j.messages(), n + " members");
            }
            for (KeyModeRoom.LeaveOutcome l : r.leaves()) {
                // connection.destroyed (1), commit to the server (1) and to every member (1)
                assertEquals(List.of(30L, 30L), List.of(ms(l.lockoutFirstNanos()), ms(l.lockoutAllNanos())));
                assertEquals(1L + n, l.messages(), n + " members");
            }
        }
    }
}
