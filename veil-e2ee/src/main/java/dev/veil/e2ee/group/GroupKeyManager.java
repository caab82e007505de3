package dev.veil.e2ee.group;

import dev.veil.e2ee.group.GroupOutput.ActivateSendKey;
import dev.veil.e2ee.group.GroupOutput.ForgetSender;
import dev.veil.e2ee.group.GroupOutput.InstallKey;
import dev.veil.e2ee.group.GroupOutput.Rejected;
import dev.veil.e2ee.group.GroupOutput.SendTo;
import dev.veil.e2ee.identity.Bundle;
import dev.veil.e2ee.identity.ConnectionIds;
import dev.veil.e2ee.identity.Identity;
import dev.veil.e2ee.identity.VerificationCode;
import dev.veil.e2ee.key.KeyId;
import dev.veil.e2ee.key.KeyRatchet;
import dev.veil.e2ee.pairwise.PairwiseChannel;
import dev.veil.e2ee.pairwise.PairwiseException;
import dev.veil.e2ee.util.SecretBytes;
import java.security.SecureRandom;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;

/**
 * The group key manager of one member: a sans-IO state machine that decides which media key this member encrypts
 * with and which keys it gives to whom (docs/PROTOCOL.md §3.5). One instance per connection.
 *
 * <p><b>Inputs</b> (each carries the caller's monotonic clock in milliseconds): {@link #membersJoined} /
 * {@link #memberJoined} (from the server's {@code connection.created} notifications, and the list of members
 * already present that a newcomer receives), {@link #memberLeft} ({@code connection.destroyed}),
 * {@link #messageReceived} (an E2EE relay message, with the sender the server stamped) and {@link #handleTimeout}.
 * <b>Outputs</b>: {@link #pollOutput()} until empty, after every input; {@link #pollTimeout()} says when to call
 * {@link #handleTimeout} next.
 *
 * <p><b>Rules</b> (own send key {@code active = (g, s)}, at most one {@code pending} key):
 * <ol>
 *   <li>Start: a random key {@code (0, 0)}, activated at once.</li>
 *   <li>Join of X (J1, no pending key, {@code s < 255}): ratchet {@code active} to {@code (g, s+1)} and activate
 *       it; send X a KEY with it (ACTIVE). The members already present derive it themselves from {@code (g, s)}; a
 *       member whose last delivered key of generation g is more than {@link Config#refreshSteps()} steps behind is
 *       sent the current key too, so receivers never need to ratchet further than that.</li>
 *   <li>Join of X (J2, a pending key exists): send X the pending key (PENDING) and wait for X's ack too. The active
 *       key is <em>not</em> ratcheted: X never gets it, and a member that left before the pending key was drawn
 *       can derive no key activated after its leave. X decrypts this member once the pending key is activated.</li>
 *   <li>Join of X (J3, no pending key, {@code s == 255}): as a leave: draw a pending key of the next generation.</li>
 *   <li>Leave of Y (L): forget Y's keys ({@link GroupOutput.ForgetSender}); draw a fresh random pending key of
 *       generation {@code max(g, pending generation) + 1}, replacing any pending key (Y may have received it), and
 *       send it (PENDING) to every remaining member. Activate it once every member it was sent to has acked it
 *       (members that leave meanwhile cause a new pending key anyway), or at its deadline, or at once if nobody
 *       else is left. The deadline is {@link Config#activationTimeoutMillis()} after the leave that started the
 *       pending rotation and <b>never moves later</b>: a pending key that replaces another keeps the earlier
 *       deadline, so no sequence of joins, leaves or lost messages delays the activation of a key the leaver
 *       cannot derive beyond {@code activationTimeoutMillis} after the leave was processed.</li>
 *   <li>Receive KEY: install it for its sender if its KID is above the last KEY from that sender, and ack it
 *       (every KEY, ACTIVE or PENDING, is acknowledged); a KEY equal to the last one (a retransmission) is acked
 *       again and not installed twice; a lower one is {@link RejectReason#STALE_KEY}.</li>
 *   <li>Retransmission (R): every KEY stays unacknowledged until the peer's KEY_ACK of that KID; the newest key
 *       this member owes the peer (the pending key it was sent, else the active key) is sent again after
 *       {@link Config#retransmitInitialMillis()}, doubling up to {@link Config#retransmitMaxMillis()}, at most
 *       {@link Config#maxRetransmits()} times per key.</li>
 *   <li>A message from a connection not yet announced is kept (bounded in count and bytes, checked before it is
 *       copied) and processed right after its join. The set of departed ids is bounded
 *       ({@link Config#maxDeparted()}, oldest forgotten first).</li>
 * </ol>
 *
 * <p>Not thread-safe. {@link #destroy()} wipes every key, the pairwise channels and the identity.
 */
