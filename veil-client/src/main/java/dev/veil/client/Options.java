package dev.veil.client;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Objects;
import java.util.function.LongSupplier;

/**
 * How a {@link Connection} joins: end-to-end encrypted or plain, what to show the other members, the clock, the
 * connect timeout. Immutable; every {@code with...} returns a copy.
 *
 * <pre>{@code
 * Options.e2ee()                                   // an end-to-end encrypted channel (SFrame, MLS key mode)
 * Options.e2eeSenderKeys()                         // the same with Veil's sender keys (Sora-style) instead of MLS
 * Options.plain()                                  // a channel without E2EE
 * Options.e2ee().withSignalingNotifyMetadata(json) // shown to the others in notify (the e2ee_bundle is added)
 * }</pre>
 */
public final class Options {
    /** The default time {@link Connection#connect()} may take before it fails. */
    public static final long DEFAULT_CONNECT_TIMEOUT_MILLIS = 15_000;

    private final boolean e2ee;
    private final JsonNode signalingNotifyMetadata;
    private final LongSupplier clock;
    private final long connectTimeoutMillis;
    private final boolean keepKeysForTesting;
    private java.nio.file.Path deviceKeyFile;
    private VerifiedPeers verifiedPeers;
    private long deviceCertificateGraceMillis = PeerVerification.DEFAULT_GRACE_MILLIS;
    private String passphrase;
    private String keyMode;
    private boolean screenShare;
    private boolean simulcast;
    private boolean mlsExternalSender;
    private boolean congestionFeedback = true;

    private Options(boolean e2ee, JsonNode signalingNotifyMetadata, LongSupplier clock, long connectTimeoutMillis,
            boolean keepKeysForTesting) {
        this.e2ee = e2ee;
        this.signalingNotifyMetadata = signalingNotifyMetadata == null ? null : signalingNotifyMetadata.deepCopy();
        this.clock = clock;
        this.connectTimeoutMillis = connectTimeoutMillis;
        this.keepKeysForTesting = keepKeysForTesting;
    }

    /**
     * End-to-end encrypted: SFrame (RFC 9605, suite AES_128_GCM_SHA256_128) with keys from the default key mode, MLS
     * ({@link #e2eeMls()}); with {@link #withPassphrase} (which MLS cannot do) the default is sender keys. Pick a mode
     * with {@link #withKeyMode} or {@link #e2eeSenderKeys()}. The mode is always sent in {@code connect}.
     */
    public static Options e2ee() {
        return new Options(true, null, Options::monotonicMillis, DEFAULT_CONNECT_TIMEOUT_MILLIS, false);
    }

    /**
     * End-to-end encrypted with Veil's sender keys (the Sora-style key mode, docs/PROTOCOL.md §3): each member's own
     * SFrame key, sent to the others through the server's relay; ratchet on join, fresh key on leave.
     */
    public static Options e2eeSenderKeys() {
        return e2ee().withKeyMode(dev.veil.signaling.Connect.KEY_MODE_SENDER_KEYS);
    }

    /**
     * End-to-end encrypted in the MLS key mode (docs/PROTOCOL.md §4): one MLS group (RFC 9420, suite 1) per channel,
     * ordered by the server as delivery service; SFrame keys from the MLS exporter (RFC 9605 §5.2); the code to
     * compare comes from the epoch authenticator.
     */
    public static Options e2eeMls() {
        return e2ee().withKeyMode(dev.veil.signaling.Connect.KEY_MODE_MLS);
    }

    /**
     * E2EE with key mode {@code mode}: {@code "mls"} (the default of {@link #e2ee()}) or {@code "sender-keys"}.
     *
     * @throws IllegalArgumentException for any other mode (never silently replaced by another)
     */
    public Options withKeyMode(String mode) {
        if (!e2ee) {
            throw new IllegalStateException("a key mode needs Options.e2ee()");
        }
        if (!dev.veil.signaling.Connect.isKnownKeyMode(mode)) {
            throw new IllegalArgumentException("unknown E2EE key mode '" + mode + "': expected '"
                    + dev.veil.signaling.Connect.KEY_MODE_SENDER_KEYS + "' or '"
                    + dev.veil.signaling.Connect.KEY_MODE_MLS + "'");
        }
        if (passphrase != null && dev.veil.signaling.Connect.KEY_MODE_MLS.equals(mode)) {
            throw new IllegalStateException("passphrase mode and the MLS key mode exclude each other");
        }
        Options o = copy(new Options(e2ee, signalingNotifyMetadata, clock, connectTimeoutMillis, keepKeysForTesting));
        o.keyMode = mode;
        return o;
    }

