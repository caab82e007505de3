package dev.veil.e2ee.group;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.veil.e2ee.codec.DecryptResult;
import dev.veil.e2ee.group.GroupOutput.ActivateSendKey;
import dev.veil.e2ee.group.GroupOutput.ForgetSender;
import dev.veil.e2ee.group.GroupOutput.InstallKey;
import dev.veil.e2ee.group.GroupOutput.Rejected;
import dev.veil.e2ee.group.GroupOutput.SendTo;
import dev.veil.e2ee.identity.Bundle;
import dev.veil.e2ee.identity.Identity;
import dev.veil.e2ee.key.KeyId;
import dev.veil.e2ee.key.KeyRatchet;
import dev.veil.e2ee.pairwise.PairwiseChannel;
import dev.veil.e2ee.pairwise.PairwiseTesting;
import dev.veil.e2ee.sframe.CipherSuite;
import dev.veil.e2ee.sframe.SFrameReceiver;
import dev.veil.e2ee.sframe.SFrameSender;
import dev.veil.e2ee.util.SecretBytes;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Seeded random interleavings of joins, leaves, notifications, relay deliveries, clock ticks and media frames over
 * rooms of 2-12 members. The network is the server's: every sender→receiver relay link is FIFO, and so is each
 * member's notification stream, but links and notifications interleave arbitrarily. Frames are real SFrame frames
 * (AES_128_GCM_SHA256_128) through the frame layer's {@link SFrameReceiver} key ring, fed only by the manager's
 * outputs. Once quiet, it checks:
 * <ol>
 *   <li>convergence: no pending key anywhere, every member sees the server's member set and the same verification
 *       code, and every member decrypts a fresh frame of every other member;</li>
 *   <li>forward secrecy: no departed member can derive (from every KEY ever sealed to it, delivered or not, ratcheted
 *       forward as far as it likes) any key a member activated after processing its leave;</li>
 *   <li>backward secrecy: no member can derive any key another member activated before processing its join;</li>
 *   <li>no rejection other than {@code UNKNOWN_SENDER} (late messages of departed members) in an honest run.</li>
 * </ol>
 * A failure names its seed; {@code -Dveil.sim.seeds=N} runs more (default 2000), {@code -Dveil.sim.seed=S} one.
 */
class GroupKeySimulationTest {
    private static final CipherSuite SUITE = CipherSuite.AES_128_GCM_SHA256_128;
    private static final List<Identity> POOL = new ArrayList<>();
    private static final Map<Integer, byte[]> SHARED = new HashMap<>();

    static {
        DeterministicRandom r = new DeterministicRandom(0x5EED);
        for (int i = 0; i < 48; i++) {
            POOL.add(Identity.generate(r)); // shared across runs (never destroyed) to keep the test fast
        }
    }

    @Test
    void randomInterleavings_convergeAndKeepForwardAndBackwardSecrecy() {
        String one = System.getProperty("veil.sim.seed");
        if (one != null) {
            runSeed(Long.parseLong(one));
            return;
        }
        int seeds = Integer.getInteger("veil.sim.seeds", 2000);
        Stats total = new Stats();
        for (long seed = 1; seed <= seeds; seed++) {
            total.add(runSeed(seed));
        }
        System.out.println("group key simulation: " + seeds + " seeds, " + total);
        assertTrue(total.leaves > seeds, "the runs must include leaves");
        assertTrue(total.racyKeys > 0, "some key messages must overtake their join notification");
    }

    static Stats runSeed(long seed) {
        try {
            Sim s = new Sim(seed);
            s.run();
            return s.stats;
        } catch (AssertionError | RuntimeException e) {
            throw new AssertionError("simulation seed " + seed + " (rerun with -Dveil.sim.seed=" + seed + "): "
                    + e.getMessage(), e);
        }
    }

    static final class Stats {
        long joins, leaves, deliveries, frames, framesOk, racyKeys, activations, fsChecks, bsChecks;

        void add(Stats o) {
            joins += o.joins;
            leaves += o.leaves;
            deliveries += o.deliveries;
            frames += o.frames;
            framesOk += o.framesOk;
            racyKeys += o.racyKeys;
            activations += o.activations;
            fsChecks += o.fsChecks;
            bsChecks += o.bsChecks;
        }

        @Override
        public String toString() {
            return joins + " joins, " + leaves + " leaves, " + deliveries + " deliveries, " + racyKeys
                    + " messages before their join notification, " + activations + " key activations, " + frames
                    + " frame decrypt attempts (" + framesOk + " ok), " + fsChecks + " forward-secrecy and "
                    + bsChecks + " backward-secrecy key checks";
        }
    }

    /** A key with its id. */
    record Known(KeyId id, byte[] key) {
    }

    sealed interface Note permits Joined, Left {
    }

