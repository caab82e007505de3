package dev.veil.bench.keymode;

import dev.veil.e2ee.codec.DecryptResult;
import dev.veil.e2ee.group.GroupKeyManager;
import dev.veil.e2ee.group.GroupOutput;
import dev.veil.e2ee.identity.Bundle;
import dev.veil.e2ee.identity.Identity;
import dev.veil.e2ee.sframe.CipherSuite;
import dev.veil.e2ee.sframe.SFrameReceiver;
import dev.veil.e2ee.sframe.SFrameSender;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;

/**
 * The sender-keys mode (docs/PROTOCOL.md §3.5, Sora-style: every member draws its own media key and gives it to
 * each other member over a pairwise channel through the server's E2EE relay): one {@link GroupKeyManager} per member
 * with its default config, real pairwise sealing, real SFrame frames.
 */
final class SenderKeysRoom implements KeyModeRoom {
    private static final CipherSuite SUITE = CipherSuite.AES_128_GCM_SHA256_128;
    private static final byte[] MD = {7};
    private static final long QUIET_LIMIT_NANOS = 120_000_000_000L;

    private static final class Member {
        final String id;
        final Identity identity;
        final Bundle bundle;
        final GroupKeyManager mgr;
        final Map<String, SFrameReceiver> rings = new HashMap<>();
        final SFrameSender sender = new SFrameSender(SUITE);
        long timerAt = Long.MAX_VALUE;
        boolean live = true;

        Member(String id, SecureRandom random) {
            this.id = id;
            this.identity = Identity.generate(random);
            this.bundle = identity.bundle(id);
            this.mgr = new GroupKeyManager(identity, id, random);
        }
    }

    private final SecureRandom random;
    private final Map<String, Member> members = new LinkedHashMap<>(); // live, in join order
    private final Map<String, Member> byId = new HashMap<>();
    private final List<GroupOutput.Rejected> rejections = new ArrayList<>();
    private int nextId;

    SenderKeysRoom(SecureRandom random) {
        this.random = random;
    }

    @Override
    public String mode() {
        return "sender keys";
    }

    @Override
    public int size() {
        return members.size();
    }

    private Member newMember() {
        Member m = new Member("sk" + nextId++, random);
        byId.put(m.id, m);
        return m;
    }

