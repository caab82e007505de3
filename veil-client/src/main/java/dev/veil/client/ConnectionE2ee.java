package dev.veil.client;

import com.fasterxml.jackson.databind.JsonNode;
import dev.veil.e2ee.codec.FrameCryptoException;
import dev.veil.e2ee.identity.DeviceIdentity;
import dev.veil.signaling.ConnectionInfo;
import dev.veil.signaling.Data;
import dev.veil.signaling.E2ee;
import dev.veil.signaling.Mls;
import dev.veil.signaling.MlsEvent;
import dev.veil.signaling.Notify;
import dev.veil.signaling.SignalingMessage;
import java.io.IOException;
import java.security.SecureRandom;
import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The E2EE layer of one {@link Connection}: the sender-keys {@link E2eeSession} or the {@link MlsSession} (at most
 * one; neither without E2EE), wired to the connection's signaling and listeners, and the view of it that the
 * connection's getters read from any thread (fingerprints, verification code, peers, MLS epoch). Loop-confined apart
 * from that view; no I/O of its own.
 *
 * <p>Fail closed: a frame that cannot be encrypted is never sent in clear (null, and an {@link E2eeEvent.Error}); a
 * received frame or data message that does not decrypt is dropped (null).
 */
final class ConnectionE2ee extends FingerprintView {
    private final Options options;
    private final SecureRandom random;
    private final ConnectionListeners listeners;
    private final Consumer<SignalingMessage> signaling;

    // loop-confined
    private E2eeSession e2ee;
    private MlsSession mls;

    // written on the loop thread, read anywhere
    private volatile long mlsEpoch = -1;
    private volatile String deviceFingerprint;
    private volatile List<E2eeEvent.PeerInfo> peers = List.of();
    private volatile boolean roomVerified;

    ConnectionE2ee(Options options, SecureRandom random, ConnectionListeners listeners,
                   Consumer<SignalingMessage> signaling) {
        this.options = options;
        this.random = random;
        this.listeners = listeners;
        this.signaling = signaling;
    }

    private java.util.function.Consumer<String> releasedHook = sender -> { };

    /** Told the sender of each held frame delivered once its key arrived (loop thread; for the receive counts). */
    void onReleased(java.util.function.Consumer<String> hook) {
        releasedHook = hook;
    }

    /**
     * Sets up the key mode of the options (nothing without E2EE); returns the notify metadata to connect with (with
     * sender keys, {@code notifyMetadata} plus this member's key bundle).
     */
    JsonNode setUp(JsonNode notifyMetadata) throws IOException {
        if (options.isMls()) {
            mls = new MlsSession(random, this::emit, signaling, options.deviceKeyFile() == null ? null
                    : DeviceIdentity.loadOrCreate(options.deviceKeyFile(), random), options.mlsExternalSender());
            deviceFingerprint = mls.deviceFingerprint();
        } else if (options.isE2ee()) {
            DeviceIdentity device = options.deviceKeyFile() == null ? null
                    : DeviceIdentity.loadOrCreate(options.deviceKeyFile(), random);
            e2ee = new E2eeSession(random, options.keepKeysForTesting(), this::emit,
                    (to, payload) -> signaling.accept(E2ee.to(to, payload)),
                    (sender, frame) -> {
                        releasedHook.accept(sender);
                        listeners.emit(l -> l.onAudioFrame(sender, frame));
                    }, device,
                    options.verifiedPeers() != null ? options.verifiedPeers()
                            : options.deviceKeyFile() != null
                                    ? VerifiedPeers.load(VerifiedPeers.fileFor(options.deviceKeyFile()))
                                    : new VerifiedPeers(),
                    options.deviceCertificateGraceMillis(), options.passphrase());
            setSelfFingerprint(e2ee.selfFingerprint());
            deviceFingerprint = e2ee.deviceFingerprint();
            return e2ee.notifyMetadata(notifyMetadata);
        }
        return notifyMetadata;
    }

    /** The server's offer named this connection: the key exchange starts. */
    void start(String connectionId, String channelId) {
        if (e2ee != null) {
            e2ee.start(connectionId, channelId);
        }
        if (mls != null) {
            mls.start(connectionId);
        }
    }

    // ------------------------------------------------------------------------------------------ signaling in

    /** A relayed {@code e2ee} message (sender keys). */
    void onRelay(E2ee e, long now) {
        if (e.from() == null) {
            return;
        }
        if (e2ee != null) {
            e2ee.relayMessage(now, e.from(), e.payload());
        }
    }

