package dev.veil.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;

/**
 * The default E2EE key mode (issue 13): {@link Options#e2ee()} is the MLS key mode (sender keys only with a
 * passphrase, which MLS cannot do, or when picked), the connection says which mode it runs in, two default Java
 * clients decrypt each other through a real veil-server, and a default client never joins a sender-keys channel
 * silently: the server refuses it with key_mode_mismatch.
 */
class MlsDefaultKeyModeTest extends ServerFixture.PerTest {
    /** Generous: the machine these run on may be heavily loaded; nothing here asserts a duration. */
    private static final long WAIT_MS = 90_000;

    @Test
    void theDefaultIsMls_senderKeysArePickedExplicitly_unknownModesAreRefused() {
        assertEquals("mls", Options.e2ee().keyMode());
        assertTrue(Options.e2ee().isMls());
        assertEquals("sender-keys", Options.e2eeSenderKeys().keyMode());
        assertEquals("sender-keys", Options.e2ee().withKeyMode("sender-keys").keyMode());
        assertEquals("mls", Options.e2eeSenderKeys().withKeyMode("mls").keyMode(), "the last mode given counts");
        assertEquals("sender-keys", Options.e2ee().withPassphrase("p").keyMode(), "a passphrase needs sender keys");
        assertThrows(IllegalStateException.class, () -> Options.e2eeMls().withPassphrase("p"));
        assertThrows(IllegalStateException.class, () -> Options.e2ee().withPassphrase("p").withKeyMode("mls"));
        assertNull(Options.plain().keyMode());
        for (String bad : new String[] {"MLS", "sender_keys", "", null}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Options.e2ee().withKeyMode(bad));
            assertEquals("unknown E2EE key mode '" + bad + "': expected 'sender-keys' or 'mls'", e.getMessage());
        }
        assertTrue(Options.e2ee().toString().contains("key mode mls"), Options.e2ee().toString());
    }

    @Test
    void twoDefaultClientsRunMls_andDecryptEachOther() throws Exception {
        TestPeer a = fixture.peer("alice", "default-room", Options.e2ee().withConnectTimeoutMillis(WAIT_MS));
        a.connection.connect().get(WAIT_MS, TimeUnit.MILLISECONDS);
        TestPeer b = fixture.peer("bob", "default-room", Options.e2ee().withConnectTimeoutMillis(WAIT_MS));
        b.connection.connect().get(WAIT_MS, TimeUnit.MILLISECONDS);
        assertEquals("mls", a.connection.e2eeKeyMode());
        assertEquals("mls", b.connection.e2eeKeyMode());
        List<TestPeer> ab = List.of(a, b);
        TestPeer.await("both at one MLS epoch with one code", WAIT_MS, () -> a.connection.e2eeEpoch() >= 1
                && a.connection.e2eeEpoch() == b.connection.e2eeEpoch()
                && a.connection.e2eeVerificationCode() != null
                && a.connection.e2eeVerificationCode().equals(b.connection.e2eeVerificationCode()));
        TestPeer.exchangeUntil("both decrypted 20 frames from each other", WAIT_MS, ab,
                () -> TestPeer.allReceivedFromAll(ab, 20));
        a.assertReceivedExactly(b);
        b.assertReceivedExactly(a);
    }

    @Test
    void aDefaultClientJoiningASenderKeysChannel_isRefusedWithKeyModeMismatch() throws Exception {
        TestPeer old = fixture.peer("old", "sk-room", Options.e2eeSenderKeys().withConnectTimeoutMillis(WAIT_MS));
        old.connection.connect().get(WAIT_MS, TimeUnit.MILLISECONDS);
        assertEquals("sender-keys", old.connection.e2eeKeyMode());
        TestPeer newcomer = fixture.peer("new", "sk-room", Options.e2ee().withConnectTimeoutMillis(WAIT_MS));
        ExecutionException e = assertThrows(ExecutionException.class,
                () -> newcomer.connection.connect().get(WAIT_MS, TimeUnit.MILLISECONDS));
        VeilClientException vce = assertInstanceOf(VeilClientException.class, e.getCause());
        assertTrue(vce.getMessage().contains("key_mode_mismatch: ")
                && vce.getMessage().contains("uses the 'sender-keys' key mode"), vce.getMessage());
        assertEquals("mls", newcomer.connection.e2eeKeyMode(), "it was not switched to the channel's mode");
        assertTrue(old.connection.isConnected(), "the member of the channel is untouched");
    }

    @Test
    void videoInTheDefaultMode_isDecryptedByTheSubscriber() throws Exception {
        TestPeer a = fixture.peer("alice", "video-room", Options.e2ee().withScreenShare()
                .withConnectTimeoutMillis(WAIT_MS));
        a.connection.connect().get(WAIT_MS, TimeUnit.MILLISECONDS);
        TestPeer b = fixture.peer("bob", "video-room", Options.e2ee().withConnectTimeoutMillis(WAIT_MS));
        List<VideoFrame> frames = new CopyOnWriteArrayList<>();
        b.connection.addListener(new Connection.Listener() {
            @Override
            public void onVideoFrame(VideoFrame f) {
                frames.add(f);
            }
        });
        b.connection.connect().get(WAIT_MS, TimeUnit.MILLISECONDS);
        assertEquals("mls", b.connection.e2eeKeyMode());
        Set<String> sent = ConcurrentHashMap.newKeySet();
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MS);
        int round = 0;
        // every frame is a key frame, so none waits on a predecessor sent before bob had the epoch's keys
        while (frames.size() < 5) {
            assertTrue(System.nanoTime() < deadline, "timed out: bob decrypted " + frames.size() + " frames; "
                    + b.connection.receiveStats());
            byte[] f = TestPeer.numberedVp8Frame(round, true);
            sent.add(HexFormat.of().formatHex(f));
            a.connection.sendScreenFrame(f, 3000L * round, true);
            round++;
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
        }
        for (VideoFrame f : frames) {
            assertEquals(a.id(), f.senderConnectionId());
            assertTrue(sent.contains(HexFormat.of().formatHex(f.frame())), "bob got exactly a frame alice sent");
        }
    }
}
