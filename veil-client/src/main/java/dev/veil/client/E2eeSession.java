package dev.veil.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.veil.e2ee.codec.Codec;
import dev.veil.e2ee.codec.FrameCryptoException;
import dev.veil.e2ee.codec.FrameType;
import dev.veil.e2ee.group.GroupKeyManager;
import dev.veil.e2ee.group.GroupOutput;
import dev.veil.e2ee.identity.Bundle;
import dev.veil.e2ee.identity.BundleFormatException;
import dev.veil.e2ee.identity.DeviceIdentity;
import dev.veil.e2ee.identity.Identity;
import dev.veil.e2ee.identity.VerificationCode;
import dev.veil.e2ee.pairwise.PairwiseChannel;
import dev.veil.e2ee.passphrase.PassphraseKeys;
import dev.veil.e2ee.key.KeyId;
import dev.veil.e2ee.sframe.CipherSuite;
import dev.veil.e2ee.util.SecretBytes;
import java.io.IOException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/**
 * The E2EE state of one connection, the Java twin of the browser's {@code veil-js/src/e2ee/index.js}: a fresh
 * {@link Identity} whose bundle goes into {@code signaling_notify_metadata}, a {@link GroupKeyManager} fed by
 * {@code notify} and the relay, and the frame layer ({@link E2eeFrames}): one {@code SFrameSender} for this
 * member (every outgoing stream shares its CTR) and one {@code SFrameReceiver} per remote sender. The manager's
 * outputs are applied as the browser applies them: {@code SendTo} → relay, {@code InstallKey} → that sender's
 * receiver, {@code ActivateSendKey} → the sender, {@code ForgetSender} → drop the receiver and make every key of
 * every other sender held now expire {@link #LEAVE_EXPIRY_MILLIS} later, {@code Rejected} → an error event.
 *
 * <p>Frames that arrive before their key (NO_KEY) are held, per sender in order, for at most {@link #HOLD_MILLIS}
 * ({@link #HOLD_MAX_FRAMES} frames and {@link #HOLD_MAX_BYTES} bytes over the session, checked before the copy);
 * a key install for the sender retries them, and they are delivered (through the {@code released} callback) or
 * dropped. Relay payloads longer than {@link #MAX_RELAY_PAYLOAD_CHARS} are refused before decoding. Confined to the
 * connection's event-loop thread.
 */
final class E2eeSession extends FingerprintView {
    static final CipherSuite SUITE = CipherSuite.AES_128_GCM_SHA256_128;
    private static final ObjectMapper JSON = new ObjectMapper();
    /** How long a frame that arrived before its key is held. */
    static final long HOLD_MILLIS = 1_000;
    /** Frames held at most (all senders). */
    static final int HOLD_MAX_FRAMES = 128;
    /** Bytes of frames held at most (all senders). */
    static final int HOLD_MAX_BYTES = 256 * 1024;
    /** After a leave, every key held of every other sender expires this much later. */
    static final long LEAVE_EXPIRY_MILLIS = 2_000;
    /** The longest relay payload taken (base64 characters): a sealed key message is under 600 bytes. */
    static final int MAX_RELAY_PAYLOAD_CHARS = 1_400;

    /** A base key as kept for tests. */
    record KeptKey(KeyId keyId, byte[] baseKey) {
        KeptKey {
            baseKey = baseKey.clone();
        }

        @Override
        public byte[] baseKey() {
            return baseKey.clone();
        }

        @Override
        public String toString() {
            return "KeptKey[" + keyId + "]";
        }
    }

    private final Identity identity;
    private final SecureRandom random;
    private final boolean keepKeys;
    private final Consumer<E2eeEvent> events;
    private final BiConsumer<String, String> relay;
    private final E2eeFrames frames;
    private final DataCrypto data = new DataCrypto();
    private final Map<String, List<KeptKey>> keptReceive = new LinkedHashMap<>();
    private long lastNow;
    private KeptKey keptSend;
    private GroupKeyManager manager;
    private boolean destroyed;
    private final DeviceIdentity device;
    private final PeerVerification verification;
    private String channelId;
    private final String passphrase; // passphrase mode (docs/PROTOCOL.md §2.5), else null
    private String selfId;
    private final Map<String, Bundle> passphraseMembers = new LinkedHashMap<>();