public final class GroupKeyManager {
    /** Tunables. */
    public record Config(long activationTimeoutMillis, int refreshSteps, int maxEarlyMessagesPerSender,
                         int maxEarlySenders, long retransmitInitialMillis, long retransmitMaxMillis,
                         int maxRetransmits, int maxMessageBytes, int maxEarlyBytes, int maxDeparted) {
        /**
         * 1.5 s hard activation deadline after a leave, refresh after 8 steps, 16 early messages x 64 senders (at
         * most 64 KiB in all, 1 KiB each), KEY retransmission after 250 ms doubling to 2 s, 10 times at most,
         * 4096 departed ids remembered.
         */
        public static final Config DEFAULT = new Config(1_500, 8, 16, 64, 250, 2_000, 10, 1_024, 65_536, 4_096);

        public Config {
            if (activationTimeoutMillis < 0 || refreshSteps < 1 || refreshSteps > KeyId.MAX_STEP
                    || maxEarlyMessagesPerSender < 0 || maxEarlySenders < 0 || retransmitInitialMillis < 1
                    || retransmitMaxMillis < retransmitInitialMillis || maxRetransmits < 0 || maxMessageBytes < 1
                    || maxEarlyBytes < 0 || maxDeparted < 1) {
                throw new IllegalArgumentException("invalid group key manager config");
            }
        }

        /** The defaults with the first four tunables replaced. */
        public Config(long activationTimeoutMillis, int refreshSteps, int maxEarlyMessagesPerSender,
                      int maxEarlySenders) {
            this(activationTimeoutMillis, refreshSteps, maxEarlyMessagesPerSender, maxEarlySenders, 250, 2_000, 10,
                    1_024, 65_536, 4_096);
        }
    }

    /** Members kept at most: a join beyond is refused ({@link RejectReason#BUFFER_FULL}). */
    public static final int MAX_MEMBERS = 1_000;

    private static final class Peer {
        final Bundle bundle;
        final PairwiseChannel channel;
        KeyId lastSent;      // highest KID this member sent the peer in a KEY
        KeyId lastReceived;  // highest KID the peer sent this member in a KEY
        KeyId unacked;       // the KID of the last KEY sent to the peer, until its KEY_ACK; null once acked
        long retransmitAt;   // when to send the owed key again (only while unacked != null)
        long retransmitDelay;
        int retransmits;

        Peer(Bundle bundle, PairwiseChannel channel) {
            this.bundle = bundle;
            this.channel = channel;
        }
    }

    private static final class Pending {
        final KeyId id;
        final byte[] key;
        final Set<String> awaiting;
        final long deadline;

        Pending(KeyId id, byte[] key, Set<String> awaiting, long deadline) {
            this.id = id;
            this.key = key;
            this.awaiting = awaiting;
            this.deadline = deadline;
        }
    }

    private final Identity identity;
    private final String self;
    private final SecureRandom random;
    private final Config config;
    private final Map<String, Peer> peers = new LinkedHashMap<>();
    private final Set<String> gone = new LinkedHashSet<>();
    private final Map<String, ArrayDeque<byte[]>> early = new LinkedHashMap<>();
    private int earlyBytes;
    private final ArrayDeque<GroupOutput> outputs = new ArrayDeque<>();
    private KeyId activeId;
    private byte[] activeKey;
    private Pending pending;
    private boolean destroyed;

    /**
     * A manager for the connection {@code selfConnectionId} that owns {@code identity} (whose bundle it published).
     * Queues the {@link ActivateSendKey} of the first key {@code (0, 0)}.
     */
    public GroupKeyManager(Identity identity, String selfConnectionId, SecureRandom random, Config config) {
        this.identity = Objects.requireNonNull(identity, "identity");
        this.self = ConnectionIds.requireValid(selfConnectionId);
        this.random = Objects.requireNonNull(random, "random");
        this.config = Objects.requireNonNull(config, "config");
        this.activeId = new KeyId(0, 0);
        this.activeKey = randomKey();
        outputs.add(new ActivateSendKey(activeId, SecretBytes.copyOf(activeKey)));
    }

    public GroupKeyManager(Identity identity, String selfConnectionId, SecureRandom random) {
        this(identity, selfConnectionId, random, Config.DEFAULT);
    }

    // ---------------------------------------------------------------- inputs

    /** One member joined. Same as {@code membersJoined(nowMillis, List.of(bundle))}. */
    public void memberJoined(long nowMillis, Bundle bundle) {
        membersJoined(nowMillis, List.of(bundle));
    }

