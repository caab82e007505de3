package dev.veil.client;

import dev.veil.e2ee.codec.Codec;
import dev.veil.e2ee.codec.DecryptResult;
import dev.veil.e2ee.codec.FrameCryptoException;
import dev.veil.e2ee.codec.FrameType;
import dev.veil.e2ee.codec.Rejection;
import dev.veil.e2ee.mls.MlsCommit;
import dev.veil.e2ee.mls.MlsEpochKeys;
import dev.veil.e2ee.mls.MlsException;
import dev.veil.e2ee.mls.MlsFrameCrypto;
import dev.veil.e2ee.mls.MlsGroupSession;
import dev.veil.e2ee.mls.MlsHandled;
import dev.veil.e2ee.mls.MlsKeyPackage;
import dev.veil.e2ee.mls.MlsMember;
import dev.veil.e2ee.mls.MlsVerificationCode;
import dev.veil.e2ee.sframe.CipherSuite;
import dev.veil.e2ee.sframe.SFrameReceiver;
import dev.veil.signaling.Mls;
import dev.veil.signaling.MlsEvent;
import dev.veil.signaling.MlsFraming;
import dev.veil.signaling.SignalingMessage;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
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
 * The credential identity is the connection id, so the MLS roster maps to connections. A key package is added only
 * if its credential names the connection the server stamped as its sender and that connection was announced in a
 * {@code connection.created} notify (a ghost the server invents still needs both, and then shows in the roster).
 */
final class MlsSession {
    static final CipherSuite SUITE = CipherSuite.AES_128_GCM_SHA256_128;
    /** Most members one commit adds. */
    static final int MAX_ADDS_PER_COMMIT = 16;

