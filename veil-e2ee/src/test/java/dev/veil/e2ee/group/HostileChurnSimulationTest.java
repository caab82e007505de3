package dev.veil.e2ee.group;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.veil.e2ee.group.GroupOutput.ActivateSendKey;
import dev.veil.e2ee.group.GroupOutput.SendTo;
import dev.veil.e2ee.identity.Bundle;
import dev.veil.e2ee.identity.Identity;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * A malicious server against the removal bound (docs/SECURITY.md §2): honest members under a discrete-event
 * scheduler where the server delays every relay message (10-400 ms), drops a share of them, and churns ghost
 * members (its own connections, valid bundles, that never acknowledge anything) joining and leaving every few
 * hundred milliseconds, overlapping the real leaves. For every leave each member processes, the test measures
 * the time until that member sends under a key of a generation above every key it could have given the leaver
 * (the highest generation it held, active or pending, when it processed the leave): the leaver cannot derive it.
 * The bound must hold whatever the server does: {@code activationTimeoutMillis} (1.5 s).
 */
class HostileChurnSimulationTest {
    private static final int HONEST = 4;
    private static final List<Identity> GHOSTS = new ArrayList<>();

    static {
        DeterministicRandom r = new DeterministicRandom(0xC4A5);
        for (int i = 0; i < 40; i++) {
            GHOSTS.add(Identity.generate(r));
        }
    }

    /** One scheduled event. */
    record Event(long at, long seq, Runnable run) {
    }

    /** An open measurement: member m processed the leave of x at {@code since}; done once its generation > gMax. */
    static final class Removal {
        final String member;
        final long since;
        final long gMax;

        Removal(String member, long since, long gMax) {
            this.member = member;
            this.since = since;
            this.gMax = gMax;
        }
    }

    static final class Stats {
        final List<Long> latencies = new ArrayList<>();
        int ghostJoins;
        int leaves;
        int dropped;

        long max() {
            return latencies.stream().mapToLong(Long::longValue).max().orElse(-1);
        }

        long median() {
            List<Long> s = new ArrayList<>(latencies);
            s.sort(null);
            return s.isEmpty() ? -1 : s.get(s.size() / 2);
        }
    }

    static final class Sim {
        final Random rnd;
        final double loss;
        final boolean churn;
        final PriorityQueue<Event> queue = new PriorityQueue<>((a, b) -> a.at != b.at ? Long.compare(a.at, b.at)
                : Long.compare(a.seq, b.seq));
        final Map<String, GroupKeyManager> managers = new LinkedHashMap<>();
        final Map<String, Long> timerAt = new HashMap<>();
        final Map<String, Long> linkTail = new HashMap<>(); // honest runs: the relay keeps each link FIFO
        final List<Removal> open = new ArrayList<>();
        final Stats stats = new Stats();
        long seq;
        long now;

        Sim(long seed, double loss, boolean churn) {
            this.rnd = new Random(seed);
            this.loss = loss;
            this.churn = churn;
        }

        void at(long t, Runnable r) {
            queue.add(new Event(t, seq++, r));
        }

        void run(long until) {
            while (!queue.isEmpty() && queue.peek().at <= until) {
                Event e = queue.poll();
                now = e.at;
                e.run.run();
            }
        }

        /** Applies a member's outputs: relay messages through the hostile relay, timers, measurements. */
        void drain(String m) {
            GroupKeyManager g = managers.get(m);
            if (g == null) {
                return;
            }
            for (GroupOutput o : g.drainOutputs()) {
                if (o instanceof SendTo s && managers.containsKey(s.connectionId())) {
                    if (rnd.nextDouble() < loss) {
                        stats.dropped++;
                        continue;
                    }
                    String to = s.connectionId();
                    byte[] msg = s.message();
                    long t = now + 10 + rnd.nextInt(390);
                    if (!churn) {
                        t = Math.max(t, linkTail.getOrDefault(m + ">" + to, 0L) + 1);
                        linkTail.put(m + ">" + to, t);
                    }
                    at(t, () -> {
                        GroupKeyManager r = managers.get(to);
                        if (r != null) {
                            r.messageReceived(now, m, msg);
                            drain(to);
                        }
                    });
                } else if (o instanceof ActivateSendKey a) {
                    open.removeIf(rm -> {
                        if (rm.member.equals(m) && a.keyId().generation() > rm.gMax) {
                            stats.latencies.add(now - rm.since);
                            return true;
                        }
                        return false;
                    });
                }
            }
            g.pollTimeout().ifPresent(t -> {
                if (!Long.valueOf(t).equals(timerAt.get(m))) {
                    timerAt.put(m, t);
                    at(Math.max(t, now), () -> {
                        GroupKeyManager r = managers.get(m);
                        if (r != null && Long.valueOf(t).equals(timerAt.get(m))) {
                            timerAt.remove(m);
                            r.handleTimeout(now);
                            drain(m);
                        }
                    });
                }
            });
        }