    void onMls(Mls m, long now) {
        if (mls != null) {
            mls.onMessage(m, now);
            mlsEpoch = mls.epoch();
        }
    }

    void onMlsEvent(MlsEvent ev, long now) {
        if (mls != null) {
            mls.onEvent(ev, now);
            mlsEpoch = mls.epoch();
        }
    }

    /** Members joined or left ({@code self}: this connection's id, null before the offer). */
    void onNotify(Notify n, String self, long now) {
        if (e2ee != null && self != null) {
            if (n.eventType() == Notify.EventType.CONNECTION_CREATED) {
                if (n.connectionId().equals(self)) {
                    if (n.data() != null) {
                        List<Map.Entry<String, JsonNode>> list = new ArrayList<>();
                        for (ConnectionInfo ci : n.data()) {
                            if (!ci.connectionId().equals(self)) {
                                list.add(new AbstractMap.SimpleImmutableEntry<>(ci.connectionId(),
                                        ci.signalingNotifyMetadata()));
                            }
                        }
                        e2ee.membersJoined(now, list);
                    }
                } else {
                    e2ee.membersJoined(now, List.of(new AbstractMap.SimpleImmutableEntry<>(n.connectionId(),
                            n.signalingNotifyMetadata())));
                }
            } else if (n.eventType() == Notify.EventType.CONNECTION_DESTROYED && !n.connectionId().equals(self)) {
                e2ee.memberLeft(now, n.connectionId());
            }
        }
        if (mls != null && self != null) {
            if (n.eventType() == Notify.EventType.CONNECTION_DESTROYED && !n.connectionId().equals(self)) {
                mls.memberLeft(n.connectionId(), now);
            } else if (n.eventType() == Notify.EventType.CONNECTION_CREATED) {
                if (!n.connectionId().equals(self)) {
                    mls.memberJoined(n.connectionId(), now);
                } else if (n.data() != null) {
                    for (ConnectionInfo ci : n.data()) {
                        mls.memberJoined(ci.connectionId(), now);
                    }
                }
            }
            mlsEpoch = mls.epoch();
        }
    }

    // ------------------------------------------------------------------------------------------ data messages

    /** The payload of a data message to send: sealed with E2EE, framed in clear without. */
    byte[] sealData(String to, byte kind, byte[] body) throws FrameCryptoException {
        if (mls != null) {
            return mls.sealData(to, kind, body); // docs/PROTOCOL.md §4.10
        }
        return e2ee != null ? e2ee.sealData(to, kind, body) : DataCrypto.frame(kind, body);
    }

    /** A received data message for {@code self}, opened; null if it is not one, not for us, or does not open. */
    DataMessage openData(Data d, String self, long now) {
        if (d.from() == null || (d.to() != null && !d.to().equals(self))) {
            return null; // not a delivery, or not for this connection
        }
        byte[] payload = d.payloadBytes();
        if (mls != null) {
            DataCrypto.Opened o = mls.openData(d.from(), d.to(), payload, now); // dropped, never accepted in clear
            return o == null ? null : new DataMessage(d.from(), d.to(), o.kind() == DataCrypto.KIND_TEXT, o.body());
        }
        if (e2ee != null) {
            DataCrypto.Opened o = e2ee.openData(d.from(), d.to(), payload, now);
            if (o == null) {
                return null;
            }
            return new DataMessage(d.from(), d.to(), o.kind() == DataCrypto.KIND_TEXT, o.body());
        }
        if (payload.length < 1 || payload[0] > DataCrypto.KIND_TEXT || payload[0] < 0) {
            return null;
        }
        return new DataMessage(d.from(), d.to(), payload[0] == DataCrypto.KIND_TEXT,
                Arrays.copyOfRange(payload, 1, payload.length));
    }

    // ------------------------------------------------------------------------------------------ frames

    /** The Opus payload to send ({@code frame} as is without E2EE); null if it cannot be encrypted (reported). */
    byte[] sealOpus(byte[] frame, String connectionId) {
        if (e2ee == null && mls == null) {
            return frame;
        }
        try {
            return e2ee != null ? e2ee.encryptOpus(frame) : mls.encryptOpus(frame);
        } catch (FrameCryptoException e) {
            emit(new E2eeEvent.Error("frames", "ENCRYPT_FAILED", connectionId, e.getMessage(), 0));
            return null; // never sent in clear
        }
    }