    /**
     * Members joined: one {@code connection.created} notification, or the list of members already present that a
     * newcomer receives (one ratchet step for the whole list). Each bundle must carry the connection id of the
     * notification; bad bundles are rejected one by one.
     */
    public void membersJoined(long nowMillis, Collection<Bundle> bundles) {
        checkLive();
        List<Peer> added = new ArrayList<>();
        for (Bundle b : bundles) {
            String id = b.connectionId();
            if (id.equals(self)) {
                reject(id, RejectReason.SELF, "join names this connection");
            } else if (peers.containsKey(id)) {
                reject(id, RejectReason.DUPLICATE_MEMBER, "already a member");
            } else if (gone.contains(id)) {
                reject(id, RejectReason.UNKNOWN_SENDER, "join of a connection that already left");
            } else if (peers.size() >= MAX_MEMBERS) {
                reject(id, RejectReason.BUFFER_FULL, "more than " + MAX_MEMBERS + " members");
            } else {
                try {
                    Peer p = new Peer(b, PairwiseChannel.create(identity, self, b));
                    peers.put(id, p);
                    added.add(p);
                } catch (PairwiseException e) {
                    markGone(id);
                    dropEarly(id);
                    reject(id, RejectReason.BAD_BUNDLE, e.getMessage());
                }
            }
        }
        if (added.isEmpty()) {
            return;
        }
        if (pending != null) {                                   // J2
            for (Peer p : added) {
                sendKey(p, pending.id, pending.key, false, nowMillis);
                pending.awaiting.add(p.bundle.connectionId());
            }
        } else if (activeId.step() < KeyId.MAX_STEP) {           // J1
            byte[] next = KeyRatchet.VEIL.next(activeKey);
            Arrays.fill(activeKey, (byte) 0);
            activeKey = next;
            activeId = activeId.nextStep();
            outputs.add(new ActivateSendKey(activeId, SecretBytes.copyOf(activeKey)));
            for (Peer p : added) {
                sendKey(p, activeId, activeKey, true, nowMillis);
            }
            for (Peer p : peers.values()) {
                if (!added.contains(p) && (p.lastSent == null || p.lastSent.generation() != activeId.generation()
                        || activeId.step() - p.lastSent.step() > config.refreshSteps())) {
                    sendKey(p, activeId, activeKey, true, nowMillis);
                }
            }
        } else {                                                 // J3
            startPending(nowMillis);
        }
        for (Peer p : added) {
            ArrayDeque<byte[]> q = dropEarly(p.bundle.connectionId());
            if (q != null) {
                for (byte[] m : q) {
                    if (peers.get(p.bundle.connectionId()) == p) {
                        receive(p, m, nowMillis);
                    }
                }
            }
        }
    }

    /** A member left ({@code connection.destroyed}). Unknown ids are remembered so their late messages are refused. */
    public void memberLeft(long nowMillis, String connectionId) {
        checkLive();
        if (self.equals(connectionId)) {
            reject(connectionId, RejectReason.SELF, "leave names this connection");
            return;
        }
        markGone(connectionId);
        dropEarly(connectionId);
        Peer p = peers.remove(connectionId);
        if (p == null) {
            return; // never a member here: it has none of this member's keys
        }
        p.channel.destroy();
        outputs.add(new ForgetSender(connectionId));
        startPending(nowMillis);                                 // L
    }

    /** An E2EE relay message; {@code from} is the sender the server stamped on it. */
    public void messageReceived(long nowMillis, String from, byte[] message) {
        checkLive();
        Objects.requireNonNull(message, "message");
        if (self.equals(from)) {
            reject(from, RejectReason.SELF, "message from this connection");
            return;
        }
        if (message.length > config.maxMessageBytes()) {
            reject(from, RejectReason.MALFORMED, "longer than " + config.maxMessageBytes() + " bytes");
            return;
        }
        Peer p = peers.get(from);
        if (p != null) {
            receive(p, message, nowMillis);
            return;
        }
        if (from == null || gone.contains(from) || !ConnectionIds.isValid(from)) {
            reject(from, RejectReason.UNKNOWN_SENDER, "not a member");
            return;
        }
        ArrayDeque<byte[]> q = early.get(from);
        if (q == null) {
            if (early.size() >= config.maxEarlySenders()) {
                reject(from, RejectReason.BUFFER_FULL, "too many unannounced senders");
                return;
            }
            q = new ArrayDeque<>();
            early.put(from, q);
        }
        if (q.size() >= config.maxEarlyMessagesPerSender()
                || earlyBytes + message.length > config.maxEarlyBytes()) {
            if (q.isEmpty()) {
                early.remove(from);
            }
            reject(from, RejectReason.BUFFER_FULL, "too many messages (or bytes) before the join");
            return;
        }
        earlyBytes += message.length;
        q.add(message.clone());
    }