    /**
     * @param events where E2EE events go
     * @param relay sends a relay message: (to, standard base64 payload)
     */
    E2eeSession(SecureRandom random, boolean keepKeys, Consumer<E2eeEvent> events, BiConsumer<String, String> relay) {
        this(random, keepKeys, events, relay, (s, f) -> { }, null, new VerifiedPeers(),
                PeerVerification.DEFAULT_GRACE_MILLIS, null);
    }

    /** @param released receives (sender, decrypted frame) for held frames that decrypted once their key arrived */
    E2eeSession(SecureRandom random, boolean keepKeys, Consumer<E2eeEvent> events, BiConsumer<String, String> relay,
                BiConsumer<String, byte[]> released) {
        this(random, keepKeys, events, relay, released, null, new VerifiedPeers(),
                PeerVerification.DEFAULT_GRACE_MILLIS, null);
    }

    /**
     * @param released receives (sender, decrypted frame) for held frames that decrypted once their key arrived
     * @param device the persistent device identity, or null
     * @param verified where verified devices are remembered
     * @param passphrase passphrase mode with this passphrase (no key manager, no key messages), or null
     */
    E2eeSession(SecureRandom random, boolean keepKeys, Consumer<E2eeEvent> events, BiConsumer<String, String> relay,
                BiConsumer<String, byte[]> released, DeviceIdentity device, VerifiedPeers verified, long graceMillis,
                String passphrase) {
        this.frames = new E2eeFrames(events, released);
        this.passphrase = passphrase;
        this.random = random;
        this.keepKeys = keepKeys;
        this.events = events;
        this.relay = relay;
        this.identity = Identity.generate(random);
        setSelfFingerprint(identity.fingerprint().display());
        this.device = device;
        this.verification = new PeerVerification(identity, device, verified, graceMillis, events,
                (to, bytes) -> relay.accept(to, Base64.getEncoder().encodeToString(bytes)));
    }

    /** The persistent device fingerprint, or null without a device identity. */
    String deviceFingerprint() {
        return device == null ? null : device.fingerprint().display();
    }

    List<E2eeEvent.PeerInfo> peers() {
        return verification.peers();
    }

    boolean roomVerified() {
        return verification.roomVerified();
    }

    void markRoomVerified() {
        verification.markRoomVerified();
    }

    void markVerified(String fingerprint) {
        verification.markVerified(fingerprint);
    }

    /** {@code metadata} (an object, or null) with the bundle added under {@code e2ee_bundle}. */
    JsonNode notifyMetadata(JsonNode metadata) throws IOException {
        ObjectNode out = metadata != null && metadata.isObject() ? (ObjectNode) metadata.deepCopy()
                : JSON.createObjectNode();
        if (metadata != null && !metadata.isObject() && !metadata.isNull()) {
            throw new IllegalArgumentException("signaling_notify_metadata must be a JSON object with E2EE on");
        }
        // the bundle's JSON does not contain the connection id; any valid label will do before the offer
        out.set(Bundle.METADATA_MEMBER, JSON.readTree(identity.bundle("unassigned").toJson()));
        return out;
    }

    /** The server told this connection its id (the offer): the key manager starts. */
    void start(String selfConnectionId, String channel) {
        if (destroyed || started()) {
            return;
        }
        channelId = channel;
        selfId = selfConnectionId;
        verification.start(selfConnectionId, channel);
        if (passphrase != null) {
            // P from the server-assigned id, then the own random KID: the frame key is this connection's own
            long kid = PassphraseKeys.randomKid(random);
            SecretBytes p = PassphraseKeys.deriveSenderKey(passphrase, channel, selfConnectionId);
            SecretBytes base = PassphraseKeys.sframeBaseKey(p, kid);
            p.destroy();
            KeyId id = KeyId.fromKid(kid);
            frames.setSendKey(id, base);
            data.setSendKey(id, base);
            if (keepKeys) {
                keptSend = new KeptKey(id, base.toByteArray());
            }
            base.destroy();
            events.accept(new E2eeEvent.SendKey(id.generation(), id.step()));
            refreshMembership();
            return;
        }
        manager = new GroupKeyManager(identity, selfConnectionId, random);
        drain();
        refreshMembership();
    }

