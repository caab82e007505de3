package dev.veil.e2ee.mls;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.veil.e2ee.sframe.CipherSuite;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Deterministic randomized simulation of the MLS key mode: 2 to 12 members join and leave, several members commit
 * concurrently, handshake messages are delayed, delivered in different interleavings to different members and
 * sometimes lost (the member then catches up from the delivery service's log), media frames are lost and reordered.
 * The event sequence is fixed by the seed and the clock is manual; MLS key material itself comes from bcmls's own
 * SecureRandom, which no assertion depends on.
 *
 * <p>The delivery service model is the rule Veil's server enforces: one accepted commit per epoch, the first that
 * arrives; a commit for any other epoch is refused; everyone receives the accepted commits in the same order.
 *
 * <p>Checked throughout: no fork (every member that reaches epoch e has the same epoch authenticator and roster);
 * members at the same epoch decrypt each other; a removed member decrypts nothing sent under an epoch after its
 * removal. Checked once quiet: everyone at the same epoch, and everyone decrypts everyone.
 */
class MlsSimulationTest {
    private static final CipherSuite SUITE = CipherSuite.AES_128_GCM_SHA256_128;
    private static final byte[] MD = new byte[0];
    private static final byte[] GROUP = "sim".getBytes(StandardCharsets.UTF_8);

    private static final class Client {
        final String name;
        MlsKeyPackage kp;
        MlsGroupSession s;
        MlsFrameCrypto fc = new MlsFrameCrypto(SUITE, 500);
        final Deque<byte[]> inbox = new ArrayDeque<>();
        byte[] welcome;
        long removedAt = -1;

        Client(String name) {
            this.name = name;
            this.kp = MlsKeyPackage.create(name.getBytes(StandardCharsets.UTF_8));
        }

        boolean active() {
            return s != null && !s.isRemoved();
        }
    }

    private record Frame(Client sender, long epoch, byte[] bytes) {
    }

    /** The delivery service: accepted commits by epoch, members, refusal of stale or future epochs. */
    private final class Ds {
        long epoch;
        final List<byte[]> log = new ArrayList<>();
        final List<Client> members = new ArrayList<>();

        boolean submit(Client from, MlsCommit c, List<Client> adds, List<Client> removes) {
            if (c.epoch() != epoch) {
                refused++;
                return false;
            }
            log.add(c.commit());
            epoch++;
            for (Client m : members) {
                m.inbox.add(c.commit());
            }
            members.removeAll(removes);
            for (Client r : removes) {
                r.removedAt = epoch; // what the removed member must never decrypt: this epoch and later
            }
            for (Client a : adds) {
                a.welcome = c.welcome();
                members.add(a);
            }
            accepted++;
            return true;
        }
    }

    private int refused;
    private int accepted;
    private long now;
    private final Map<Long, byte[]> authByEpoch = new HashMap<>();
    private final Map<Long, List<MlsMember>> rosterByEpoch = new HashMap<>();
    private int removedChecks;
    private int sameEpochDecrypts;
    private int catchUps;

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 4, 5, 6})
    void churn(long seed) throws Exception {
        Random rnd = new Random(seed);
        SecureRandom mlsRandom = new SecureRandom();
        Ds ds = new Ds();
        List<Client> all = new ArrayList<>();
        Client first = new Client("c0");
        all.add(first);
        first.s = MlsGroupSession.create(GROUP, first.kp, mlsRandom);
        ds.members.add(first);
        applied(first);
        int nextName = 1;
        int maxSeen = 1;

        for (int step = 0; step < 160; step++) {
            now += 5 + rnd.nextInt(60);
            List<Client> active = all.stream().filter(Client::active).toList();
            int op = rnd.nextInt(10);
            if (op <= 1 && ds.members.size() < 12) { // join: a member adds a newcomer (maybe from a stale epoch)
                Client joiner = new Client("c" + nextName++);
                all.add(joiner);
                Client by = active.get(rnd.nextInt(active.size()));
                MlsCommit c = by.s.commit(List.of(joiner.kp.bytes()), List.of());
                if (!ds.submit(by, c, List.of(joiner), List.of())) {
                    by.s.discardPending(c);
                }
            } else if (op == 2 && ds.members.size() > 2) { // leave: a member removes another
                Client by = active.get(rnd.nextInt(active.size()));
                List<MlsMember> roster = by.s.roster();
                MlsMember victim = roster.get(rnd.nextInt(roster.size()));
                Client v = byName(all, victim);
                if (victim.leafIndex() != by.s.ownLeaf() && v != null && ds.members.contains(v)
                        && !by.s.wouldBeAlone(0, List.of(victim.leafIndex()))) {
                    MlsCommit c = by.s.commit(List.of(), List.of(victim.leafIndex()));
                    if (!ds.submit(by, c, List.of(), List.of(v))) {
                        by.s.discardPending(c);
                    }
                }
            } else if (op == 3 && active.size() >= 2) { // two members commit at once; the first to arrive wins
                Client x = active.get(rnd.nextInt(active.size()));
                Client y = active.get(rnd.nextInt(active.size()));
                if (x != y && ds.members.size() < 11) {
                    Client jx = new Client("c" + nextName++);
                    Client jy = new Client("c" + nextName++);
                    all.add(jx);
                    all.add(jy);
                    MlsCommit cx = x.s.commit(List.of(jx.kp.bytes()), List.of());
                    MlsCommit cy = y.s.commit(List.of(jy.kp.bytes()), List.of());
                    boolean ax = ds.submit(x, cx, List.of(jx), List.of());
                    boolean ay = ds.submit(y, cy, List.of(jy), List.of());
                    if (cx.epoch() == cy.epoch()) {
                        assertTrue(!(ax && ay), "two commits accepted for one epoch");
                    }
                    if (!ax) {
                        x.s.discardPending(cx);
                    }
                    if (!ay) {
                        y.s.discardPending(cy);
                    }
                }
            } else if (op <= 6) { // deliver some handshake messages to one client, sometimes losing one
                List<Client> waiting = all.stream().filter(c -> !c.inbox.isEmpty() || c.welcome != null).toList();
                if (!waiting.isEmpty()) {
                    Client c = waiting.get(rnd.nextInt(waiting.size()));
                    deliver(c, ds, rnd, 1 + rnd.nextInt(3), mlsRandom);
                }
            } else { // media: every active member sends; frames reach everyone else lost and reordered
                media(all, rnd, 0.1);
            }
            maxSeen = Math.max(maxSeen, ds.members.size());
        }

        // quiet: deliver everything, then everyone decrypts everyone
        for (int round = 0; round < 100 && all.stream().anyMatch(c -> !c.inbox.isEmpty() || c.welcome != null);
                round++) {
            for (Client c : all) {
                deliver(c, ds, rnd, Integer.MAX_VALUE, mlsRandom);
            }
        }
        now += 1_000;
        // a removed member whose removal commit was lost never learns it; it still holds no later epoch
        List<Client> active = ds.members;
        for (Client c : all) {
            assertTrue(ds.members.contains(c) == (c.active() && c.removedAt < 0), c.name + " membership");
        }
        for (Client c : active) {
            assertEquals(ds.epoch, c.s.epoch(), c.name + " epoch");
            assertArrayEquals(authByEpoch.get(ds.epoch), c.s.epochAuthenticator(), c.name + " authenticator");
            assertEquals(active.size(), c.s.roster().size());
        }
        media(all, rnd, 0.0);
        assertTrue(accepted >= 10, "accepted commits: " + accepted);
        assertTrue(maxSeen >= 4, "largest group: " + maxSeen);
        assertTrue(sameEpochDecrypts > 50, "same-epoch decrypts: " + sameEpochDecrypts);
        assertTrue(removedChecks > 0, "no removed member was ever tested");
        assertTrue(refused > 0, "no concurrent commit was refused");
        System.out.printf("seed %d: %d commits accepted, %d refused, %d catch-ups, epoch %d, %d members, max %d,"
                        + " %d removed-member checks%n", seed, accepted, refused, catchUps, ds.epoch,
                ds.members.size(), maxSeen, removedChecks);
    }

    private static Client byName(List<Client> all, MlsMember m) {
        String n = new String(m.identity(), StandardCharsets.UTF_8);
        for (Client c : all) {
            if (c.name.equals(n) && c.active()) {
                return c;
            }
        }
        return null;
    }

    private void deliver(Client c, Ds ds, Random rnd, int max, SecureRandom mlsRandom) throws Exception {
        if (c.welcome != null) {
            c.s = MlsGroupSession.join(c.kp, c.welcome, mlsRandom);
            c.welcome = null;
            applied(c);
        }
        for (int i = 0; i < max && !c.inbox.isEmpty(); i++) {
            byte[] m = c.inbox.poll();
            if (max != Integer.MAX_VALUE && rnd.nextInt(12) == 0) {
                continue; // lost; the next commit will show the gap
            }
            if (c.s == null || c.s.isRemoved()) {
                continue;
            }
            MlsHandled h = c.s.handle(m);
            if (h instanceof MlsHandled.Applied) {
                applied(c);
            } else if (h instanceof MlsHandled.Removed r) {
                assertEquals(c.removedAt, r.epoch(), c.name + " learns the removal the DS accepted");
            } else if (h instanceof MlsHandled.OutOfSync) {
                // catch up: the delivery service replays its log from this member's epoch
                catchUps++;
                c.inbox.clear();
                for (int e = (int) c.s.epoch(); e < ds.log.size(); e++) {
                    c.inbox.add(ds.log.get(e));
                }
            }
        }
    }

    private void applied(Client c) {
        long e = c.s.epoch();
        byte[] auth = c.s.epochAuthenticator();
        byte[] known = authByEpoch.putIfAbsent(e, auth);
        if (known != null) {
            assertArrayEquals(known, auth, "fork at epoch " + e + " (" + c.name + ")");
        }
        List<MlsMember> roster = c.s.roster();
        List<MlsMember> knownRoster = rosterByEpoch.putIfAbsent(e, roster);
        if (knownRoster != null) {
            assertEquals(knownRoster, roster, "roster differs at epoch " + e);
        }
        c.fc.install(MlsEpochKeys.of(c.s, SUITE), now);
    }

    private void media(List<Client> all, Random rnd, double loss) throws Exception {
        List<Frame> frames = new ArrayList<>();
        for (Client c : all) {
            if (c.active()) {
                byte[] pt = (c.name + "@" + now).getBytes(StandardCharsets.UTF_8);
                frames.add(new Frame(c, c.s.epoch(), c.fc.encrypt(MD, pt)));
            }
        }
        Collections.shuffle(frames, rnd);
        for (Frame f : frames) {
            for (Client r : all) {
                if (r == f.sender || rnd.nextDouble() < loss) {
                    continue;
                }
                byte[] pt = r.fc.decrypt(MD, f.bytes, now);
                if (r.removedAt >= 0 && f.epoch >= r.removedAt) {
                    assertNull(pt, r.name + " removed at epoch " + r.removedAt + " decrypted epoch " + f.epoch);
                    removedChecks++;
                } else if (r.active() && r.s.epoch() == f.epoch) {
                    if (pt == null) {
                        fail(r.name + " could not decrypt " + f.sender.name + " at their common epoch " + f.epoch);
                    }
                    assertNotNull(pt);
                    sameEpochDecrypts++;
                }
            }
        }
    }
}