    /** The VP8 payload to send on the screen track; null if it cannot be encrypted (reported). */
    byte[] sealVp8(byte[] frame, boolean keyFrame, String connectionId) {
        if (e2ee == null && mls == null) {
            return frame;
        }
        try {
            return e2ee != null ? e2ee.encryptVp8(frame, keyFrame) : mls.encryptVp8(frame, keyFrame);
        } catch (FrameCryptoException e) {
            emit(new E2eeEvent.Error("frames", "ENCRYPT_FAILED", connectionId, e.getMessage(), 0));
            return null; // never sent in clear
        }
    }

    /** A received VP8 frame of {@code sender}, decrypted; null if dropped (and reported). */
    byte[] openVp8(String sender, byte[] payload, long now) {
        if (e2ee != null) {
            return e2ee.decryptVp8(sender, payload, now);
        }
        return mls != null ? mls.decryptVp8(sender, payload, now) : payload;
    }

    /** A received Opus payload of {@code sender}, decrypted; null if dropped (and reported). */
    byte[] openOpus(String sender, byte[] payload, long now) {
        if (e2ee != null) {
            return e2ee.decryptOpus(sender, payload, now);
        }
        if (mls != null) {
            return mls.decryptOpus(sender, payload, now);
        }
        return payload;
    }

    // ------------------------------------------------------------------------------------------ timers, end

    void onWake(long now) {
        if (e2ee != null) {
            var t = e2ee.nextTimeout();
            if (t.isPresent() && now >= t.getAsLong()) {
                e2ee.timeout(now);
            }
        }
        if (mls != null) {
            var t = mls.nextTimeout();
            if (t.isPresent() && now >= t.getAsLong()) {
                mls.timeout(now);
            }
        }
    }

    long nextDeadline() {
        long d = Long.MAX_VALUE;
        if (e2ee != null) {
            var t = e2ee.nextTimeout();
            if (t.isPresent()) {
                d = Math.min(d, t.getAsLong());
            }
        }
        if (mls != null) {
            var t = mls.nextTimeout();
            if (t.isPresent()) {
                d = Math.min(d, t.getAsLong());
            }
        }
        return d;
    }

    /** Destroys the identity and every key. */
    void destroy() {
        if (mls != null) {
            mls.destroy();
        }
        if (e2ee != null) {
            e2ee.destroy();
        }
    }

    // ------------------------------------------------------------------------------------------ verification

    /** The room code was compared out of band (sender keys; fails without). */
    void markRoomVerified() {
        requireSession().markRoomVerified();
        refreshVerificationView();
    }

    /** A peer's fingerprint was compared out of band (sender keys; fails without). */
    void markVerified(String fingerprint) {
        requireSession().markVerified(fingerprint);
        refreshVerificationView();
    }

    private E2eeSession requireSession() {
        if (e2ee == null) {
            throw new IllegalStateException("not an E2EE connection (or not set up yet)");
        }
        return e2ee;
    }

    private void refreshVerificationView() {
        if (e2ee != null) {
            peers = List.copyOf(e2ee.peers());
            roomVerified = e2ee.roomVerified();
        }
    }

    /** An event of the key layer: updates the view, then tells the listeners. */
    private void emit(E2eeEvent ev) {
        if (ev instanceof E2eeEvent.MlsEpoch me) {
            mlsEpoch = me.epoch();
            setVerificationCode(me.verificationCode());
        }
        if (ev instanceof E2eeEvent.Fingerprints f) {
            setRemoteFingerprints(f.remote());
        } else if (ev instanceof E2eeEvent.VerificationCodeChanged c) {
            setVerificationCode(c.code());
        }
        refreshVerificationView();
        listeners.emit(l -> l.onE2ee(ev));
    }

    // ------------------------------------------------------------------------------------------ the view

    long epoch() {
        return mlsEpoch;
    }

    String deviceFingerprint() {
        return deviceFingerprint;
    }

    List<E2eeEvent.PeerInfo> peers() {
        return peers;
    }

    boolean roomVerified() {
        return roomVerified;
    }

    // ------------------------------------------------------------------------------------------ test hooks

    /** Tests only: the keys held now (sender keys, kept with {@link Options#withKeysKeptForTesting()}). */
    Map<String, List<E2eeSession.KeptKey>> keptKeys() {
        Map<String, List<E2eeSession.KeptKey>> out = new LinkedHashMap<>(e2ee.keptReceiveKeys());
        if (e2ee.keptSendKey() != null) {
            out.put("self", List.of(e2ee.keptSendKey()));
        }
        return out;
    }

    /** Tests only: whether the identity and keys were destroyed (true without sender keys). */
    boolean destroyed() {
        return e2ee == null || e2ee.isDestroyed();
    }
}