    boolean started() {
        return selfId != null;
    }

    /** Members joined: (connection id, signaling_notify_metadata) pairs. */
    void membersJoined(long now, List<Map.Entry<String, JsonNode>> members) {
        if (destroyed || !started()) {
            return;
        }
        lastNow = now;
        List<Bundle> bundles = new ArrayList<>();
        for (Map.Entry<String, JsonNode> m : members) {
            verification.setName(m.getKey(), PeerVerification.claimedName(m.getValue()));
            JsonNode b = m.getValue() == null ? null : m.getValue().get(Bundle.METADATA_MEMBER);
            if (b == null || !b.isObject()) {
                emitError("keys", "BAD_BUNDLE", m.getKey(), "no e2ee_bundle in its signaling_notify_metadata");
                continue;
            }
            try {
                bundles.add(Bundle.fromJson(m.getKey(), b.toString()));
            } catch (BundleFormatException e) {
                emitError("keys", "BAD_BUNDLE", m.getKey(), e.getMessage());
            }
        }
        if (!bundles.isEmpty() && passphrase != null) {
            for (Bundle b : bundles) {
                if (b.connectionId().equals(selfId) || passphraseMembers.containsKey(b.connectionId()) || !b.verify()) {
                    emitError("keys", "BAD_BUNDLE", b.connectionId(), "refused bundle");
                    continue;
                }
                passphraseMembers.put(b.connectionId(), b);
                SecretBytes p = PassphraseKeys.deriveSenderKey(passphrase, channelId, b.connectionId());
                frames.setPassphraseKey(b.connectionId(), p);
                data.setPassphraseKey(b.connectionId(), p);
                p.destroy();
            }
            refreshMembership();
        } else if (!bundles.isEmpty()) {
            manager.membersJoined(now, bundles);
            drain(now);
            refreshMembership();
        }
    }

    void memberLeft(long now, String connectionId) {
        if (destroyed || !started()) {
            return;
        }
        lastNow = now;
        keptReceive.remove(connectionId);
        if (passphrase != null) {
            passphraseMembers.remove(connectionId);
            frames.removeReceiver(connectionId);
            data.forget(connectionId, now, -1);
            refreshMembership();
            return;
        }
        manager.memberLeft(now, connectionId);
        keptReceive.remove(connectionId);
        drain(now);
        refreshMembership();
    }

    void relayMessage(long now, String from, String payloadBase64) {
        if (destroyed || !started()) {
            return;
        }
        if (payloadBase64 == null || payloadBase64.length() > MAX_RELAY_PAYLOAD_CHARS) {
            emitError("keys", "MALFORMED", from, "relay payload too long"); // refused before decoding
            return;
        }
        byte[] bytes;
        try {
            bytes = Base64.getDecoder().decode(payloadBase64);
        } catch (IllegalArgumentException e) {
            emitError("keys", "MALFORMED", from, "payload is not base64");
            return;
        }
        lastNow = now;
        if (PairwiseChannel.kindOf(bytes) == PairwiseChannel.Purpose.DEVICE.kind()) {
            verification.deviceMessage(now, from, bytes);
            return;
        }
        if (passphrase != null) {
            return; // passphrase mode sends and takes no key messages
        }
        manager.messageReceived(now, from, bytes);
        drain(now);
    }