        void leave(String m, String x) {
            GroupKeyManager g = managers.get(m);
            long gMax = Math.max(g.activeKeyId().generation(),
                    g.pendingKeyId().map(k -> k.generation()).orElse(0L));
            boolean wasMember = g.members().stream().anyMatch(b -> b.connectionId().equals(x));
            g.memberLeft(now, x);
            if (wasMember) {
                open.add(new Removal(m, now, gMax));
                stats.leaves++;
            }
            drain(m);
        }

        Stats run() {
            List<String> honest = new ArrayList<>();
            for (int i = 0; i < HONEST; i++) {
                String id = "member-" + i;
                honest.add(id);
                managers.put(id, new GroupKeyManager(GHOSTS.get(i), id, new DeterministicRandom(rnd.nextLong())));
            }
            for (String m : honest) {
                List<Bundle> others = new ArrayList<>();
                for (int j = 0; j < HONEST; j++) {
                    if (!honest.get(j).equals(m)) {
                        others.add(GHOSTS.get(j).bundle(honest.get(j)));
                    }
                }
                managers.get(m).membersJoined(0, others);
                drain(m);
            }
            // real leaves: member-3 at 2 s, member-2 at 6 s; each member hears of it within 0-100 ms
            for (int k = 0; k < 2; k++) {
                String x = honest.get(HONEST - 1 - k);
                long t = 2_000 + 4_000L * k;
                at(t, () -> {
                    managers.remove(x);
                    open.removeIf(r -> r.member.equals(x)); // it left: it sends nothing more
                    for (String m : List.copyOf(managers.keySet())) {
                        if (!m.startsWith("ghost")) {
                            at(now + rnd.nextInt(100), () -> {
                                if (managers.containsKey(m)) {
                                    leave(m, x);
                                }
                            });
                        }
                    }
                });
            }
            // ghost churn: a ghost joins every 300 ms and leaves 100-700 ms later (they overlap)
            if (churn) {
                for (int i = 0; i < 30; i++) {
                    Identity gi = GHOSTS.get(HONEST + i);
                    String gid = "ghost-" + i;
                    long t = 1_000 + 300L * i;
                    long stay = 100 + rnd.nextInt(600);
                    at(t, () -> {
                        stats.ghostJoins++;
                        for (String m : List.copyOf(managers.keySet())) {
                            managers.get(m).memberJoined(now, gi.bundle(gid));
                            drain(m);
                        }
                    });
                    at(t + stay, () -> {
                        for (String m : List.copyOf(managers.keySet())) {
                            leave(m, gid);
                        }
                    });
                }
            }
            run(30_000);
            StringBuilder why = new StringBuilder();
            for (Removal r : open) {
                GroupKeyManager g = managers.get(r.member);
                why.append(r.member).append(" since ").append(r.since).append(" gMax ").append(r.gMax)
                        .append(": ").append(g).append(" deadline ").append(g.pendingDeadline()).append("; ");
            }
            assertTrue(open.isEmpty(), "every removal completed: " + open.size() + " still open: " + why);
            return stats;
        }
    }

    @Test
    void ghostChurnDelaysAndLosses_neverPostponeRemovalBeyondTheBound() {
        Stats all = new Stats();
        for (long seed = 1; seed <= 20; seed++) {
            Stats s = new Sim(seed, 0.2, true).run();
            all.latencies.addAll(s.latencies);
            all.ghostJoins += s.ghostJoins;
            all.leaves += s.leaves;
            all.dropped += s.dropped;
        }
        System.out.println("hostile churn: " + all.leaves + " leaves processed, " + all.ghostJoins
                + " ghost joins, " + all.dropped + " relay messages dropped; leave -> key the leaver cannot derive:"
                + " median " + all.median() + " ms, worst " + all.max() + " ms");
        assertTrue(all.leaves > 20 * 30, "the churn produced leaves");
        assertTrue(all.max() <= GroupKeyManager.Config.DEFAULT.activationTimeoutMillis(),
                "worst " + all.max() + " ms exceeds the bound");
    }

    @Test
    void withAllAcknowledgements_rotationTakesOneRelayRoundTrip() {
        Stats all = new Stats();
        for (long seed = 1; seed <= 20; seed++) {
            Stats s = new Sim(seed, 0, false).run();
            all.latencies.addAll(s.latencies);
        }
        System.out.println("no loss, no churn: leave -> key the leaver cannot derive: median " + all.median()
                + " ms, worst " + all.max() + " ms");
        assertTrue(all.max() <= 800, "one round trip of at most 2 x 400 ms, was " + all.max());
    }
}
