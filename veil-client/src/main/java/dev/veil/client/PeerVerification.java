package dev.veil.client;

import dev.veil.e2ee.identity.Bundle;
import dev.veil.e2ee.identity.DeviceCertificate;
import dev.veil.e2ee.identity.DeviceIdentity;
import dev.veil.e2ee.identity.Identity;
import dev.veil.e2ee.pairwise.PairwiseChannel;
import dev.veil.e2ee.pairwise.PairwiseException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/**
 * The Java twin of the browser's {@code src/e2ee/verification.js}: the optional device identity's certificates,
 * sent and received over the device pairwise channel (kind 2), the verified room code and peers, and the
 * {@link E2eeEvent.VerificationLost} alarm. Names come from the server (signaling_notify_metadata {@code name}) and
 * are never trusted: a member claiming the name of a verified device but showing another device key, or none within
 * the grace period, raises the alarm. Sans-IO: every input carries the caller's clock; confined to one thread.
 */
final class PeerVerification {
    static final long DEFAULT_GRACE_MILLIS = 5_000;
    static final int MAX_EARLY_SENDERS = 64;
    static final int MAX_EARLY_BYTES = 1024;
    static final int MAX_NAME_LENGTH = 64;

    private static final class Peer {
        final Bundle bundle;
        String name;
        final String fingerprint;
        PairwiseChannel channel;
        String deviceFingerprint;
        long deadline = Long.MAX_VALUE;
        boolean alarmed;

        Peer(Bundle bundle, String name, String fingerprint) {
            this.bundle = bundle;
            this.name = name;
            this.fingerprint = fingerprint;
        }
    }

    private final Identity identity;
    private final DeviceIdentity device;
    private final VerifiedPeers verified;
    private final long graceMillis;
    private final Consumer<E2eeEvent> events;
    private final BiConsumer<String, byte[]> send;
    private final Map<String, Peer> peers = new LinkedHashMap<>();
    private final Map<String, String> names = new LinkedHashMap<>();
    private final Map<String, byte[]> early = new LinkedHashMap<>();
    private final Set<String> verifiedConnections = new HashSet<>();
    private String selfId;
    private String channelId;
    private byte[] certificate;
    private String verifiedCode;
    private String code;
    private boolean destroyed;

    PeerVerification(Identity identity, DeviceIdentity device, VerifiedPeers verified, long graceMillis,
                     Consumer<E2eeEvent> events, BiConsumer<String, byte[]> send) {
        this.identity = identity;
        this.device = device;
        this.verified = verified;
        this.graceMillis = graceMillis;
        this.events = events;
        this.send = send;
    }

    void start(String selfConnectionId, String channel) {
        selfId = selfConnectionId;
        channelId = channel;
        if (device != null) {
            certificate = device.certify(identity.identityKey(), selfConnectionId, channel).encode();
        }
    }

    static String claimedName(com.fasterxml.jackson.databind.JsonNode metadata) {
        com.fasterxml.jackson.databind.JsonNode n = metadata == null ? null : metadata.get("name");
        if (n == null || !n.isTextual() || n.asText().isEmpty()) {
            return null;
        }
        String s = n.asText();
        return s.length() > MAX_NAME_LENGTH ? s.substring(0, MAX_NAME_LENGTH) : s;
    }

    void setName(String connectionId, String name) {
        names.put(connectionId, name);
        Peer p = peers.get(connectionId);
        if (p != null) {
            p.name = name;
        }
    }

    /** The accepted members now (cid → bundle) and their connection fingerprints. */
    void membersChanged(long now, Map<String, Bundle> bundles, Map<String, String> fingerprints) {
        if (destroyed || selfId == null) {
            return;
        }
        for (var it = peers.entrySet().iterator(); it.hasNext();) {
            var e = it.next();
            Bundle b = bundles.get(e.getKey());
            if (b == null || !b.equals(e.getValue().bundle)) {
                if (e.getValue().channel != null) {
                    e.getValue().channel.destroy();
                }
                it.remove();
                if (b == null) {
                    names.remove(e.getKey());
                }
            }
        }
        List<String> fresh = new ArrayList<>();
        for (var e : bundles.entrySet()) {
            String id = e.getKey();
            if (peers.containsKey(id)) {
                continue;
            }
            Peer p = new Peer(e.getValue(), names.get(id), fingerprints.get(id));
            try {
                p.channel = PairwiseChannel.create(PairwiseChannel.Purpose.DEVICE, identity, selfId, e.getValue());
            } catch (PairwiseException ex) {
                p.channel = null; // the key manager already refused this bundle; nothing to talk about
            }
            if (!verified.fingerprintsOf(p.name).isEmpty()) {
                p.deadline = now + graceMillis;
            }
            peers.put(id, p);
            fresh.add(id);
        }
        for (String id : fresh) {
            Peer p = peers.get(id);
            if (p.channel != null && certificate != null) {
                send.accept(id, p.channel.seal(certificate));
            }
            byte[] held = early.remove(id);
            if (held != null) {
                deviceMessage(now, id, held);
            }
        }
    }

