package dev.veil.bench.keymode;

import static dev.veil.bench.keymode.SenderKeysRoom.check;
import static dev.veil.bench.keymode.SenderKeysRoom.max;
import static dev.veil.bench.keymode.SenderKeysRoom.min;

import dev.veil.e2ee.mls.MlsCommit;
import dev.veil.e2ee.mls.MlsEpochKeys;
import dev.veil.e2ee.mls.MlsFrameCrypto;
import dev.veil.e2ee.mls.MlsGroupSession;
import dev.veil.e2ee.mls.MlsHandled;
import dev.veil.e2ee.mls.MlsKeyPackage;
import dev.veil.e2ee.sframe.CipherSuite;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The MLS key mode (docs/PROTOCOL.md §4) as Veil runs it: the server is the delivery service (first commit of an
 * epoch wins, fanned out to every member, the committer included; the Welcome to the joiner), the member with the
 * lowest leaf index commits adds and removals, a newcomer publishes its key package when the server tells it to
 * join, and media keys come from the MLS exporter (RFC 9605 §5.2). One {@link MlsGroupSession} and
 * {@link MlsFrameCrypto} per member, on bcmls.
 */
final class MlsRoom implements KeyModeRoom {
    private static final CipherSuite SUITE = CipherSuite.AES_128_GCM_SHA256_128;
    private static final byte[] MD = {7};
    private static final String SERVER = "server";
    private static final long QUIET_LIMIT_NANOS = 120_000_000_000L;

    private static final class Member {
        final String id;
        MlsKeyPackage kp;
        MlsGroupSession s;
        final MlsFrameCrypto fc = new MlsFrameCrypto(SUITE);
        boolean live = true;

        Member(String id) {
            this.id = id;
        }

        void install(long nowMillis) {
            fc.install(MlsEpochKeys.of(s, SUITE), nowMillis);
        }
    }

    private final SecureRandom random;
    private final Map<String, Member> members = new LinkedHashMap<>(); // live, in join order
    private final Map<String, Member> byId = new HashMap<>();
    private long dsEpoch;
    private int nextId;
    private int addCommitBytes;
    private int welcomeBytes;
    private int removeCommitBytes;

    MlsRoom(SecureRandom random) {
        this.random = random;
    }

    @Override
    public String mode() {
        return "MLS";
    }

    @Override
    public int size() {
        return members.size();
    }

    /** Sizes of the last add commit, its Welcome and the last remove commit. */
    int addCommitBytes() {
        return addCommitBytes;
    }

    int welcomeBytes() {
        return welcomeBytes;
    }

    int removeCommitBytes() {
        return removeCommitBytes;
    }

    private Member newMember() {
        Member m = new Member("mls" + nextId++);
        byId.put(m.id, m);
        return m;
    }

    private static byte[] id(Member m) {
        return m.id.getBytes(StandardCharsets.UTF_8);
    }

    /** One commit of the founder adds everyone (not measured). */
    @Override
    public void setUp(int n, long startNanos) throws Exception {
        long now = startNanos / 1_000_000;
        Member founder = newMember();
        founder.kp = MlsKeyPackage.create(id(founder));
        founder.s = MlsGroupSession.create("bench".getBytes(StandardCharsets.UTF_8), founder.kp, random);
        members.put(founder.id, founder);
        List<Member> rest = new ArrayList<>();
        for (int i = 1; i < n; i++) {
            Member m = newMember();
            m.kp = MlsKeyPackage.create(id(m));
            rest.add(m);
        }
        if (!rest.isEmpty()) {
            MlsCommit c = founder.s.commit(rest.stream().map(m -> m.kp.bytes()).toList(), List.of());
            check(founder.s.handle(c.commit()) instanceof MlsHandled.Applied, "founder's commit");
            for (Member m : rest) {
                m.s = MlsGroupSession.join(m.kp, c.welcome(), random);
                members.put(m.id, m);
            }
        }
        dsEpoch = founder.s.epoch();
        for (Member m : members.values()) {
            m.install(now);
        }
        for (Member a : members.values()) {
            for (Member b : members.values()) {
                check(a == b || decrypts(a, b, startNanos), b.id + " cannot decrypt " + a.id + " after set-up");
            }
        }
    }

    /** The member that commits: the lowest leaf index among those present. */
    private Member committer() {
        return members.values().stream().filter(m -> m.s != null)
                .min((a, b) -> Integer.compare(a.s.ownLeaf(), b.s.ownLeaf())).orElseThrow();
    }