    @Override
    public void setUp(int n, long startNanos) throws Exception {
        EventSim sim = new EventSim(EventSim.FREE, 0, startNanos);
        List<Member> all = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            all.add(newMember());
        }
        for (Member m : all) {
            members.put(m.id, m);
            List<Bundle> others = all.stream().filter(o -> o != m).map(o -> o.bundle).toList();
            sim.at(startNanos, m.id, out -> {
                m.mgr.membersJoined(out.nowMillis(), others);
                drain(m, out);
            });
        }
        check(sim.runUntilQuiet(startNanos + QUIET_LIMIT_NANOS), "set-up did not settle");
        for (Member a : all) {
            for (Member b : all) {
                check(a == b || decrypts(a, b, sim.nowNanos()), b.id + " cannot decrypt " + a.id + " after set-up");
            }
        }
    }

    @Override
    public JoinOutcome join(EventSim sim) throws Exception {
        Member x = newMember();
        List<Member> present = new ArrayList<>(members.values());
        members.put(x.id, x);
        long t0 = sim.nowNanos();
        sim.resetCounters();
        Map<String, Long> joinerDecrypts = new HashMap<>();  // m -> when x decrypts m
        Map<String, Long> decryptJoiner = new HashMap<>();   // m -> when m decrypts x
        sim.observer((actor, end) -> {
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
        // the server's connection.created reaches everyone one hop later
        for (Member m : present) {
            sim.at(t0 + sim.hopNanos(), m.id, out -> {
                m.mgr.memberJoined(out.nowMillis(), x.bundle);
                drain(m, out);
            });
        }
        List<Bundle> bundles = present.stream().map(m -> m.bundle).toList();
        sim.at(t0 + sim.hopNanos(), x.id, out -> {
            x.mgr.membersJoined(out.nowMillis(), bundles);
            drain(x, out);
        });
        check(sim.runUntilQuiet(t0 + QUIET_LIMIT_NANOS), "join did not settle");
        check(joinerDecrypts.size() == present.size() && decryptJoiner.size() == present.size(),
                "join: " + joinerDecrypts.size() + " and " + decryptJoiner.size() + " of " + present.size());
        checkHonest();
        return new JoinOutcome(min(joinerDecrypts), max(joinerDecrypts), max(decryptJoiner), sim.messages(),
                sim.bytes(), sim.nowNanos());
    }

    @Override
    public LeaveOutcome leaveNewest(EventSim sim) throws Exception {
        List<Member> order = new ArrayList<>(members.values());
        Member y = order.get(order.size() - 1);
        y.live = false; // the server drops it and everything on its way to it
        members.remove(y.id);
        List<Member> remaining = new ArrayList<>(members.values());
        long t0 = sim.nowNanos();
        sim.resetCounters();
        Map<String, Long> locked = new HashMap<>();
        sim.observer((actor, end) -> {
            Member m = byId.get(actor);
            if (m.live && !locked.containsKey(m.id) && !decrypts(m, y, end)) {
                locked.put(m.id, end - t0);
            }
        });
        for (Member m : remaining) {
            sim.at(t0 + sim.hopNanos(), m.id, out -> {
                m.mgr.memberLeft(out.nowMillis(), y.id);
                drain(m, out);
            });
        }
        check(sim.runUntilQuiet(t0 + QUIET_LIMIT_NANOS), "leave did not settle");
        check(locked.size() == remaining.size(), "leave: " + locked.size() + " of " + remaining.size() + " locked");
        for (Member a : remaining) {
            check(!decrypts(a, y, sim.nowNanos()), y.id + " still decrypts " + a.id);
            for (Member b : remaining) {
                check(a == b || decrypts(a, b, sim.nowNanos()), b.id + " cannot decrypt " + a.id + " after leave");
            }
        }
        checkHonest();
        y.mgr.destroy();
        return new LeaveOutcome(min(locked), max(locked), sim.messages(), sim.bytes(), sim.nowNanos());
    }

    /** Applies {@code m}'s outputs; what it sends goes member → server → member (two hops). */
    private void drain(Member m, EventSim.Out out) {
        long now = out.nowMillis();
        for (GroupOutput o : m.mgr.drainOutputs()) {
            if (o instanceof GroupOutput.SendTo st) {
                Member to = byId.get(st.connectionId());
                byte[] msg = st.message();
                out.send(2, to.id, msg.length, o2 -> {
                    if (to.live) {
                        to.mgr.messageReceived(o2.nowMillis(), m.id, msg);
                        drain(to, o2);
                    }
                });
            } else if (o instanceof GroupOutput.InstallKey ik) {
                m.rings.computeIfAbsent(ik.sender(), k -> new SFrameReceiver(SUITE)).addKey(ik.keyId(), ik.baseKey(),
                        now);
                ik.baseKey().destroy();
            } else if (o instanceof GroupOutput.ActivateSendKey a) {
                m.sender.setKey(a.keyId(), a.baseKey());
                a.baseKey().destroy();
            } else if (o instanceof GroupOutput.ForgetSender fs) {
                SFrameReceiver ring = m.rings.remove(fs.connectionId());
                if (ring != null) {
                    ring.clearKeys();
                }
            } else if (o instanceof GroupOutput.Rejected r) {
                rejections.add(r);
            }
        }
        OptionalLong t = m.mgr.pollTimeout();
        if (t.isPresent() && t.getAsLong() < m.timerAt) {
            m.timerAt = t.getAsLong();
            out.wakeAt(t.getAsLong(), m.id, o2 -> {
                if (m.live) {
                    m.timerAt = Long.MAX_VALUE;
                    m.mgr.handleTimeout(o2.nowMillis());
                    drain(m, o2);
                }
            });
        }
    }

    /** Whether {@code to} decrypts a frame {@code from} sends now. */
    private static boolean decrypts(Member from, Member to, long nowNanos) {
        SFrameReceiver ring = to.rings.get(from.id);
        if (ring == null) {
            return false;
        }
        byte[] payload = ("frame of " + from.id).getBytes(StandardCharsets.US_ASCII);
        try {
            byte[] f = from.sender.encrypt(MD, payload);
            DecryptResult r = ring.decrypt(MD, 0, MD.length, f, 0, f.length, new byte[f.length], 0,
                    nowNanos / 1_000_000);
            return r instanceof DecryptResult.Decrypted;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private void checkHonest() {
        check(rejections.isEmpty(), "rejections in an honest run: " + rejections);
    }

    static void check(boolean ok, String what) {
        if (!ok) {
            throw new IllegalStateException(what);
        }
    }

    static long min(Map<String, Long> m) {
        return m.values().stream().mapToLong(Long::longValue).min().orElseThrow();
    }

    static long max(Map<String, Long> m) {
        return m.values().stream().mapToLong(Long::longValue).max().orElseThrow();
    }

    @Override
    public void close() {
        for (Member m : members.values()) {
            m.mgr.destroy();
        }
        members.clear();
    }
}