    /**
     * The clock reached {@code nowMillis}: activates a pending key whose acks did not all arrive by its deadline,
     * and sends again every KEY whose ack is overdue (rule R).
     */
    public void handleTimeout(long nowMillis) {
        checkLive();
        if (pending != null && nowMillis >= pending.deadline) {
            activatePending();
        }
        for (Peer p : peers.values()) {
            if (p.unacked != null && nowMillis >= p.retransmitAt) {
                retransmit(p, nowMillis);
            }
        }
    }

    // ---------------------------------------------------------------- outputs and queries

    /** The next output, or empty once all have been taken. */
    public Optional<GroupOutput> pollOutput() {
        return Optional.ofNullable(outputs.poll());
    }

    /** All queued outputs, in order. */
    public List<GroupOutput> drainOutputs() {
        List<GroupOutput> out = new ArrayList<>(outputs);
        outputs.clear();
        return out;
    }

    /** When {@link #handleTimeout} must be called next (a pending key's deadline, a retransmission), if at all. */
    public OptionalLong pollTimeout() {
        long t = pending == null ? Long.MAX_VALUE : pending.deadline;
        boolean any = pending != null;
        for (Peer p : peers.values()) {
            if (p.unacked != null) {
                t = Math.min(t, p.retransmitAt);
                any = true;
            }
        }
        return any ? OptionalLong.of(t) : OptionalLong.empty();
    }

    /** The deadline of the pending key, if any (it never moves later once set). */
    public OptionalLong pendingDeadline() {
        return pending == null ? OptionalLong.empty() : OptionalLong.of(pending.deadline);
    }

    public String selfConnectionId() {
        return self;
    }

    /** The id of the key this member currently encrypts with. */
    public KeyId activeKeyId() {
        return activeId;
    }

    /** The id of the key waiting for acks, if any. */
    public Optional<KeyId> pendingKeyId() {
        return pending == null ? Optional.empty() : Optional.of(pending.id);
    }

    /** The members this manager knows (valid bundles), in join order. */
    public List<Bundle> members() {
        List<Bundle> out = new ArrayList<>();
        for (Peer p : peers.values()) {
            out.add(p.bundle);
        }
        return out;
    }

    /** The room verification code of this member's view: itself and every member it knows. */
    public VerificationCode verificationCode() {
        List<VerificationCode.Member> ms = new ArrayList<>();
        ms.add(new VerificationCode.Member(self, identity.identityKey()));
        for (Peer p : peers.values()) {
            ms.add(VerificationCode.Member.of(p.bundle));
        }
        return VerificationCode.of(ms);
    }

    /** Wipes the own keys, every pairwise channel and the identity. Every later input throws. */
    public void destroy() {
        destroyed = true;
        Arrays.fill(activeKey, (byte) 0);
        if (pending != null) {
            Arrays.fill(pending.key, (byte) 0);
            pending = null;
        }
        for (Peer p : peers.values()) {
            p.channel.destroy();
        }
        peers.clear();
        early.clear();
        earlyBytes = 0;
        outputs.clear();
        identity.destroy();
    }

    public boolean isDestroyed() {
        return destroyed;
    }

    @Override
    public String toString() {
        return "GroupKeyManager[" + self + ", active=" + activeId + ", pending="
                + (pending == null ? "none" : pending.id + " awaiting " + pending.awaiting.size())
                + ", members=" + peers.size() + "]";
    }

    // ---------------------------------------------------------------- internals

