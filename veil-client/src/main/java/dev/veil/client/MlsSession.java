package dev.veil.client;

import dev.veil.e2ee.codec.Codec;
import dev.veil.e2ee.codec.FrameCryptoException;
import dev.veil.e2ee.codec.FrameType;
import dev.veil.e2ee.identity.DeviceIdentity;
import dev.veil.e2ee.mls.MlsCommit;
import dev.veil.e2ee.mls.MlsCredential;
import dev.veil.e2ee.mls.MlsEpochKeys;
import dev.veil.e2ee.mls.MlsException;
import dev.veil.e2ee.mls.MlsFrameCrypto;
import dev.veil.e2ee.mls.MlsGroupSession;
import dev.veil.e2ee.mls.MlsHandled;
import dev.veil.e2ee.mls.MlsKeyPackage;
import dev.veil.e2ee.mls.MlsMember;
import dev.veil.e2ee.mls.MlsMembershipGuard;
import dev.veil.e2ee.mls.MlsVerificationCode;
import dev.veil.e2ee.sframe.CipherSuite;
import dev.veil.signaling.Mls;
import dev.veil.signaling.MlsEvent;
import dev.veil.signaling.MlsFraming;
import dev.veil.signaling.SignalingMessage;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The MLS key mode of a {@link Connection} (docs/PROTOCOL.md §4): one {@link MlsGroupSession} driven by the server's
 * delivery service, SFrame keys from the exporter ({@link MlsFrameCrypto}). Runs on the connection's loop only.
 *
 * <p>Who commits: the member with the lowest leaf index whose connection is still in the channel commits the adds
 * of waiting key packages and the removals of departed members; others commit only when it is gone. A commit the
 * delivery service refuses is dropped (the accepted one arrives instead) and the work is retried from the new epoch.
 * A refusal names the epoch of the refused message: one for an epoch this member already left concerns nothing
 * pending now and is ignored (dropping the pending commit of the current epoch would make this member fail on its own
 * accepted commit and commit again, forever); one for the current epoch drops the pending commits and the work is
 * retried after a back-off ({@link #RETRY_MIN_MILLIS}, doubling up to {@link #RETRY_MAX_MILLIS}), never at once.
 * The credential identity is the connection id, so the MLS roster maps to connections. A key package is added only
 * if its credential names the connection the server stamped as its sender and that connection was announced in a
 * {@code connection.created} notify (a ghost the server invents still needs both, and then shows in the roster).
 *
 * <p>With the server as external sender (docs/PROTOCOL.md §4.8) the committer commits the server's Add and Remove
 * proposals by reference, and adds or removes inline only what the server did not propose within
 * {@link #PROPOSAL_WAIT_MILLIS}. In every group, each proposal and each other member's commit is checked against the
 * membership the server announced ({@link #guard}); a refused commit is not applied and this member stops sending.
 * A departed member still in the roster {@link #REMOVAL_BOUND_MILLIS} after its departure was announced is reported
 * ({@code REMOVAL_WITHHELD}) and this member sends nothing until an epoch without it.
 */
final class MlsSession {
    static final CipherSuite SUITE = CipherSuite.AES_128_GCM_SHA256_128;
    /** Most members one commit adds. */
    static final int MAX_ADDS_PER_COMMIT = 16;
    /** Most departures remembered (a server cannot grow the state without bound). */
    static final int MAX_DEPARTED = 4_096;
    /** How long a committer waits for the server's proposal before it adds or removes inline. */
    static final long PROPOSAL_WAIT_MILLIS = 2_000;
    /** How long a departed member may stay in the roster before the removal counts as withheld. */
    static final long REMOVAL_BOUND_MILLIS = 10_000;
    /** First back-off after a refusal for the current epoch; doubles with each further refusal of that epoch. */
    static final long RETRY_MIN_MILLIS = 500;
    /** Longest back-off after refusals. */
    static final long RETRY_MAX_MILLIS = 8_000;

    private final SecureRandom random;
    private final Consumer<E2eeEvent> events;
    private final Consumer<SignalingMessage> send;
    private final Map<String, byte[]> waitingKeyPackages = new LinkedHashMap<>();
    /** When each waiting key package arrived (for the inline fallback). */
    private final Map<String, Long> waitingSince = new HashMap<>();
    private final Set<String> departed = new HashSet<>();
    /** When each departure still in the roster was announced. */
    private final Map<String, Long> departedAt = new LinkedHashMap<>();
    private final DeviceIdentity device;
    private final boolean offerExternalSender;
    private final MlsMediaKeys media = new MlsMediaKeys(this::error);
    private final MlsMembershipGuard guard = new MlsMembershipGuard() {
        @Override
        public String checkAdd(byte[] identity) {
            String cid = MlsCredential.connectionId(identity);
            // ever announced: a member that joined and left again before the commit adding it arrived is no ghost
            // (it is removed next, under the withheld-removal bound)
            if (!announced.contains(cid) || cid.equals(self)) {
                return "adds " + cid + ", whose joining was never announced to this member";
            }
            return null;
        }

        @Override
        public String checkRemove(byte[] identity) {
            String cid = MlsCredential.connectionId(identity);
            return departed.contains(cid) ? null : "removes " + cid + ", whose leaving was never announced";
        }
    };
    /** A commit this member refused: it is out of the group's path and sends nothing. */
    private boolean refusedCommit;
    /** A departed member stayed in the roster past the bound: nothing is sent until an epoch without it. */
    private boolean withheld;
    private long wake = Long.MAX_VALUE;
    /** No commit before this time (a refusal for the current epoch); MIN_VALUE when not backing off. */
    private long retryAt = Long.MIN_VALUE;
    /** Refusals for the current epoch in a row (the back-off's exponent). */
    private int refusalsInEpoch;
    /** Connections the server announced (connection.created); only they are ever added. */
    private final Set<String> announced = new HashSet<>();
    private final Map<String, Long> lastError = new HashMap<>();
    private String self;
    private MlsKeyPackage keyPackage;
    private MlsGroupSession group;
    private boolean destroyed;
    private String verificationCode;
    private List<String> roster = List.of();
    private long commits;

    MlsSession(SecureRandom random, Consumer<E2eeEvent> events, Consumer<SignalingMessage> send) {
        this(random, events, send, null, false);
    }

    /**
     * @param device the persistent device identity whose key vouches for this member's leaves (null: none)
     * @param offerExternalSender whether a group this member founds names the server's external sender
     */
    MlsSession(SecureRandom random, Consumer<E2eeEvent> events, Consumer<SignalingMessage> send,
               DeviceIdentity device, boolean offerExternalSender) {
        this.random = random;
        this.events = events;
        this.send = send;
        this.device = device;
        this.offerExternalSender = offerExternalSender;
    }

    /** The device fingerprint of this member (null without a device identity). */
    String deviceFingerprint() {
        return device == null ? null : device.fingerprint().display();
    }

    /** Whether this member sends nothing because it refused a commit or a removal is withheld. */
    boolean sendingHeld() {
        return refusedCommit || withheld;
    }

    void start(String connectionId) {
        self = connectionId;
    }

    /** The current epoch, or -1 before this member is in a group. */
    long epoch() {
        return group == null || group.isRemoved() ? -1 : group.epoch();
    }

    String verificationCode() {
        return verificationCode;
    }

    List<String> roster() {
        return roster;
    }

    long commitsSent() {
        return commits;
    }

    void onEvent(MlsEvent ev, long now) {
        if (destroyed || self == null) {
            return;
        }
        switch (ev.event()) {
            case MlsEvent.CREATE -> {
                reset();
                keyPackage = MlsKeyPackage.create(self, device);
                try {
                    group = MlsGroupSession.create(ev.groupIdBytes(), keyPackage, random,
                            offerExternalSender ? ev.externalSenderBytes() : null);
                } catch (MlsException e) {
                    error("mls", "CREATE_FAILED", null, e.getMessage(), now);
                    return;
                }
                entered(now);
            }
            case MlsEvent.JOIN -> {
                reset();
                keyPackage = MlsKeyPackage.create(self, device);
                send.accept(Mls.of(keyPackage.bytes()));
            }
            default -> { // refused: see the class comment
                error("mls", "REFUSED", null, ev.reason(), now);
                if (group == null || group.isRemoved() || (ev.epoch() >= 0 && ev.epoch() != group.epoch())) {
                    return; // an epoch this member already left: its pending commit (if any) stays pending
                }
                group.discardPending();
                refusalsInEpoch = Math.min(refusalsInEpoch + 1, 30);
                retryAt = now + Math.min(RETRY_MAX_MILLIS, RETRY_MIN_MILLIS << Math.min(refusalsInEpoch - 1, 20));
                wake = nextWake(now);
            }
        }
    }

    private void reset() {
        group = null;
        waitingKeyPackages.clear();
        waitingSince.clear();
        roster = List.of();
        verificationCode = null;
        refusedCommit = false;
        withheld = false;
        media.destroyKeys();
    }

    void onMessage(Mls m, long now) {
        if (destroyed || self == null) {
            return;
        }
        if (m.from() == null) {
            onServerProposal(m.payloadBytes(), now);
            return;
        }
        byte[] payload = m.payloadBytes();
        MlsFraming f;
        try {
            f = MlsFraming.parse(payload);
        } catch (IllegalArgumentException e) {
            error("mls", "MALFORMED", m.from(), e.getMessage(), now);
            return;
        }
        try {
            switch (f.wireFormat()) {
                case MlsFraming.KEY_PACKAGE -> {
                    byte[] identity;
                    try {
                        identity = MlsKeyPackage.identityOf(payload);
                    } catch (MlsException e) {
                        error("mls", "KEY_PACKAGE_IDENTITY", m.from(), e.getMessage(), now);
                        return;
                    }
                    if (!MlsCredential.connectionId(identity).equals(m.from())) {
                        error("mls", "KEY_PACKAGE_IDENTITY", m.from(),
                                "the key package's credential is not the connection that published it", now);
                        return;
                    }
                    waitingKeyPackages.put(m.from(), payload);
                    waitingSince.putIfAbsent(m.from(), now);
                    maybeCommit(now);
                }
                case MlsFraming.WELCOME -> {
                    if (group != null || keyPackage == null) {
                        return; // not waiting for one
                    }
                    group = MlsGroupSession.join(keyPackage, payload, random);
                    entered(now);
                    maybeCommit(now);
                }
                case MlsFraming.PUBLIC_MESSAGE, MlsFraming.PRIVATE_MESSAGE -> {
                    if (group == null || group.isRemoved() || refusedCommit) {
                        return;
                    }
                    MlsHandled h = group.handle(payload, guard);
                    if (h instanceof MlsHandled.Refused r) {
                        refused(f.contentType() == MlsFraming.COMMIT, m.from(), r.reason(), now);
                    } else if (h instanceof MlsHandled.ProposalCached) {
                        maybeCommit(now);
                    } else if (h instanceof MlsHandled.Applied) {
                        entered(now);
                        maybeCommit(now);
                    } else if (h instanceof MlsHandled.Removed) {
                        media.destroyFrameKeys();
                        roster = List.of();
                        error("mls", "REMOVED", m.from(), "this member was removed from the group", now);
                    } else if (h instanceof MlsHandled.OutOfSync o) {
                        error("mls", "OUT_OF_SYNC", m.from(), "message for epoch " + o.messageEpoch()
                                + " while at " + o.epoch(), now);
                    }
                }
                default -> error("mls", "UNEXPECTED", m.from(), "wire format " + f.wireFormat(), now);
            }
        } catch (MlsException e) {
            error("mls", "REJECTED", m.from(), e.getMessage(), now);
        }
    }

    /** A proposal the server made as external sender (an {@code mls} without {@code from}). */
    private void onServerProposal(byte[] payload, long now) {
        if (group == null || group.isRemoved() || refusedCommit || !group.hasExternalSender()) {
            return; // a group that does not name the server takes no proposal from it
        }
        try {
            MlsHandled h = group.handle(payload, guard);
            if (h instanceof MlsHandled.Refused r) {
                refused(false, null, r.reason(), now);
            } else if (h instanceof MlsHandled.ProposalCached) {
                maybeCommit(now);
            }
        } catch (MlsException e) {
            error("mls", "REJECTED", null, "server proposal: " + e.getMessage(), now);
        }
    }

    /**
     * The guard refused a proposal (not cached) or a commit (not applied: this member stays out of the epoch the
     * others entered, deletes its frame keys and sends nothing).
     */
    private void refused(boolean commit, String from, String reason, long now) {
        if (commit) {
            refusedCommit = true;
            media.destroyKeys();
            error("mls", "COMMIT_REFUSED", from, "a commit " + reason + "; this member left the group's path", now);
        } else {
            error("mls", "PROPOSAL_REFUSED", from, "a proposal " + reason, now);
        }
    }

    /** The server announced {@code connectionId} (connection.created): its key package may now be added. */
    void memberJoined(String connectionId, long now) {
        if (destroyed) {
            return;
        }
        announced.add(connectionId);
        maybeCommit(now);
    }

    /** A connection left the channel: its leaf is removed by the next commit. */
    void memberLeft(String connectionId, long now) {
        if (destroyed) {
            return;
        }
        if (departed.size() >= MAX_DEPARTED) {
            departed.retainAll(roster); // bounded: only departures still in the group matter for removals
        }
        departed.add(connectionId);
        if (roster.contains(connectionId)) {
            departedAt.putIfAbsent(connectionId, now);
        }
        waitingKeyPackages.remove(connectionId);
        waitingSince.remove(connectionId);
        maybeCommit(now);
    }

    private void entered(long now) {
        retryAt = Long.MIN_VALUE;
        refusalsInEpoch = 0;
        MlsEpochKeys keys = MlsEpochKeys.of(group, SUITE);
        media.install(group, keys, now);
        List<String> ids = new ArrayList<>();
        Map<String, String> fingerprints = new LinkedHashMap<>();
        for (MlsMember mm : group.roster()) {
            String cid = mm.connectionId();
            ids.add(cid);
            String fp = MlsCredential.deviceFingerprint(mm.identity());
            if (fp != null && !cid.equals(self) && mm.credentialVerifies()) {
                fingerprints.put(cid, fp);
            }
        }
        roster = List.copyOf(ids);
        waitingKeyPackages.keySet().removeAll(ids);
        waitingSince.keySet().removeAll(ids);
        departedAt.keySet().retainAll(ids);
        for (String cid : ids) {
            if (departed.contains(cid)) {
                departedAt.putIfAbsent(cid, now); // left before the commit that added it arrived
            }
        }
        if (withheld && departedAt.isEmpty()) {
            withheld = false;
        }
        verificationCode = MlsVerificationCode.of(group.epochAuthenticator());
        events.accept(new E2eeEvent.MlsEpoch(group.epoch(), verificationCode, roster));
        String own = deviceFingerprint();
        if (own != null || !fingerprints.isEmpty()) {
            events.accept(new E2eeEvent.Fingerprints(own == null ? "" : own, fingerprints));
        }
    }

    private void maybeCommit(long now) {
        wake = nextWake(now);
        if (group == null || group.isRemoved() || refusedCommit || group.pending() != null || now < retryAt) {
            return;
        }
        boolean viaServer = group.hasExternalSender();
        List<Integer> proposedRemovals = group.proposedRemovals();
        List<String> proposedAddIds = new ArrayList<>();
        for (byte[] id : group.proposedAdds()) {
            proposedAddIds.add(MlsCredential.connectionId(id));
        }
        Integer committer = null;
        List<Integer> removes = new ArrayList<>();
        Set<String> inGroup = new HashSet<>();
        for (MlsMember mm : group.roster()) {
            String cid = mm.connectionId();
            inGroup.add(cid);
            if (departed.contains(cid)) {
                if (!proposedRemovals.contains(mm.leafIndex())
                        && (!viaServer || now >= departedAt.getOrDefault(cid, now) + PROPOSAL_WAIT_MILLIS)) {
                    removes.add(mm.leafIndex());
                }
            } else if (committer == null) {
                committer = mm.leafIndex();
            }
        }
        if (committer == null || committer != group.ownLeaf()) {
            return;
        }
        List<byte[]> adds = new ArrayList<>();
        List<String> addIds = new ArrayList<>();
        for (Map.Entry<String, byte[]> e : waitingKeyPackages.entrySet()) {
            String cid = e.getKey();
            if (!inGroup.contains(cid) && !departed.contains(cid) && announced.contains(cid)
                    && !proposedAddIds.contains(cid) && adds.size() + proposedAddIds.size() < MAX_ADDS_PER_COMMIT
                    && (!viaServer || now >= waitingSince.getOrDefault(cid, now) + PROPOSAL_WAIT_MILLIS)) {
                adds.add(e.getValue());
                addIds.add(cid);
            }
        }
        if (adds.isEmpty() && removes.isEmpty() && proposedAddIds.isEmpty() && proposedRemovals.isEmpty()) {
            return;
        }
        if (group.wouldBeAlone(adds.size(), removes)) {
            // bcmls cannot commit a group of one (docs/SECURITY.md): stop sending, remove with the next add
            media.destroyKeys();
            return;
        }
        List<String> welcomeTo = new ArrayList<>(proposedAddIds);
        welcomeTo.addAll(addIds);
        try {
            MlsCommit c = group.commit(adds, removes);
            commits++;
            send.accept(Mls.commit(c.commit(), c.welcome(), c.welcome() == null ? null : welcomeTo, leaves(c)));
        } catch (MlsException e) {
            // a bad key package: forget it, so one broken client cannot stall the group
            if (!addIds.isEmpty()) {
                waitingKeyPackages.keySet().removeAll(addIds);
            }
            error("mls", "COMMIT_FAILED", null, e.getMessage(), now);
        }
    }

    /** The {@code leaves} hint of a commit: the connection id at each leaf of the epoch it starts. */
    private static List<String> leaves(MlsCommit c) {
        int n = 0;
        for (MlsMember mm : c.roster()) {
            n = Math.max(n, mm.leafIndex() + 1);
        }
        if (n > Mls.MAX_LEAVES) {
            return null;
        }
        List<String> out = new ArrayList<>(java.util.Collections.nCopies(n, ""));
        for (MlsMember mm : c.roster()) {
            out.set(mm.leafIndex(), mm.connectionId());
        }
        return out;
    }

    /**
     * Withheld removal: a departure announced {@link #REMOVAL_BOUND_MILLIS} ago whose member is still in the roster.
     * A member left alone is exempt (bcmls cannot commit for it; it sends nothing anyway).
     */
    private void checkWithheld(long now) {
        if (group == null || group.isRemoved() || refusedCommit) {
            return;
        }
        boolean othersPresent = false;
        for (String cid : roster) {
            if (!cid.equals(self) && !departed.contains(cid)) {
                othersPresent = true;
            }
        }
        if (!othersPresent) {
            return;
        }
        for (Map.Entry<String, Long> d : departedAt.entrySet()) {
            if (roster.contains(d.getKey()) && now >= d.getValue() + REMOVAL_BOUND_MILLIS && !withheld) {
                withheld = true;
                error("mls", "REMOVAL_WITHHELD", d.getKey(), "left " + (now - d.getValue())
                        + " ms ago and is still in the group: nothing is sent until it is removed", now);
            }
        }
    }

    /** The earliest inline-fallback or withheld-removal deadline after {@code now}, or MAX_VALUE. */
    private long nextWake(long now) {
        long t = Long.MAX_VALUE;
        if (group == null || group.isRemoved() || refusedCommit) {
            return t;
        }
        if (retryAt > now) {
            t = retryAt;
        }
        for (Map.Entry<String, Long> d : departedAt.entrySet()) {
            if (roster.contains(d.getKey())) {
                for (long at : new long[] {d.getValue() + PROPOSAL_WAIT_MILLIS, d.getValue() + REMOVAL_BOUND_MILLIS}) {
                    if (at > now) {
                        t = Math.min(t, at);
                    }
                }
            }
        }
        for (Map.Entry<String, Long> w : waitingSince.entrySet()) {
            long at = w.getValue() + PROPOSAL_WAIT_MILLIS;
            if (at > now && waitingKeyPackages.containsKey(w.getKey())) {
                t = Math.min(t, at);
            }
        }
        return t;
    }

    byte[] encryptOpus(byte[] frame) throws FrameCryptoException {
        return media.encrypt(Codec.OPUS, FrameType.UNSPECIFIED, frame, heldReason());
    }

    /**
     * Seals one VP8 (screen-share) frame under this member's key of the current epoch, with the VP8 clear prefix of
     * docs/PROTOCOL.md §2.1 (frame tag, and on a key frame start code and size), as the sender-keys mode and the
     * browser's worker in the MLS mode do.
     */
    byte[] encryptVp8(byte[] frame, boolean keyFrame) throws FrameCryptoException {
        return media.encrypt(Codec.VP8, keyFrame ? FrameType.KEY : FrameType.DELTA, frame, heldReason());
    }

    /** Why sending is held ({@link #sendingHeld()}), or null. */
    private String heldReason() {
        return !sendingHeld() ? null : refusedCommit ? "a commit was refused" : "a removal is withheld";
    }

    byte[] decryptOpus(String senderId, byte[] frame, long now) {
        return media.decrypt(Codec.OPUS, senderId, frame, now);
    }

    /** A received VP8 frame of {@code senderId}: the clear prefix follows the frame tag's P bit; null if dropped. */
    byte[] decryptVp8(String senderId, byte[] frame, long now) {
        return media.decrypt(Codec.VP8, senderId, frame, now);
    }

    /** Seals a data message (docs/PROTOCOL.md §4.10); refused while sending is held. */
    byte[] sealData(String to, byte kind, byte[] body) throws FrameCryptoException {
        return media.sealData(to, kind, body, sendingHeld());
    }

    /** Opens a data message, or reports why it was dropped and returns null. */
    DataCrypto.Opened openData(String from, String to, byte[] payload, long now) {
        return media.openData(from, to, payload, now);
    }

    /** When {@link #timeout} should run next (frame-key grace, inline fallback, withheld-removal bound). */
    OptionalLong nextTimeout() {
        long t = Math.min(wake, media.nextTimeoutMillis());
        return t == Long.MAX_VALUE ? OptionalLong.empty() : OptionalLong.of(t);
    }

    void timeout(long now) {
        media.handleTimeout(now);
        checkWithheld(now);
        maybeCommit(now);
    }

    void destroy() {
        destroyed = true;
        media.close();
        group = null;
        waitingKeyPackages.clear();
    }

    private void error(String source, String reason, String from, String detail, long now) {
        String key = source + "/" + reason + "/" + from;
        Long last = lastError.get(key);
        if (last != null && now - last < 1_000) {
            return;
        }
        lastError.put(key, now);
        events.accept(new E2eeEvent.Error(source, reason, from, detail, 0));
    }
}