    /**
     * The E2EE key mode, null without E2EE: the one given ({@link #withKeyMode}), else {@code "mls"}, or
     * {@code "sender-keys"} in passphrase mode (which MLS cannot do).
     */
    public String keyMode() {
        if (!e2ee) {
            return null;
        }
        if (keyMode != null) {
            return keyMode;
        }
        return passphrase != null ? dev.veil.signaling.Connect.KEY_MODE_SENDER_KEYS
                : dev.veil.signaling.Connect.KEY_MODE_MLS;
    }

    /** Whether this is the MLS key mode. */
    public boolean isMls() {
        return dev.veil.signaling.Connect.KEY_MODE_MLS.equals(keyMode());
    }

    /**
     * MLS key mode: a group this connection founds names the server's external sender (docs/PROTOCOL.md §4.8), so the
     * server proposes adds and removals and this member commits them; every member still refuses any proposal or
     * commit that does not match the membership the server announced. Members of any group accept the server's
     * proposals only if its group context names it. Off by default until the browser SDK follows.
     */
    public Options withMlsExternalSender(boolean on) {
        Options o = copy(new Options(e2ee, signalingNotifyMetadata, clock, connectTimeoutMillis, keepKeysForTesting));
        o.mlsExternalSender = on;
        return o;
    }

    /** Whether a group this connection founds names the server's external sender. */
    public boolean mlsExternalSender() {
        return mlsExternalSender;
    }

    /** No end-to-end encryption: the server could read the media (only DTLS-SRTP protects it hop by hop). */
    public static Options plain() {
        return new Options(false, null, Options::monotonicMillis, DEFAULT_CONNECT_TIMEOUT_MILLIS, false);
    }

    /**
     * JSON shown to the other members in their {@code notify} (must be an object or null with E2EE on: the SDK adds
     * its key bundle under {@code e2ee_bundle}).
     */
    public Options withSignalingNotifyMetadata(JsonNode metadata) {
        return copy(new Options(e2ee, metadata, clock, connectTimeoutMillis, keepKeysForTesting));
    }

    /**
     * A monotonic millisecond clock for the connection's timers and the key manager's inputs (tests). The network
     * still runs in real time; BouncyCastle's DTLS retransmission timer always uses wall time.
     */
    public Options withClock(LongSupplier monotonicMillis) {
        return copy(new Options(e2ee, signalingNotifyMetadata, Objects.requireNonNull(monotonicMillis, "clock"),
                connectTimeoutMillis, keepKeysForTesting));
    }

    /** How long {@link Connection#connect()} may take (signaling, ICE and DTLS) before it fails. */
    public Options withConnectTimeoutMillis(long millis) {
        if (millis <= 0) {
            throw new IllegalArgumentException("connect timeout must be positive");
        }
        return copy(new Options(e2ee, signalingNotifyMetadata, clock, millis, keepKeysForTesting));
    }

    /** Tests only: keep copies of every media key so that a test can show which frames they open. */
    Options withKeysKeptForTesting() {
        return copy(new Options(e2ee, signalingNotifyMetadata, clock, connectTimeoutMillis, true));
    }

    private String accessToken;

    private Options copy(Options o) {
        o.deviceKeyFile = deviceKeyFile;
        o.verifiedPeers = verifiedPeers;
        o.deviceCertificateGraceMillis = deviceCertificateGraceMillis;
        o.passphrase = passphrase;
        o.accessToken = accessToken;
        o.keyMode = keyMode;
        o.screenShare = screenShare;
        o.simulcast = simulcast;
        o.mlsExternalSender = mlsExternalSender;
        o.congestionFeedback = congestionFeedback;
        return o;
    }