    /** When {@link #timeout} is due next (monotonic ms): the key manager's timer or a held frame's expiry. */
    OptionalLong nextTimeout() {
        if (destroyed || !started()) {
            return OptionalLong.empty();
        }
        long t = Long.MAX_VALUE;
        if (manager != null) {
            OptionalLong m = manager.pollTimeout();
            if (m.isPresent()) {
                t = m.getAsLong();
            }
        }
        t = Math.min(t, frames.heldDeadline());
        OptionalLong v = verification.nextTimeout();
        if (v.isPresent()) {
            t = Math.min(t, v.getAsLong());
        }
        return t == Long.MAX_VALUE ? OptionalLong.empty() : OptionalLong.of(t);
    }

    void timeout(long now) {
        if (destroyed || !started()) {
            return;
        }
        lastNow = now;
        OptionalLong m = manager == null ? OptionalLong.empty() : manager.pollTimeout();
        if (m.isPresent() && now >= m.getAsLong()) {
            manager.handleTimeout(now);
        }
        drain(now);
        frames.retryAllHeld(now);
        verification.timeout(now);
    }

    /** Encrypts one Opus frame (clear TOC byte, docs/PROTOCOL.md §2.2 media framing). */
    byte[] encryptOpus(byte[] frame) throws FrameCryptoException {
        if (destroyed) {
            throw new FrameCryptoException("E2EE destroyed");
        }
        return frames.encrypt(Codec.OPUS, FrameType.UNSPECIFIED, frame);
    }

    /** Encrypts one VP8 frame (clear frame tag, and start code and size on a key frame; docs/PROTOCOL.md §2.1). */
    byte[] encryptVp8(byte[] frame, boolean keyFrame) throws FrameCryptoException {
        if (destroyed) {
            throw new FrameCryptoException("E2EE destroyed");
        }
        return frames.encrypt(Codec.VP8, keyFrame ? FrameType.KEY : FrameType.DELTA, frame);
    }

    /**
     * Decrypts one Opus frame of {@code senderId}; null if it does not decrypt (it is then dropped and reported,
     * at most once per second per sender and reason).
     */
    byte[] decryptOpus(String senderId, byte[] frame, long now) {
        if (destroyed) {
            return null;
        }
        lastNow = Math.max(lastNow, now);
        return frames.decryptOpus(senderId, frame, now);
    }

    /**
     * Decrypts one VP8 frame of {@code senderId} (the clear prefix's length read from the frame tag's P bit); null if
     * it does not decrypt (dropped and reported). Not held while the key is missing: a video frame that late is of no
     * use, the next key frame is.
     */
    byte[] decryptVp8(String senderId, byte[] frame, long now) {
        if (destroyed) {
            return null;
        }
        lastNow = Math.max(lastNow, now);
        return frames.decryptVp8(senderId, frame, now);
    }

    /** Tests only: frames held now. */
    int heldFramesForTesting() {
        return frames.heldCount();
    }

    private void emitError(String source, String reason, String from, String detail) {
        events.accept(new E2eeEvent.Error(source, reason, from, detail, 0));
    }

    private void drain() {
        drain(lastNow);
    }

    private void drain(long now) {
        if (manager == null || destroyed) {
            return;
        }
        lastNow = Math.max(lastNow, now);
        List<String> installed = new ArrayList<>();
        for (GroupOutput o : manager.drainOutputs()) {
            if (o instanceof GroupOutput.SendTo s) {
                relay.accept(s.connectionId(), Base64.getEncoder().encodeToString(s.message()));
            } else if (o instanceof GroupOutput.InstallKey k) {
                frames.installKey(k.sender(), k.keyId(), k.baseKey(), now);
                data.installKey(k.sender(), k.keyId(), k.baseKey(), now);
                installed.add(k.sender());
                if (keepKeys) {
                    keptReceive.computeIfAbsent(k.sender(), x -> new ArrayList<>())
                            .add(new KeptKey(k.keyId(), k.baseKey().toByteArray()));
                }
                k.baseKey().destroy();
                events.accept(new E2eeEvent.KeyInstalled(k.sender(), k.keyId().generation(), k.keyId().step()));
            } else if (o instanceof GroupOutput.ActivateSendKey a) {
                frames.setSendKey(a.keyId(), a.baseKey());
                data.setSendKey(a.keyId(), a.baseKey());
                if (keepKeys) {
                    keptSend = new KeptKey(a.keyId(), a.baseKey().toByteArray());
                }
                a.baseKey().destroy();
                events.accept(new E2eeEvent.SendKey(a.keyId().generation(), a.keyId().step()));
            } else if (o instanceof GroupOutput.ForgetSender f) {
                // the departed member may know every key held now: none outlives the leave by more than 2 s
                frames.forgetSender(f.connectionId(), now, now + LEAVE_EXPIRY_MILLIS);
                data.forget(f.connectionId(), now, now + LEAVE_EXPIRY_MILLIS);
            } else if (o instanceof GroupOutput.Rejected r) {
                emitError("keys", r.reason().name(), r.from(), r.detail());
            }
        }
        for (String s : installed) {
            frames.retryHeld(s, now);
        }
    }