    private final SecureRandom random;
    private final Consumer<E2eeEvent> events;
    private final Consumer<SignalingMessage> send;
    private final MlsFrameCrypto frames = new MlsFrameCrypto(SUITE);
    private final Map<String, byte[]> waitingKeyPackages = new LinkedHashMap<>();
    private final Set<String> departed = new HashSet<>();
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
        this.random = random;
        this.events = events;
        this.send = send;
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
                keyPackage = MlsKeyPackage.create(self.getBytes(StandardCharsets.UTF_8));
                try {
                    group = MlsGroupSession.create(ev.groupIdBytes(), keyPackage, random);
                } catch (MlsException e) {
                    error("mls", "CREATE_FAILED", null, e.getMessage(), now);
                    return;
                }
                entered(now);
            }
            case MlsEvent.JOIN -> {
                reset();
                keyPackage = MlsKeyPackage.create(self.getBytes(StandardCharsets.UTF_8));
                send.accept(Mls.of(keyPackage.bytes()));
            }
            default -> { // refused: drop what we had pending, the accepted commit comes (or came) instead
                if (group != null && !group.isRemoved()) {
                    group.discardPending();
                }
                error("mls", "REFUSED", null, ev.reason(), now);
                maybeCommit(now);
            }
        }
    }

    private void reset() {
        group = null;
        waitingKeyPackages.clear();
        roster = List.of();
        verificationCode = null;
        frames.destroy();
    }

    void onMessage(Mls m, long now) {
        if (destroyed || self == null || m.from() == null) {
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
                    byte[] identity = MlsKeyPackage.identityOf(payload);
                    if (!Arrays.equals(identity, m.from().getBytes(StandardCharsets.UTF_8))) {
                        error("mls", "KEY_PACKAGE_IDENTITY", m.from(),
                                "the key package's credential is not the connection that published it", now);
                        return;
                    }
                    waitingKeyPackages.put(m.from(), payload);
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
                    if (group == null || group.isRemoved()) {
                        return;
                    }
                    MlsHandled h = group.handle(payload);
                    if (h instanceof MlsHandled.Applied) {
                        entered(now);
                        maybeCommit(now);
                    } else if (h instanceof MlsHandled.Removed) {
                        frames.destroy();
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
        departed.add(connectionId);
        waitingKeyPackages.remove(connectionId);
        maybeCommit(now);
    }

    private void entered(long now) {
        frames.install(MlsEpochKeys.of(group, SUITE), now);
        List<String> ids = new ArrayList<>();
        for (MlsMember mm : group.roster()) {
            ids.add(new String(mm.identity(), StandardCharsets.UTF_8));
        }
        roster = List.copyOf(ids);
        waitingKeyPackages.keySet().removeAll(ids);
        verificationCode = MlsVerificationCode.of(group.epochAuthenticator());
        events.accept(new E2eeEvent.MlsEpoch(group.epoch(), verificationCode, roster));
    }

    private void maybeCommit(long now) {
        if (group == null || group.isRemoved() || group.pending() != null) {
            return;
        }
        List<MlsMember> members = group.roster();
        Integer committer = null;
        List<Integer> removes = new ArrayList<>();
        Set<String> inGroup = new HashSet<>();
        for (MlsMember mm : members) {
            String cid = new String(mm.identity(), StandardCharsets.UTF_8);
            inGroup.add(cid);
            if (departed.contains(cid)) {
                removes.add(mm.leafIndex());
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
            if (!inGroup.contains(e.getKey()) && !departed.contains(e.getKey()) && announced.contains(e.getKey())
                    && adds.size() < MAX_ADDS_PER_COMMIT) {
                adds.add(e.getValue());
                addIds.add(e.getKey());
            }
        }
        if (adds.isEmpty() && removes.isEmpty()) {
            return;
        }
        if (group.wouldBeAlone(adds.size(), removes)) {
            // bcmls cannot commit a group of one (docs/SECURITY.md): stop sending, remove with the next add
            frames.destroy();
            return;
        }
        try {
            MlsCommit c = group.commit(adds, removes);
            commits++;
            send.accept(Mls.commit(c.commit(), c.welcome(), c.welcome() == null ? null : addIds));
        } catch (MlsException e) {
            // a bad key package: forget it, so one broken client cannot stall the group
            if (!addIds.isEmpty()) {
                waitingKeyPackages.keySet().removeAll(addIds);
            }
            error("mls", "COMMIT_FAILED", null, e.getMessage(), now);
        }
    }

    byte[] encryptOpus(byte[] frame) throws FrameCryptoException {
        if (destroyed || frames.currentEpoch().isEmpty()) {
            throw new FrameCryptoException("no MLS epoch to send under");
        }
        return frames.sender().encryptFrame(Codec.OPUS, FrameType.UNSPECIFIED, frame);
    }

    byte[] decryptOpus(String senderId, byte[] frame, long now) {
        if (destroyed || frame.length < 1) {
            return null;
        }
        int off = Math.min(1, frame.length);
        byte[] identity = frames.senderIdentity(frame, off, frame.length - off);
        if (identity == null) {
            error("frames", Rejection.NO_KEY.name(), senderId, "no key for this KID", now);
            return null;
        }
        if (!Arrays.equals(identity, senderId.getBytes(StandardCharsets.UTF_8))) {
            error("frames", "SENDER_MISMATCH", senderId, "the KID names another member", now);
            return null;
        }
        Rejection[] why = new Rejection[1];
        Optional<SFrameReceiver> r = frames.receiverFor(frame, off, frame.length - off, now, why);
        if (r.isEmpty()) {
            error("frames", why[0].name(), senderId, "", now);
            return null;
        }
        byte[] out = new byte[frame.length];
        DecryptResult res = r.get().decryptFrame(Codec.OPUS, FrameType.UNSPECIFIED, frame, 0, frame.length, out, 0,
                now);
        if (res instanceof DecryptResult.Decrypted d) {
            return Arrays.copyOf(out, d.length());
        }
        error("frames", ((DecryptResult.Rejected) res).reason().name(), senderId, "", now);
        return null;
    }

    OptionalLong nextTimeout() {
        return frames.nextTimeoutMillis();
    }

    void timeout(long now) {
        frames.handleTimeout(now);
    }

    void destroy() {
        destroyed = true;
        frames.destroy();
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
