package dev.veil.bench.keymode;

import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.ToLongFunction;

/**
 * Join → first decrypted frame and leave → leaver locked out, MLS key mode side by side with the sender-keys mode,
 * for rooms of 2, 10, 50 and 100 members (issue 13; docs/BENCHMARKS.md). Every member is the real veil-e2ee engine
 * in memory ({@link EventSim}): a step costs the thread CPU time it really took, each hop to or from the server
 * costs {@code hopMs} (the server's own work is counted the same way, and is negligible). For each size, {@code reps}
 * rounds of "a newcomer joins, then the newest member leaves" on the same room, after one warm-up round; medians.
 * Run: {@code java -cp veil-bench/target/benchmarks.jar dev.veil.bench.keymode.KeyModeLatency [hopMs] [reps]
 * [sizes...]}.
 */
public final class KeyModeLatency {
    private KeyModeLatency() {
    }

    /** The outcomes of the rounds of one room. */
    record Rounds(String mode, int n, List<KeyModeRoom.JoinOutcome> joins, List<KeyModeRoom.LeaveOutcome> leaves,
                  String sizes) {
    }

    public static void main(String[] args) throws Exception {
        long hopMs = args.length > 0 ? Long.parseLong(args[0]) : 0;
        int reps = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        int[] sizes = args.length > 2 ? Arrays.stream(args, 2, args.length).mapToInt(Integer::parseInt).toArray()
                : new int[] {2, 10, 50, 100};
        EventSim.Cost cost = EventSim.threadCpu();
        // warm-up (JIT): discarded
        run(new SenderKeysRoom(new SecureRandom()), 10, 3, cost, hopMs);
        run(new MlsRoom(new SecureRandom()), 10, 3, cost, hopMs);
        System.out.printf(Locale.ROOT, "hop %d ms, %d rounds per size, medians; times in ms from the server's "
                + "admission / removal%n", hopMs, reps);
        System.out.println("| n | mode | joiner decrypts 1st member | joiner decrypts all | all decrypt joiner "
                + "| join msgs | join KiB | leaver locked out by 1st | by all | leave msgs | leave KiB | MLS bytes |");
        System.out.println("|---|---|---|---|---|---|---|---|---|---|---|---|");
        for (int n : sizes) {
            for (Rounds r : List.of(run(new SenderKeysRoom(new SecureRandom()), n, reps, cost, hopMs),
                    run(new MlsRoom(new SecureRandom()), n, reps, cost, hopMs))) {
                System.out.println(row(r));
            }
        }
    }

    /** Sets up a room of {@code n} and runs {@code reps} join + leave rounds on it. */
    static Rounds run(KeyModeRoom room, int n, int reps, EventSim.Cost cost, long hopMs) throws Exception {
        try (room) {
            long clock = 1_000_000_000L;
            room.setUp(n, clock);
            List<KeyModeRoom.JoinOutcome> joins = new ArrayList<>();
            List<KeyModeRoom.LeaveOutcome> leaves = new ArrayList<>();
            String sizes = "";
            for (int i = 0; i < reps; i++) {
                clock += 10_000_000_000L; // 10 s between operations: timers of the previous one are over
                KeyModeRoom.JoinOutcome j = room.join(new EventSim(cost, hopMs * 1_000_000, clock));
                joins.add(j);
                clock = j.endNanos() + 10_000_000_000L;
                KeyModeRoom.LeaveOutcome l = room.leaveNewest(new EventSim(cost, hopMs * 1_000_000, clock));
                leaves.add(l);
                clock = l.endNanos();
                if (room instanceof MlsRoom m) {
                    sizes = "add " + m.addCommitBytes() + " + welcome " + m.welcomeBytes() + ", remove "
                            + m.removeCommitBytes();
                }
                if (room.size() != n) {
                    throw new IllegalStateException("room of " + room.size() + " after a round, not " + n);
                }
            }
            return new Rounds(room.mode(), n, joins, leaves, sizes);
        }
    }

    static <T> long median(List<T> xs, ToLongFunction<T> f) {
        long[] v = xs.stream().mapToLong(f).sorted().toArray();
        return v[v.length / 2];
    }

    private static String row(Rounds r) {
        return String.format(Locale.ROOT, "| %d | %s | %s | %s | %s | %d | %.1f | %s | %s | %d | %.1f | %s |", r.n,
                r.mode, ms(median(r.joins, KeyModeRoom.JoinOutcome::joinerFirstNanos)),
                ms(median(r.joins, KeyModeRoom.JoinOutcome::joinerAllNanos)),
                ms(median(r.joins, KeyModeRoom.JoinOutcome::membersAllNanos)),
                median(r.joins, KeyModeRoom.JoinOutcome::messages),
                median(r.joins, KeyModeRoom.JoinOutcome::bytes) / 1024.0,
                ms(median(r.leaves, KeyModeRoom.LeaveOutcome::lockoutFirstNanos)),
                ms(median(r.leaves, KeyModeRoom.LeaveOutcome::lockoutAllNanos)),
                median(r.leaves, KeyModeRoom.LeaveOutcome::messages),
                median(r.leaves, KeyModeRoom.LeaveOutcome::bytes) / 1024.0, r.sizes.isEmpty() ? "" : r.sizes);
    }

    private static String ms(long nanos) {
        return String.format(Locale.ROOT, "%.1f", nanos / 1e6);
    }
}