    void deviceMessage(long now, String from, byte[] bytes) {
        if (destroyed) {
            return;
        }
        Peer p = peers.get(from);
        if (p == null) {
            if (bytes.length <= MAX_EARLY_BYTES && (early.containsKey(from) || early.size() < MAX_EARLY_SENDERS)) {
                early.put(from, bytes.clone());
            } else {
                error(from, "BUFFER_FULL", "early device message dropped");
            }
            return;
        }
        if (p.channel == null) {
            return;
        }
        DeviceCertificate cert;
        try {
            byte[] plain = p.channel.open(bytes);
            cert = DeviceCertificate.decode(plain);
            if (cert == null) {
                error(from, "MALFORMED", "not a device certificate");
                return;
            }
        } catch (PairwiseException e) {
            error(from, e.reason().name(), e.getMessage());
            return;
        }
        if (!cert.verify(p.bundle.identityKey(), from, channelId)) {
            error(from, "BAD_SIGNATURE", "device certificate does not verify for this connection and channel");
            return;
        }
        String fp = cert.fingerprint().display();
        if (p.deviceFingerprint != null) {
            if (!p.deviceFingerprint.equals(fp)) {
                error(from, "DEVICE_CHANGED", "a second, different device certificate for one connection (ignored)");
            }
            return;
        }
        p.deviceFingerprint = fp;
        p.deadline = Long.MAX_VALUE;
        events.accept(new E2eeEvent.DeviceCertified(from, fp));
        if (!verified.fingerprintsOf(p.name).isEmpty() && verified.get(fp) == null) {
            lost(from, p, "device-changed");
        }
    }

    OptionalLong nextTimeout() {
        long d = Long.MAX_VALUE;
        for (Peer p : peers.values()) {
            d = Math.min(d, p.deadline);
        }
        return d == Long.MAX_VALUE ? OptionalLong.empty() : OptionalLong.of(d);
    }

    void timeout(long now) {
        for (var e : peers.entrySet()) {
            Peer p = e.getValue();
            if (p.deadline <= now) {
                p.deadline = Long.MAX_VALUE;
                if (p.deviceFingerprint == null) {
                    lost(e.getKey(), p, "no-device-certificate");
                }
            }
        }
    }

    private void lost(String id, Peer p, String reason) {
        if (p.alarmed) {
            return;
        }
        p.alarmed = true;
        events.accept(E2eeEvent.VerificationLost.peer(reason, id, p.name, verified.fingerprintsOf(p.name),
                p.deviceFingerprint));
    }

    void codeChanged(String newCode) {
        code = newCode;
        if (verifiedCode != null && !verifiedCode.equals(newCode)) {
            String previous = verifiedCode;
            verifiedCode = null;
            events.accept(E2eeEvent.VerificationLost.room(previous, newCode));
        }
    }

    boolean roomVerified() {
        return verifiedCode != null && verifiedCode.equals(code);
    }

    void markRoomVerified() {
        if (code == null) {
            throw new IllegalStateException("no room code yet");
        }
        verifiedCode = code;
        events.accept(new E2eeEvent.Verified("room", null, null, code));
    }

    /** @throws IllegalArgumentException if no current peer has that device or connection fingerprint */
    void markVerified(String fingerprint) {
        String want = VerifiedPeers.normalize(fingerprint);
        for (var e : peers.entrySet()) {
            Peer p = e.getValue();
            if (p.deviceFingerprint != null && VerifiedPeers.normalize(p.deviceFingerprint).equals(want)) {
                verified.add(p.deviceFingerprint, p.name);
                events.accept(new E2eeEvent.Verified("peer", e.getKey(), p.name, p.deviceFingerprint));
                return;
            }
        }
        for (var e : peers.entrySet()) {
            Peer p = e.getValue();
            if (p.fingerprint != null && VerifiedPeers.normalize(p.fingerprint).equals(want)) {
                verifiedConnections.add(want);
                events.accept(new E2eeEvent.Verified("peer", e.getKey(), p.name, p.fingerprint));
                return;
            }
        }
        throw new IllegalArgumentException("no member of this call has that fingerprint");
    }

    List<E2eeEvent.PeerInfo> peers() {
        List<E2eeEvent.PeerInfo> out = new ArrayList<>();
        for (var e : peers.entrySet()) {
            Peer p = e.getValue();
            VerifiedPeers.Entry dev = p.deviceFingerprint == null ? null : verified.get(p.deviceFingerprint);
            boolean conn = p.fingerprint != null && verifiedConnections.contains(VerifiedPeers.normalize(p.fingerprint));
            out.add(new E2eeEvent.PeerInfo(e.getKey(), p.name, p.fingerprint, p.deviceFingerprint,
                    dev != null || conn, dev == null ? null : dev.name(), p.alarmed));
        }
        return out;
    }

    private void error(String from, String reason, String detail) {
        events.accept(new E2eeEvent.Error("device", reason, from, detail, 0));
    }

    void destroy() {
        destroyed = true;
        for (Peer p : peers.values()) {
            if (p.channel != null) {
                p.channel.destroy();
            }
        }
        peers.clear();
        early.clear();
        if (certificate != null) {
            Arrays.fill(certificate, (byte) 0);
        }
    }
}