    record Joined(List<Bundle> bundles) implements Note {
    }

    record Left(String id) implements Note {
    }

    static final class Member {
        final String id;
        final Identity identity;
        final GroupKeyManager mgr;
        final ArrayDeque<Note> notes = new ArrayDeque<>();
        final Map<String, SFrameReceiver> rings = new HashMap<>();
        final SFrameSender sender = new SFrameSender(SUITE);
        final List<long[]> activationOrder = new ArrayList<>();   // {order}
        final List<Known> activations = new ArrayList<>();
        final Map<String, Long> joinSeen = new HashMap<>();       // X -> order at which this member learned of X
        final Map<String, Long> leaveSeen = new HashMap<>();
        final Map<String, List<Known>> sealedToMe = new HashMap<>(); // sender -> keys in every KEY sealed to me
        final Map<String, PairwiseChannel> spies = new HashMap<>();
        boolean live = true;
        Bundle bundle;

        Member(String id, Identity identity, long seed) {
            this.id = id;
            this.identity = identity;
            this.bundle = identity.bundle(id);
            this.mgr = new GroupKeyManager(identity, id, new DeterministicRandom(seed),
                    GroupKeyManager.Config.DEFAULT);
        }
    }

    static final class Sim {
        final long seed;
        final Random rnd;
        final Stats stats = new Stats();
        final Map<String, Member> all = new LinkedHashMap<>();
        final List<Member> live = new ArrayList<>();
        final Map<String, ArrayDeque<byte[]>> links = new LinkedHashMap<>(); // "from\0to" -> FIFO
        final List<Rejected> rejections = new ArrayList<>();
        long now;
        long order;
        int nextId;

        Sim(long seed) {
            this.seed = seed;
            this.rnd = new Random(seed);
        }

        void run() {
            int maxMembers = 2 + rnd.nextInt(11);
            int budget = 3 + rnd.nextInt(2 * maxMembers + 3);
            // start with some members already there
            int initial = 1 + rnd.nextInt(maxMembers);
            for (int i = 0; i < initial; i++) {
                join();
            }
            while (budget > 0 || rnd.nextInt(4) != 0) {
                int w = rnd.nextInt(100);
                if (w < 8 && budget > 0 && live.size() < maxMembers) {
                    join();
                    budget--;
                } else if (w < 14 && budget > 0 && !live.isEmpty()) {
                    leave(live.get(rnd.nextInt(live.size())));
                    budget--;
                } else if (w < 40) {
                    deliverNote();
                } else if (w < 85) {
                    deliverMessage();
                } else if (w < 92) {
                    now += rnd.nextInt(3_000);
                    if (!live.isEmpty()) {
                        Member m = live.get(rnd.nextInt(live.size()));
                        m.mgr.handleTimeout(now);
                        drain(m);
                    }
                } else {
                    frame(false);
                }
            }
            // quiet: deliver everything, in random order
            while (deliverNote() | deliverMessage()) {
                if (rnd.nextInt(8) == 0) {
                    frame(false);
                }
            }
            now += 60_000;
            for (Member m : live) {
                m.mgr.handleTimeout(now);
                drain(m);
            }
            assertTrue(links.values().stream().allMatch(ArrayDeque::isEmpty), "timeouts sent messages");
            checkConvergence();
            checkForwardSecrecy();
            checkBackwardSecrecy();
            for (Rejected r : rejections) {
                assertEquals(RejectReason.UNKNOWN_SENDER, r.reason(), "unexpected rejection " + r);
            }
        }

        void join() {
            String id = "c" + (nextId++) + "-" + Long.toHexString(seed);
            Member n = new Member(id, POOL.get((int) ((seed * 7 + nextId) % POOL.size())), seed * 1000 + nextId);
            all.put(id, n);
            List<Bundle> present = new ArrayList<>();
            for (Member m : live) {
                present.add(m.bundle);
                m.notes.add(new Joined(List.of(n.bundle)));
            }
            live.add(n);
            n.notes.add(new Joined(present));
            drain(n); // the first ActivateSendKey
            stats.joins++;
        }

        void leave(Member l) {
            l.live = false;
            live.remove(l);
            l.notes.clear();
            links.entrySet().removeIf(e -> e.getKey().endsWith("\0" + l.id)); // the server drops its queue
            for (Member m : live) {
                m.notes.add(new Left(l.id));
            }
            stats.leaves++;
        }