    @Override
    public JoinOutcome join(EventSim sim) throws Exception {
        Member x = newMember();
        List<Member> present = new ArrayList<>(members.values());
        members.put(x.id, x);
        Member committer = committer();
        long t0 = sim.nowNanos();
        sim.resetCounters();
        Map<String, Long> joinerDecrypts = new HashMap<>();
        Map<String, Long> decryptJoiner = new HashMap<>();
        sim.observer((actor, end) -> {
            if (actor.equals(SERVER)) {
                return;
            }
            Member a = byId.get(actor);
            for (Member m : a == x ? present : List.of(a)) {
                if (!joinerDecrypts.containsKey(m.id) && decrypts(m, x, end)) {
                    joinerDecrypts.put(m.id, end - t0);
                }
                if (!decryptJoiner.containsKey(m.id) && decrypts(x, m, end)) {
                    decryptJoiner.put(m.id, end - t0);
                }
            }
        });
        // the server's mls_event "join" reaches the newcomer one hop later; it publishes a key package, which the
        // server relays to every member; the committer commits it
        sim.at(t0 + sim.hopNanos(), x.id, out -> {
            x.kp = MlsKeyPackage.create(id(x));
            byte[] kp = x.kp.bytes();
            out.send(1, SERVER, kp.length, o2 -> {
                for (Member m : present) {
                    o2.send(1, m.id, kp.length, o3 -> {
                        if (m == committer) {
                            MlsCommit c = m.s.commit(List.of(kp), List.of());
                            addCommitBytes = c.commit().length;
                            welcomeBytes = c.welcome().length;
                            submit(o3, m, c, present, x);
                        }
                    });
                }
            });
        });
        check(sim.runUntilQuiet(t0 + QUIET_LIMIT_NANOS), "join did not settle");
        check(joinerDecrypts.size() == present.size() && decryptJoiner.size() == present.size(),
                "join: " + joinerDecrypts.size() + " and " + decryptJoiner.size() + " of " + present.size());
        return new JoinOutcome(min(joinerDecrypts), max(joinerDecrypts), max(decryptJoiner), sim.messages(),
                sim.bytes(), sim.nowNanos());
    }

    /**
     * The committer sends its commit (and Welcome) to the server; the server accepts it if it is for the current
     * epoch and fans the commit out to {@code to} and the Welcome to {@code joiner} (if any).
     */
    private void submit(EventSim.Out out, Member from, MlsCommit c, List<Member> to, Member joiner) {
        byte[] commit = c.commit();
        byte[] welcome = c.welcome();
        int size = commit.length + (welcome == null ? 0 : welcome.length);
        out.send(1, SERVER, size, o2 -> {
            check(c.epoch() == dsEpoch, "the delivery service refused a commit of epoch " + c.epoch());
            dsEpoch++;
            for (Member m : to) {
                o2.send(1, m.id, commit.length, o3 -> {
                    if (m.live) {
                        MlsHandled h = m.s.handle(commit);
                        check(h instanceof MlsHandled.Applied, m.id + ": " + h);
                        m.install(o3.nowMillis());
                    }
                });
            }
            if (joiner != null) {
                o2.send(1, joiner.id, welcome.length, o3 -> {
                    joiner.s = MlsGroupSession.join(joiner.kp, welcome, random);
                    joiner.install(o3.nowMillis());
                });
            }
        });
    }

    @Override
    public LeaveOutcome leaveNewest(EventSim sim) throws Exception {
        List<Member> order = new ArrayList<>(members.values());
        Member y = order.get(order.size() - 1);
        y.live = false;
        members.remove(y.id);
        List<Member> remaining = new ArrayList<>(members.values());
        Member committer = committer();
        int leaf = y.s.ownLeaf();
        long t0 = sim.nowNanos();
        sim.resetCounters();
        Map<String, Long> locked = new HashMap<>();
        sim.observer((actor, end) -> {
            if (actor.equals(SERVER)) {
                return;
            }
            Member m = byId.get(actor);
            if (m.live && !locked.containsKey(m.id) && !decrypts(m, y, end)) {
                locked.put(m.id, end - t0);
            }
        });
        // connection.destroyed reaches the committer one hop later (the others do nothing with it)
        sim.at(t0 + sim.hopNanos(), committer.id, out -> {
            MlsCommit c = committer.s.commit(List.of(), List.of(leaf));
            removeCommitBytes = c.commit().length;
            submit(out, committer, c, remaining, null);
        });
        check(sim.runUntilQuiet(t0 + QUIET_LIMIT_NANOS), "leave did not settle");
        check(locked.size() == remaining.size(), "leave: " + locked.size() + " of " + remaining.size() + " locked");
        for (Member a : remaining) {
            check(!decrypts(a, y, sim.nowNanos()), y.id + " still decrypts " + a.id);
            for (Member b : remaining) {
                check(a == b || decrypts(a, b, sim.nowNanos()), b.id + " cannot decrypt " + a.id + " after leave");
            }
        }
        y.fc.destroy();
        return new LeaveOutcome(min(locked), max(locked), sim.messages(), sim.bytes(), sim.nowNanos());
    }

    /** Whether {@code to} decrypts a frame {@code from} sends now. */
    private static boolean decrypts(Member from, Member to, long nowNanos) {
        if (from.s == null || to.s == null || from.fc.currentEpoch().isEmpty()) {
            return false;
        }
        byte[] payload = ("frame of " + from.id).getBytes(StandardCharsets.US_ASCII);
        try {
            byte[] out = to.fc.decrypt(MD, from.fc.encrypt(MD, payload), nowNanos / 1_000_000);
            return out != null && Arrays.equals(out, payload);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        for (Member m : members.values()) {
            m.fc.destroy();
        }
        members.clear();
    }
}