    private void receive(Peer p, byte[] message, long nowMillis) {
        String from = p.bundle.connectionId();
        byte[] plain;
        try {
            plain = p.channel.open(message);
        } catch (PairwiseException e) {
            reject(from, RejectReason.of(e.reason()), e.getMessage());
            return;
        }
        KeyMessage m;
        try {
            m = KeyMessage.decode(plain);
        } catch (KeyMessageException e) {
            reject(from, RejectReason.MALFORMED_KEY_MESSAGE, e.getMessage());
            return;
        } finally {
            Arrays.fill(plain, (byte) 0);
        }
        if (m instanceof KeyMessage.Key k) {
            int c = p.lastReceived == null ? 1 : k.keyId().compareTo(p.lastReceived);
            if (c < 0) {
                k.baseKey().destroy();
                reject(from, RejectReason.STALE_KEY, "KEY " + k.keyId() + " below " + p.lastReceived);
                return;
            }
            if (c == 0) {
                k.baseKey().destroy(); // a retransmission: our ack was lost, ack again
            } else {
                p.lastReceived = k.keyId();
                outputs.add(new InstallKey(from, k.keyId(), k.baseKey()));
            }
            outputs.add(new SendTo(from, p.channel.seal(new KeyMessage.KeyAck(k.keyId()).encode())));
        } else if (m instanceof KeyMessage.KeyAck a) {
            if (p.unacked != null && a.keyId().equals(p.unacked)) {
                p.unacked = null;
            }
            // an ack of a pending key that was replaced meanwhile is normal and ignored
            if (pending != null && a.keyId().equals(pending.id) && pending.awaiting.remove(from)
                    && pending.awaiting.isEmpty()) {
                activatePending();
            }
        }
    }

    private void startPending(long nowMillis) {
        long gen = Math.max(activeId.generation(), pending == null ? 0 : pending.id.generation()) + 1;
        if (gen > KeyId.MAX_GENERATION) {
            throw new IllegalStateException("key generations exhausted");
        }
        // the deadline never moves later: a key replacing a pending one keeps the earlier deadline
        long deadline = pending != null ? pending.deadline : satAdd(nowMillis, config.activationTimeoutMillis());
        if (pending != null) {
            Arrays.fill(pending.key, (byte) 0);
        }
        Set<String> awaiting = new LinkedHashSet<>(peers.keySet());
        pending = new Pending(new KeyId(gen, 0), randomKey(), awaiting, deadline);
        for (Peer p : peers.values()) {
            sendKey(p, pending.id, pending.key, false, nowMillis);
        }
        if (awaiting.isEmpty()) {
            activatePending();
        }
    }

    private void activatePending() {
        Arrays.fill(activeKey, (byte) 0);
        activeId = pending.id;
        activeKey = pending.key;
        pending = null;
        outputs.add(new ActivateSendKey(activeId, SecretBytes.copyOf(activeKey)));
    }

    /** Rule R: sends {@code p} the newest key owed to it again (the pending key it was sent, else the active key). */
    private void retransmit(Peer p, long nowMillis) {
        if (p.retransmits >= config.maxRetransmits()) {
            p.unacked = null; // give up; the next key change starts over
            return;
        }
        long delay = Math.min(p.retransmitDelay * 2, config.retransmitMaxMillis());
        int count = p.retransmits + 1;
        if (pending != null && pending.awaiting.contains(p.bundle.connectionId())) {
            sendKey(p, pending.id, pending.key, false, nowMillis);
        } else {
            sendKey(p, activeId, activeKey, true, nowMillis);
        }
        p.retransmits = count;
        p.retransmitDelay = delay;
        p.retransmitAt = satAdd(nowMillis, delay);
    }

    private void markGone(String id) {
        gone.remove(id);
        gone.add(id);
        while (gone.size() > config.maxDeparted()) {
            var it = gone.iterator();
            it.next();
            it.remove();
        }
    }

    private ArrayDeque<byte[]> dropEarly(String id) {
        ArrayDeque<byte[]> q = early.remove(id);
        if (q != null) {
            for (byte[] m : q) {
                earlyBytes -= m.length;
            }
        }
        return q;
    }

    private void sendKey(Peer p, KeyId id, byte[] key, boolean active, long nowMillis) {
        SecretBytes copy = SecretBytes.copyOf(key);
        byte[] plain = new KeyMessage.Key(id, copy, active).encode();
        try {
            outputs.add(new SendTo(p.bundle.connectionId(), p.channel.seal(plain)));
        } finally {
            Arrays.fill(plain, (byte) 0);
            copy.destroy();
        }
        p.lastSent = id;
        p.unacked = id;
        p.retransmits = 0;
        p.retransmitDelay = config.retransmitInitialMillis();
        p.retransmitAt = satAdd(nowMillis, config.retransmitInitialMillis());
    }

    private void reject(String from, RejectReason reason, String detail) {
        outputs.add(new Rejected(from, reason, detail));
    }

    private byte[] randomKey() {
        byte[] k = new byte[KeyRatchet.BASE_KEY_LENGTH];
        random.nextBytes(k);
        return k;
    }

    private static long satAdd(long a, long b) {
        long r = a + b;
        return ((a ^ r) & (b ^ r)) < 0 ? Long.MAX_VALUE : r;
    }

    private void checkLive() {
        if (destroyed) {
            throw new IllegalStateException("group key manager has been destroyed");
        }
    }
}
