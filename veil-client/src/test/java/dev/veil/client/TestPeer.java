package dev.veil.client;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.veil.e2ee.key.KeyId;
import dev.veil.e2ee.sframe.SFrameHeader;
import dev.veil.signaling.Notify;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/** A connection plus everything it reported, for the end-to-end tests. */
final class TestPeer implements AutoCloseable {
    static final long DEADLINE_MS = 60_000;
    /**
     * The connect timeout of a test peer whose options keep the SDK's default (15 s): a first connect in a cold JVM
     * on a loaded 2-core machine took longer than that once (server start 16 s, first join 15 s after it).
     */
    static final long CONNECT_TIMEOUT_MS = 50_000;
    /** An Opus silence frame (TOC 0xf8: CELT FB 20 ms, one frame), then a marker that makes each frame distinct. */
    static final byte[] OPUS_SILENCE = {(byte) 0xf8, (byte) 0xff, (byte) 0xfe};

    /**
     * A 2500-byte VP8 frame (three packets at the SDK's MTU): a key frame header or a delta frame tag, then a body
     * numbered by {@code round}, so every frame of a run is distinct and can be found again by its bytes.
     */
    static byte[] numberedVp8Frame(int round, boolean key) {
        byte[] f = new byte[2500];
        byte[] head = key ? new byte[] {0x50, 0x42, 0x00, (byte) 0x9d, 0x01, 0x2a, 0x40, 0x01, (byte) 0xb4, 0x00}
                : new byte[] {0x51, 0x42, 0x00};
        System.arraycopy(head, 0, f, 0, head.length);
        for (int i = head.length; i < f.length; i++) {
            f[i] = (byte) (i * 13 + round);
        }
        f[head.length] = (byte) (round >> 8);
        f[head.length + 1] = (byte) round;
        return f;
    }

    final String name;
    final Connection connection;
    /** sender → frames received from it, decrypted, in order. */
    final Map<String, List<byte[]>> received = new ConcurrentHashMap<>();
    /** sender → raw payloads as they arrived (before decryption). */
    final Map<String, List<byte[]>> raw = new ConcurrentHashMap<>();
    final List<E2eeEvent> e2ee = new CopyOnWriteArrayList<>();
    final List<Notify> notifies = new CopyOnWriteArrayList<>();
    final List<Track> tracks = new CopyOnWriteArrayList<>();
    final List<Track> removedTracks = new CopyOnWriteArrayList<>();
    final List<String> disconnects = new CopyOnWriteArrayList<>();
    /** Every frame this peer sent, as hex. */
    final Set<String> sent = Collections.newSetFromMap(new ConcurrentHashMap<>());
    private int counter;
    private long timestamp = 960;

    TestPeer(String name, URI url, String channel, Options options) {
        this.name = name;
        Options o = options.connectTimeoutMillis() == Options.DEFAULT_CONNECT_TIMEOUT_MILLIS
                ? options.withConnectTimeoutMillis(CONNECT_TIMEOUT_MS) : options;
        this.connection = VeilClient.connection(url).sendrecv(channel, null, o);
        connection.onAudioFrame((s, f) -> received.computeIfAbsent(s, k -> new CopyOnWriteArrayList<>()).add(f))
                .onE2ee(e2ee::add)
                .onNotify(notifies::add)
                .onTrack(tracks::add)
                .onDisconnect(disconnects::add);
        connection.addListener(new Connection.Listener() {
            @Override
            public void onRemoveTrack(Track t) {
                removedTracks.add(t);
            }
        });
        connection.setReceivedFrameTapForTesting(
                (s, p) -> raw.computeIfAbsent(s, k -> new CopyOnWriteArrayList<>()).add(p));
    }

    /** Whether {@code needle} occurs in {@code hay} (a frame or plaintext marker inside a datagram). */
    static boolean containsBytes(byte[] hay, byte[] needle) {
        for (int i = 0; i + needle.length <= hay.length; i++) {
            if (java.util.Arrays.equals(hay, i, i + needle.length, needle, 0, needle.length)) {
                return true;
            }
        }
        return false;
    }