    /**
     * Ask the server for a screen-share video uplink (docs/PROTOCOL.md §1.3: {@code connect} with {@code screen}):
     * the member's additional video track, labelled {@code screen}, which {@link Connection#sendScreenFrame} fills
     * with VP8 frames (SFrame-encrypted with E2EE). Sending roles only.
     */
    public Options withScreenShare() {
        Options o = copy(new Options(e2ee, signalingNotifyMetadata, clock, connectTimeoutMillis, keepKeysForTesting));
        o.screenShare = true;
        return o;
    }

    /**
     * Send camera video with simulcast (docs/PROTOCOL.md §1.3 <i>Simulcast</i>): the connection asks the server for a
     * camera video uplink ({@code connect} with {@code video}) and answers its simulcast offer with three layers,
     * {@code q}, {@code h}, {@code f} (lowest resolution first), one SSRC each, every packet naming its layer with the
     * RtpStreamId extension. The SDK has no encoder: the application encodes each layer (as browsers do: 1/4, 1/2
     * and full resolution, about 150 kbit/s, 500 kbit/s and 2.5 Mbit/s) and hands every layer's VP8 frames to
     * {@link Connection#sendVideoFrame}; with E2EE each frame is SFrame-encrypted on its own (VP8 clear prefix). The
     * server forwards each subscriber one layer, switching at a key frame of the new layer. If the server offers no
     * simulcast, one plain stream carries the top layer. Sending roles only.
     */
    public Options withSimulcast() {
        Options o = copy(new Options(e2ee, signalingNotifyMetadata, clock, connectTimeoutMillis, keepKeysForTesting));
        o.simulcast = true;
        return o;
    }

    /**
     * Do not send the server congestion feedback for what it forwards (docs/PROTOCOL.md §1.3 <i>Downlink congestion
     * control</i>): the answer then accepts neither the transport-wide sequence number with {@code transport-cc} nor
     * {@code goog-remb}, so the server runs no downlink estimate for this connection and picks its simulcast layers
     * from its {@link Connection#setReceiveMaxHeight} wish alone. By default a receiving connection answers like a
     * browser: transport-wide feedback every 100 ms (REMB if the server offers no transport-cc). NACK and RTX repair
     * stay on either way.
     */
    public Options withoutCongestionFeedback() {
        Options o = copy(new Options(e2ee, signalingNotifyMetadata, clock, connectTimeoutMillis, keepKeysForTesting));
        o.congestionFeedback = false;
        return o;
    }

    /** Whether the connection sends the server congestion feedback (the default; {@link #withoutCongestionFeedback()}). */
    public boolean isCongestionFeedback() {
        return congestionFeedback;
    }

    /** Whether the connection sends simulcast camera video ({@link #withSimulcast()}). */
    public boolean isSimulcast() {
        return simulcast;
    }

    /** Whether the connection asks for a screen-share uplink. */
    public boolean isScreenShare() {
        return screenShare;
    }

    /**
     * The access token (a JWT minted by the operator's backend) sent in {@code connect}'s {@code token}; servers with
     * {@code auth.mode = "token"} refuse a connect without a valid one (docs/PROTOCOL.md §1.7). Never in toString.
     */
    public Options withToken(String token) {
        Options o = copy(new Options(e2ee, signalingNotifyMetadata, clock, connectTimeoutMillis, keepKeysForTesting));
        o.accessToken = token;
        return o;
    }

    /** The access token, or {@code null}. */
    public String token() {
        return accessToken;
    }