        boolean deliverNote() {
            List<Member> ready = live.stream().filter(m -> !m.notes.isEmpty()).collect(Collectors.toList());
            if (ready.isEmpty()) {
                return false;
            }
            Member m = ready.get(rnd.nextInt(ready.size()));
            Note n = m.notes.poll();
            order++;
            if (n instanceof Joined j) {
                for (Bundle b : j.bundles()) {
                    m.joinSeen.put(b.connectionId(), order);
                }
                m.mgr.membersJoined(now, j.bundles());
            } else if (n instanceof Left l) {
                m.leaveSeen.put(l.id(), order);
                m.mgr.memberLeft(now, l.id());
            }
            drain(m);
            return true;
        }

        boolean deliverMessage() {
            List<String> ready = new ArrayList<>();
            for (Map.Entry<String, ArrayDeque<byte[]>> e : links.entrySet()) {
                if (!e.getValue().isEmpty()) {
                    ready.add(e.getKey());
                }
            }
            if (ready.isEmpty()) {
                return false;
            }
            String link = ready.get(rnd.nextInt(ready.size()));
            byte[] msg = links.get(link).poll();
            String from = link.substring(0, link.indexOf('\0'));
            Member to = all.get(link.substring(link.indexOf('\0') + 1));
            if (!to.joinSeen.containsKey(from)) {
                stats.racyKeys++;
            }
            order++;
            to.mgr.messageReceived(now, from, msg);
            drain(to);
            stats.deliveries++;
            return true;
        }

        /** A random live member sends a real SFrame frame; everybody who knows it tries to decrypt it. */
        void frame(boolean mustDecrypt) {
            if (live.isEmpty()) {
                return;
            }
            Member s = live.get(rnd.nextInt(live.size()));
            byte[] payload = ("frame from " + s.id).getBytes(StandardCharsets.US_ASCII);
            byte[] meta = new byte[] {1, 2, 3};
            byte[] f;
            try {
                f = s.sender.encrypt(meta, payload);
            } catch (Exception e) {
                throw new AssertionError(e);
            }
            for (Member r : live) {
                SFrameReceiver ring = r.rings.get(s.id);
                if (r == s || ring == null) {
                    continue;
                }
                byte[] out = new byte[f.length];
                DecryptResult res = ring.decrypt(meta, 0, meta.length, f, 0, f.length, out, 0, now);
                stats.frames++;
                if (res instanceof DecryptResult.Decrypted d) {
                    stats.framesOk++;
                    assertArrayEq(payload, Arrays.copyOf(out, d.length()));
                }
            }
        }

        void drain(Member m) {
            for (GroupOutput o : m.mgr.drainOutputs()) {
                if (o instanceof SendTo st) {
                    Member to = all.get(st.connectionId());
                    spy(m, to, st.message());
                    if (to.live) {
                        links.computeIfAbsent(m.id + "\0" + to.id, k -> new ArrayDeque<>()).add(st.message());
                    }
                } else if (o instanceof InstallKey ik) {
                    m.rings.computeIfAbsent(ik.sender(), k -> new SFrameReceiver(SUITE))
                            .addKey(ik.keyId(), ik.baseKey(), now); // older keys expire (§2.3)
                    ik.baseKey().destroy();
                } else if (o instanceof ActivateSendKey a) {
                    m.activations.add(new Known(a.keyId(), a.baseKey().toByteArray()));
                    m.activationOrder.add(new long[] {++order});
                    m.sender.setKey(a.keyId(), a.baseKey());
                    a.baseKey().destroy();
                    stats.activations++;
                } else if (o instanceof ForgetSender fs) {
                    SFrameReceiver ring = m.rings.remove(fs.connectionId());
                    if (ring != null) {
                        ring.clearKeys();
                    }
                } else if (o instanceof Rejected r) {
                    rejections.add(r);
                }
            }
        }

        /** Records the keys the recipient learns from a message, whether or not it is ever delivered. */
        void spy(Member from, Member to, byte[] message) {
            try {
                PairwiseChannel ch = to.spies.get(from.id);
                if (ch == null) {
                    // X25519 dominates the run time: the identities come from a pool, so cache their results
                    byte[] shared = SHARED.computeIfAbsent(POOL.indexOf(to.identity) * 1000 + POOL.indexOf(from.identity),
                            k -> agree(to.identity, from.bundle));
                    ch = PairwiseTesting.fromShared(to.id, to.identity.identityKey(), to.identity.kxKey(), from.bundle,
                            shared);
                    to.spies.put(from.id, ch);
                }
                KeyMessage km = KeyMessage.decode(ch.open(message));
                if (km instanceof KeyMessage.Key k) {
                    to.sealedToMe.computeIfAbsent(from.id, x -> new ArrayList<>())
                            .add(new Known(k.keyId(), k.baseKey().toByteArray()));
                }
            } catch (Exception e) {
                throw new AssertionError("spy could not open a message", e);
            }
        }