    private void refreshMembership() {
        if (!started() || destroyed) {
            return;
        }
        List<Bundle> accepted = manager != null ? manager.members() : List.copyOf(passphraseMembers.values());
        Map<String, String> fps = new LinkedHashMap<>();
        for (Bundle b : accepted) {
            fps.put(b.connectionId(), b.fingerprint().display());
        }
        if (!fps.equals(remoteFingerprints())) {
            setRemoteFingerprints(Collections.unmodifiableMap(fps));
            events.accept(new E2eeEvent.Fingerprints(selfFingerprint(), fps));
        }
        // the code shown covers the channel, the mode and the format (SFrame, suite 4) too
        List<VerificationCode.Member> members = new ArrayList<>();
        members.add(new VerificationCode.Member(selfId, identity.identityKey()));
        Map<String, Bundle> bundles = new LinkedHashMap<>();
        for (Bundle b : accepted) {
            members.add(VerificationCode.Member.of(b));
            bundles.put(b.connectionId(), b);
        }
        String code = VerificationCode.of(new VerificationCode.Context(channelId,
                passphrase != null ? VerificationCode.MODE_PASSPHRASE : VerificationCode.MODE_KEYS,
                VerificationCode.FORMAT_SFRAME, SUITE.id()), members).display();
        if (!code.equals(verificationCode())) {
            setVerificationCode(code);
            events.accept(new E2eeEvent.VerificationCodeChanged(code));
            verification.codeChanged(code);
        }
        verification.membersChanged(lastNow, bundles, fps);
    }

    /** Tests only: the current send key. */
    KeptKey keptSendKey() {
        return keptSend;
    }

    /** Tests only: every receive key installed, per sender. */
    Map<String, List<KeptKey>> keptReceiveKeys() {
        Map<String, List<KeptKey>> out = new LinkedHashMap<>();
        keptReceive.forEach((k, v) -> out.put(k, List.copyOf(v)));
        return out;
    }

    /** Wipes the identity, the key manager and every key. */
    void destroy() {
        if (destroyed) {
            return;
        }
        destroyed = true;
        verification.destroy();
        frames.destroy(random);
        if (manager != null) {
            manager.destroy();
        } else {
            identity.destroy();
        }
        data.destroy();
        keptReceive.clear();
        keptSend = null;
    }

    /** Encrypts a data message (docs/PROTOCOL.md §1.7) for {@code to} (null: everyone). */
    byte[] sealData(String to, byte kind, byte[] body) throws FrameCryptoException {
        if (destroyed) {
            throw new FrameCryptoException("E2EE session destroyed");
        }
        return data.seal(to, kind, body);
    }

    /** A data message from {@code from}: the message, or null (dropped and reported as an error event). */
    DataCrypto.Opened openData(String from, String to, byte[] payload, long now) {
        return destroyed ? null
                : data.openOrDrop(from, to, payload, now, why -> emitError("data", why, from, DataOpener.DROPPED));
    }

    boolean isDestroyed() {
        return destroyed;
    }
}