    TestPeer connect() throws Exception {
        connection.connect().get(DEADLINE_MS, TimeUnit.MILLISECONDS);
        return this;
    }

    String id() {
        return connection.connectionId();
    }

    /** Sends the next distinct frame: Opus silence ‖ "name:counter". */
    byte[] sendFrame() {
        byte[] tag = (name + ":" + counter++).getBytes(StandardCharsets.US_ASCII);
        byte[] f = new byte[OPUS_SILENCE.length + tag.length];
        System.arraycopy(OPUS_SILENCE, 0, f, 0, OPUS_SILENCE.length);
        System.arraycopy(tag, 0, f, OPUS_SILENCE.length, tag.length);
        sent.add(HexFormat.of().formatHex(f));
        connection.sendAudioFrame(f, timestamp);
        timestamp += 960;
        return f;
    }

    /** Whether this peer was told of an audio track of {@code other}. */
    boolean hasAudioTrackOf(TestPeer other) {
        return tracks.stream().anyMatch(t -> t.connectionId().equals(other.id()) && t.kind().equals("audio"));
    }

    int receivedFrom(TestPeer other) {
        return received.getOrDefault(other.id(), List.of()).size();
    }

    /** Every frame received from {@code other} is byte for byte one that {@code other} sent. */
    void assertReceivedExactly(TestPeer other) {
        for (byte[] f : received.getOrDefault(other.id(), List.of())) {
            assertTrue(other.sent.contains(HexFormat.of().formatHex(f)),
                    name + " got a frame " + other.name + " never sent: " + HexFormat.of().formatHex(f));
        }
    }

    /** The newest send-key generation this peer reported (-1 if none). */
    long sendGeneration() {
        long g = -1;
        for (E2eeEvent e : e2ee) {
            if (e instanceof E2eeEvent.SendKey k) {
                g = k.generation();
            }
        }
        return g;
    }

    /** The generation of the KID in an SFrame-encrypted Opus frame (clear TOC byte, then the header). */
    static long generationOf(byte[] encryptedOpus) throws Exception {
        SFrameHeader h = SFrameHeader.decode(encryptedOpus, 1, encryptedOpus.length - 1);
        return KeyId.fromKid(h.kid()).generation();
    }

    List<E2eeEvent.Error> errors() {
        List<E2eeEvent.Error> out = new ArrayList<>();
        for (E2eeEvent e : e2ee) {
            if (e instanceof E2eeEvent.Error err) {
                out.add(err);
            }
        }
        return out;
    }

    @Override
    public void close() {
        connection.close();
    }

    /** Polls {@code cond} until it holds; fails with {@code what} at the deadline. */
    static void await(String what, BooleanSupplier cond) {
        await(what, DEADLINE_MS, cond);
    }

    /** Polls {@code cond} (every ~5 ms) until it holds; fails with {@code what} after {@code millis}. */
    static void await(String what, long millis, BooleanSupplier cond) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for: " + what);
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
        }
    }

    /** Whether every peer has received at least {@code n} frames from every other. */
    static boolean allReceivedFromAll(List<TestPeer> ps, int n) {
        for (TestPeer p : ps) {
            for (TestPeer q : ps) {
                if (p != q && p.receivedFrom(q) < n) {
                    return false;
                }
            }
        }
        return true;
    }

    /** Every peer sends a frame every ~5 ms (pacing, not an assertion) until {@code cond} holds. */
    static void exchangeUntil(String what, List<TestPeer> peers, BooleanSupplier cond) {
        exchangeUntil(what, DEADLINE_MS, peers, cond);
    }

    /** As {@link #exchangeUntil(String, List, BooleanSupplier)}, failing after {@code millis}. */
    static void exchangeUntil(String what, long millis, List<TestPeer> peers, BooleanSupplier cond) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out exchanging frames until: " + what);
            }
            for (TestPeer p : peers) {
                p.sendFrame();
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
        }
    }
}
