package dev.veil.client;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Objects;
import java.util.function.LongSupplier;

/**
 * How a {@link Connection} joins: end-to-end encrypted or plain, what to show the other members, the clock, the
 * connect timeout. Immutable; every {@code with...} returns a copy.
 *
 * <pre>{@code
 * Options.e2ee()                                   // an end-to-end encrypted channel (SFrame, group key manager)
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

    private Options(boolean e2ee, JsonNode signalingNotifyMetadata, LongSupplier clock, long connectTimeoutMillis,
            boolean keepKeysForTesting) {
        this.e2ee = e2ee;
        this.signalingNotifyMetadata = signalingNotifyMetadata == null ? null : signalingNotifyMetadata.deepCopy();
        this.clock = clock;
        this.connectTimeoutMillis = connectTimeoutMillis;
        this.keepKeysForTesting = keepKeysForTesting;
    }

    /** End-to-end encrypted: SFrame (RFC 9605, suite AES_128_GCM_SHA256_128) with Veil's group key manager. */
    public static Options e2ee() {
        return new Options(true, null, Options::monotonicMillis, DEFAULT_CONNECT_TIMEOUT_MILLIS, false);
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
        return new Options(e2ee, metadata, clock, connectTimeoutMillis, keepKeysForTesting);
    }

    /**
     * A monotonic millisecond clock for the connection's timers and the key manager's inputs (tests). The network
     * still runs in real time; BouncyCastle's DTLS retransmission timer always uses wall time.
     */
    public Options withClock(LongSupplier monotonicMillis) {
        return new Options(e2ee, signalingNotifyMetadata, Objects.requireNonNull(monotonicMillis, "clock"),
                connectTimeoutMillis, keepKeysForTesting);
    }

    /** How long {@link Connection#connect()} may take (signaling, ICE and DTLS) before it fails. */
    public Options withConnectTimeoutMillis(long millis) {
        if (millis <= 0) {
            throw new IllegalArgumentException("connect timeout must be positive");
        }
        return new Options(e2ee, signalingNotifyMetadata, clock, millis, keepKeysForTesting);
    }

    /** Tests only: keep copies of every media key so that a test can show which frames they open. */
    Options withKeysKeptForTesting() {
        return new Options(e2ee, signalingNotifyMetadata, clock, connectTimeoutMillis, true);
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
        return "Options[e2ee=" + e2ee + ", connectTimeoutMillis=" + connectTimeoutMillis + "]";
    }
}