    /**
     * Passphrase mode (docs/PROTOCOL.md §2.5) in the sender-keys key mode (the default once a passphrase is given; refused
     * after {@code withKeyMode("mls")}) instead of the group key manager: every member's SFrame key comes from
     * this passphrase, the channel id, the member's connection id and a random KID of the member's own; no key
     * messages. Everyone who knows the passphrase can decrypt, forever. Requires E2EE. Each member's key costs one
     * PBKDF2 of 100,000 iterations on the connection's event-loop thread when it joins.
     */
    public Options withPassphrase(String passphrase) {
        if (!e2ee) {
            throw new IllegalStateException("passphrase mode needs Options.e2ee()");
        }
        if (passphrase == null || passphrase.isEmpty()) {
            throw new IllegalArgumentException("empty passphrase");
        }
        if (dev.veil.signaling.Connect.KEY_MODE_MLS.equals(keyMode)) { // the default gives way, an explicit mode not
            throw new IllegalStateException("passphrase mode and the MLS key mode exclude each other");
        }
        Options o = copy(new Options(e2ee, signalingNotifyMetadata, clock, connectTimeoutMillis, keepKeysForTesting));
        o.passphrase = passphrase;
        return o;
    }

    /** Whether this is passphrase mode. */
    public boolean isPassphraseMode() {
        return passphrase != null;
    }

    String passphrase() {
        return passphrase;
    }

    /**
     * A persistent device identity: the Ed25519 key in {@code keyFile} (created with owner-only permissions if it
     * does not exist; a file that group or others can access is refused) certifies each connection's fresh identity,
     * so {@link Connection#e2eeDeviceFingerprint()} is the same from call to call. The devices this user marks
     * verified are kept beside it, in {@link VerifiedPeers#fileFor keyFile.verified} (owner-only, rewritten
     * atomically, bounded; see {@link VerifiedPeers}), so a verification holds in the next call too, unless
     * {@link #withVerifiedPeers} gives another list.
     */
    public Options withDeviceKeyFile(java.nio.file.Path keyFile) {
        Options o = copy(new Options(e2ee, signalingNotifyMetadata, clock, connectTimeoutMillis, keepKeysForTesting));
        o.deviceKeyFile = Objects.requireNonNull(keyFile, "keyFile");
        return o;
    }

    /**
     * Where {@link Connection#markVerified(String)} remembers verified devices (share it across connections; in
     * memory or {@link VerifiedPeers#load persisted}). Without it: the file beside the device key file, if any,
     * else a list of this connection only.
     */
    public Options withVerifiedPeers(VerifiedPeers peers) {
        Options o = copy(new Options(e2ee, signalingNotifyMetadata, clock, connectTimeoutMillis, keepKeysForTesting));
        o.verifiedPeers = Objects.requireNonNull(peers, "peers");
        return o;
    }

    /** How long a member claiming a verified name may take to show its device certificate (default 5000 ms). */
    public Options withDeviceCertificateGraceMillis(long millis) {
        if (millis < 0) {
            throw new IllegalArgumentException("grace must not be negative");
        }
        Options o = copy(new Options(e2ee, signalingNotifyMetadata, clock, connectTimeoutMillis, keepKeysForTesting));
        o.deviceCertificateGraceMillis = millis;
        return o;
    }

    public java.nio.file.Path deviceKeyFile() {
        return deviceKeyFile;
    }

    VerifiedPeers verifiedPeers() {
        return verifiedPeers;
    }

    long deviceCertificateGraceMillis() {
        return deviceCertificateGraceMillis;
    }

    public boolean isE2ee() {
        return e2ee;
    }

    public JsonNode signalingNotifyMetadata() {
        return signalingNotifyMetadata == null ? null : signalingNotifyMetadata.deepCopy();
    }

    public long connectTimeoutMillis() {
        return connectTimeoutMillis;
    }

    LongSupplier clock() {
        return clock;
    }

    boolean keepKeysForTesting() {
        return keepKeysForTesting;
    }

    private static long monotonicMillis() {
        return System.nanoTime() / 1_000_000L;
    }

    @Override
    public String toString() {
        return "Options[e2ee=" + e2ee + (e2ee ? ", key mode " + keyMode() : "")
                + (passphrase != null ? ", passphrase mode" : "")
                + (accessToken != null ? ", token" : "") + (screenShare ? ", screen share" : "") + (simulcast ? ", simulcast" : "") + ", connectTimeoutMillis="
                + connectTimeoutMillis + "]"; // never the passphrase itself
    }
}