        void checkConvergence() {
            Set<String> truth = live.stream().map(m -> m.id).collect(Collectors.toCollection(TreeSet::new));
            String code = null;
            for (Member m : live) {
                assertFalse(m.mgr.pendingKeyId().isPresent(), m.id + " still has a pending key when quiet");
                Set<String> view = m.mgr.members().stream().map(Bundle::connectionId)
                        .collect(Collectors.toCollection(TreeSet::new));
                view.add(m.id);
                assertEquals(truth, view, m.id + "'s member view");
                String c = m.mgr.verificationCode().display();
                if (code != null) {
                    assertEquals(code, c, "verification codes differ");
                }
                code = c;
            }
            for (Member s : live) {
                for (Member r : live) {
                    if (r == s) {
                        continue;
                    }
                    SFrameReceiver ring = r.rings.get(s.id);
                    assertTrue(ring != null, r.id + " has no key of " + s.id);
                    byte[] meta = {9};
                    byte[] f;
                    try {
                        f = s.sender.encrypt(meta, new byte[] {42});
                    } catch (Exception e) {
                        throw new AssertionError(e);
                    }
                    DecryptResult res = ring.decrypt(meta, 0, 1, f, 0, f.length, new byte[f.length], 0);
                    assertTrue(res instanceof DecryptResult.Decrypted,
                            r.id + " cannot decrypt " + s.id + " under " + s.mgr.activeKeyId() + ": " + res);
                }
            }
        }

        void checkForwardSecrecy() {
            for (Member l : all.values()) {
                if (l.live) {
                    continue;
                }
                for (Member s : all.values()) {
                    if (s == l) {
                        continue;
                    }
                    Long leftAt = s.leaveSeen.get(l.id);
                    long from;
                    if (leftAt != null) {
                        from = leftAt;
                    } else if (!s.joinSeen.containsKey(l.id)) {
                        from = Long.MIN_VALUE;   // never knew l: l must know nothing of s
                    } else {
                        continue;               // s left before it learned of l's leave
                    }
                    List<Known> knowledge = l.sealedToMe.getOrDefault(s.id, List.of());
                    for (int i = 0; i < s.activations.size(); i++) {
                        if (s.activationOrder.get(i)[0] > from) {
                            Known k = s.activations.get(i);
                            stats.fsChecks++;
                            assertFalse(derivable(knowledge, k), l.id + " (departed) can derive " + s.id + "'s key "
                                    + k.id() + " activated after its leave");
                        }
                    }
                }
            }
        }

        void checkBackwardSecrecy() {
            for (Member n : all.values()) {
                for (Member s : all.values()) {
                    Long joinedAt = s.joinSeen.get(n.id);
                    if (s == n || joinedAt == null) {
                        continue;
                    }
                    List<Known> knowledge = n.sealedToMe.getOrDefault(s.id, List.of());
                    for (int i = 0; i < s.activations.size(); i++) {
                        if (s.activationOrder.get(i)[0] < joinedAt) {
                            Known k = s.activations.get(i);
                            stats.bsChecks++;
                            assertFalse(derivable(knowledge, k), n.id + " can derive " + s.id + "'s key " + k.id()
                                    + " activated before it joined");
                        }
                    }
                }
            }
        }
    }

    static byte[] agree(Identity self, Bundle peer) {
        try {
            return self.agree(peer.kxKey());
        } catch (java.security.InvalidKeyException e) {
            throw new AssertionError(e);
        }
    }

    /** Whether {@code target} follows from one of {@code known} by ratcheting forward inside its generation. */
    static boolean derivable(List<Known> known, Known target) {
        for (Known k : known) {
            if (k.id().generation() != target.id().generation() || k.id().step() > target.id().step()) {
                continue;
            }
            byte[] key = k.key().clone();
            for (int s = k.id().step(); s < target.id().step(); s++) {
                key = KeyRatchet.VEIL.next(key);
            }
            if (Arrays.equals(key, target.key())) {
                return true;
            }
        }
        return false;
    }

    static void assertArrayEq(byte[] a, byte[] b) {
        assertTrue(Arrays.equals(a, b), "decrypted frame differs");
    }

    @Test
    void derivable_seesRatchetedKeys() {
        byte[] k0 = new byte[32];
        byte[] k2 = KeyRatchet.VEIL.next(KeyRatchet.VEIL.next(k0));
        assertTrue(derivable(List.of(new Known(new KeyId(3, 1), k0)), new Known(new KeyId(3, 3), k2)));
        assertFalse(derivable(List.of(new Known(new KeyId(3, 1), k0)), new Known(new KeyId(3, 0), k2)));
        assertFalse(derivable(List.of(new Known(new KeyId(2, 1), k0)), new Known(new KeyId(3, 3), k2)));
        assertFalse(derivable(List.of(), new Known(new KeyId(0, 0), k0)));
        SecretBytes.copyOf(k0).destroy();
    }
}
