package dev.veil.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.veil.e2ee.codec.Codec;
import dev.veil.e2ee.codec.DecryptResult;
import dev.veil.e2ee.codec.FrameType;
import dev.veil.e2ee.util.SecretBytes;
import dev.veil.e2ee.sframe.SFrameReceiver;
import dev.veil.e2ee.sframe.SFrameSender;
import dev.veil.server.ServerConfig;
import dev.veil.signaling.Notify;
import dev.veil.server.VeilServer;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Three Java clients in one end-to-end encrypted channel of a real in-process veil-server (ephemeral ports, real
 * WebSocket, real UDP on loopback, real ICE check, DTLS and SRTP): SFrame-encrypted Opus both ways, fingerprints
 * and the verification code, re-keying on leave and forward secrecy against the member that left.
 */
class E2eeCallTest extends ServerFixture.PerTest {
    private TestPeer join(String name) throws Exception {
        return fixture.join(name, "e2ee-room", Options.e2eeSenderKeys().withKeysKeptForTesting());
    }

    private static void awaitSameCode(List<TestPeer> ps, int members) {
        TestPeer.await("every peer sees " + (members - 1) + " others and the same code", () -> {
            String code = ps.get(0).connection.e2eeVerificationCode();
            for (TestPeer p : ps) {
                if (p.connection.e2eeRemoteFingerprints().size() != members - 1
                        || code == null || !code.equals(p.connection.e2eeVerificationCode())) {
                    return false;
                }
            }
            return true;
        });
    }

    private static void assertFingerprintsAgree(List<TestPeer> ps) {
        for (TestPeer p : ps) {
            assertNotNull(p.connection.e2eeSelfFingerprint());
            assertEquals(79, p.connection.e2eeSelfFingerprint().length());
            for (TestPeer q : ps) {
                if (p != q) {
                    assertEquals(q.connection.e2eeSelfFingerprint(), p.connection.e2eeRemoteFingerprints().get(q.id()),
                            p.name + "'s view of " + q.name + "'s fingerprint");
                }
            }
        }
    }

    @Test
    void threeJavaClients_exchangeSFrameOpus_agreeOnCodes_andRekeyWhenOneLeaves() throws Exception {
        TestPeer a = join("alice");
        TestPeer b = join("bob");
        List<TestPeer> ab = List.of(a, b);
        awaitSameCode(ab, 2);
        assertFingerprintsAgree(ab);
        String codeAb = a.connection.e2eeVerificationCode();
        assertTrue(codeAb.matches("\\d{5}( \\d{5}){5}"), codeAb);

        TestPeer c = join("carol");
        List<TestPeer> abc = List.of(a, b, c);
        awaitSameCode(abc, 3);
        assertFingerprintsAgree(abc);
        String codeAbc = a.connection.e2eeVerificationCode();
        assertNotEquals(codeAb, codeAbc, "the code changes when a member joins");

        // every client decrypts both others' frames, byte for byte
        TestPeer.exchangeUntil("everyone decrypted 20 frames from each other", abc, () -> TestPeer.allReceivedFromAll(abc, 20));
        for (TestPeer p : abc) {
            for (TestPeer q : abc) {
                if (p != q) {
                    p.assertReceivedExactly(q);
                }
            }
        }
        for (TestPeer p : abc) {
            for (TestPeer q : abc) {
                assertEquals(p != q, p.hasAudioTrackOf(q), p.name + " has a track of " + q.name);
            }
        }
        // what travelled was ciphertext: the payload past the clear TOC byte is not the frame
        byte[] rawAtoB = b.raw.get(a.id()).get(b.raw.get(a.id()).size() - 1);
        assertEquals((byte) 0xf8, rawAtoB[0], "the Opus TOC byte stays in clear");
        assertFalse(new String(rawAtoB, java.nio.charset.StandardCharsets.ISO_8859_1).contains("alice:"),
                "the frame body is encrypted");

        // carol's keys, and a frame of alice sent while carol was there: carol's keys open it (so the check below
        // is not vacuous)
        Map<String, List<E2eeSession.KeptKey>> carolKeys = c.connection.exportKeysForTesting().get(5, TimeUnit.SECONDS);
        assertTrue(carolKeys.containsKey(a.id()) && carolKeys.containsKey(b.id()), carolKeys.toString());
        assertTrue(opensWithAny(carolKeys.get(a.id()), rawAtoB), "carol's keys open alice's frames before she leaves");
        long genA = a.sendGeneration();
        long genB = b.sendGeneration();

        // carol leaves: alice and bob rekey with a new generation and the code changes back to theirs
        c.connection.disconnect().get(10, TimeUnit.SECONDS);
        assertTrue(c.connection.e2eeDestroyedForTesting(), "carol's identity and keys are destroyed");
        assertEquals(List.of("disconnected by the application"), c.disconnects);
        awaitSameCode(ab, 2);
        assertNotEquals(codeAbc, a.connection.e2eeVerificationCode(), "the code changes when a member leaves");
        assertEquals(codeAb, a.connection.e2eeVerificationCode(), "same members, same identities, same code");
        assertFalse(a.connection.e2eeRemoteFingerprints().containsKey(c.id()));
        TestPeer.await("carol's track ends at alice and bob", () -> ab.stream().allMatch(p -> p.removedTracks.stream()
                .anyMatch(t -> t.connectionId().equals(c.id()))));
        assertTrue(a.notifies.stream().anyMatch(n -> n.eventType() == Notify.EventType.CONNECTION_DESTROYED
                && n.connectionId().equals(c.id())));
        TestPeer.await("alice and bob activate a new key generation", () -> a.sendGeneration() > genA
                && b.sendGeneration() > genB);

        // frames under the new generation: bob and alice decrypt them, carol's keys open none of them
        int before = b.raw.get(a.id()).size();
        int beforeB = a.raw.get(b.id()).size();
        TestPeer.exchangeUntil("20 new-generation frames each way", ab,
                () -> newGeneration(b.raw.get(a.id()), before, genA).size() >= 20
                        && newGeneration(a.raw.get(b.id()), beforeB, genB).size() >= 20);
        TestPeer.exchangeUntil("the last frames were decrypted", ab, () -> TestPeer.allReceivedFromAll(ab, 60));
        a.assertReceivedExactly(b);
        b.assertReceivedExactly(a);
        for (byte[] f : newGeneration(b.raw.get(a.id()), before, genA)) {
            assertFalse(opensWithAny(carolKeys.get(a.id()), f), "carol's keys must not open alice's new frames");
        }
        for (byte[] f : newGeneration(a.raw.get(b.id()), beforeB, genB)) {
            assertFalse(opensWithAny(carolKeys.get(b.id()), f), "carol's keys must not open bob's new frames");
        }
        for (TestPeer p : ab) {
            assertTrue(p.connection.isConnected());
            assertTrue(p.disconnects.isEmpty());
        }
        for (TestPeer p : abc) {
            assertTrue(p.errors().stream().noneMatch(e -> e.source().equals("keys")), p.errors().toString());
        }
    }

    /** The frames of {@code list} from index {@code from} on whose KID generation is above {@code gen}. */
    private static List<byte[]> newGeneration(List<byte[]> list, int from, long gen) {
        List<byte[]> out = new ArrayList<>();
        if (list == null) {
            return out;
        }
        for (int i = from; i < list.size(); i++) {
            try {
                if (TestPeer.generationOf(list.get(i)) > gen) {
                    out.add(list.get(i));
                }
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        }
        return out;
    }

    /** Whether any of {@code keys} (each in a fresh receiver, ratcheting allowed) decrypts {@code frame}. */
    private static boolean opensWithAny(List<E2eeSession.KeptKey> keys, byte[] frame) {
        for (E2eeSession.KeptKey k : keys) {
            SFrameReceiver r = new SFrameReceiver(E2eeSession.SUITE);
            r.addKey(k.keyId(), SecretBytes.copyOf(k.baseKey()));
            byte[] out = new byte[frame.length];
            if (r.decryptFrame(Codec.OPUS, FrameType.UNSPECIFIED, frame, 0, frame.length, out, 0)
                    instanceof DecryptResult.Decrypted) {
                return true;
            }
        }
        return false;
    }

    /** How many frames of {@code frames} from index {@code from} on are byte for byte {@code f}. */
    private static int countSince(List<byte[]> frames, int from, byte[] f) {
        int n = 0;
        // a snapshot: the loop thread may append while this runs (a live subList of a CopyOnWriteArrayList throws)
        List<byte[]> snapshot = List.copyOf(frames);
        for (byte[] g : snapshot.subList(from, snapshot.size())) {
            if (java.util.Arrays.equals(g, f)) {
                n++;
            }
        }
        return n;
    }

    @Test
    void frameThatDoesNotDecrypt_isDroppedAndReported() throws Exception {
        TestPeer a = join("alice");
        TestPeer b = join("bob");
        List<TestPeer> ab = List.of(a, b);
        awaitSameCode(ab, 2);
        TestPeer.exchangeUntil("bob decrypts alice", ab, () -> b.receivedFrom(a) >= 5);

        // a frame in clear (no SFrame), a replayed frame, and a forged one (alice's KID, a fresh CTR, a wrong key):
        // none reaches bob's listener, each is reported with its reason. Frames alice sent while bob caught up may
        // still be on their way (a loaded machine): the bad frames are told apart by their bytes, not by a count.
        int rawBefore = b.raw.get(a.id()).size();
        byte[] replayed = b.raw.get(a.id()).get(rawBefore - 1).clone(); // arrived, so bob has opened it
        E2eeSession.KeptKey aliceKey = a.connection.exportKeysForTesting().get(5, TimeUnit.SECONDS).get("self").get(0);
        SFrameSender forger = new SFrameSender(E2eeSession.SUITE);
        forger.setKey(aliceKey.keyId(), SecretBytes.copyOf(new byte[32]));
        byte[] forged = null;
        for (int i = 0; i < 10_000; i++) { // past alice's counter, so the replay window does not catch it first
            forged = forger.encryptFrame(Codec.OPUS, FrameType.UNSPECIFIED, TestPeer.OPUS_SILENCE);
        }
        byte[] clear = {(byte) 0xf8, 'c', 'l', 'e', 'a', 'r'};
        List<byte[]> bad = List.of(clear, replayed, forged);
        a.connection.sendRawAudioPayloadForTesting(clear, 1_000_000);
        a.connection.sendRawAudioPayloadForTesting(replayed, 1_000_960);
        a.connection.sendRawAudioPayloadForTesting(forged, 1_001_920);
        TestPeer.await("the three bad frames arrived at bob", () -> bad.stream()
                .allMatch(f -> countSince(b.raw.get(a.id()), rawBefore, f) >= 1));
        b.connection.onLoopForTesting(() -> { }).get(5, TimeUnit.SECONDS); // the turn that tapped them has ended
        b.assertReceivedExactly(a);
        for (byte[] f : bad) {
            assertEquals(1, countSince(b.raw.get(a.id()), rawBefore, f), "each bad frame arrived once");
        }
        List<String> reasons = new ArrayList<>();
        for (E2eeEvent.Error e : b.errors()) {
            assertEquals("frames", e.source());
            assertEquals(a.id(), e.from());
            reasons.add(e.reason());
        }
        assertTrue(reasons.containsAll(List.of("REPLAY", "BAD_TAG")), reasons.toString());
        assertTrue(reasons.contains("MALFORMED_HEADER") || reasons.contains("TRUNCATED"), reasons.toString());
        assertTrue(b.connection.isConnected(), "bad frames cost nothing but themselves");
    }

    @Test
    void e2eeConnect_toPlainChannel_failsWithClearMessage_andPlainClientsExchangeFrames() throws Exception {
        TestPeer p1 = fixture.join("plain1", "plain-room", Options.plain());
        TestPeer p2 = fixture.join("plain2", "plain-room", Options.plain());
        List<TestPeer> ps = List.of(p1, p2);
        TestPeer.exchangeUntil("plain frames both ways", ps, () -> TestPeer.allReceivedFromAll(ps, 10));
        p1.assertReceivedExactly(p2);
        p2.assertReceivedExactly(p1);
        assertEquals(null, p1.connection.e2eeVerificationCode());

        TestPeer e = fixture.peer("e2ee", "plain-room", Options.e2eeSenderKeys());
        Exception ex = org.junit.jupiter.api.Assertions.assertThrows(Exception.class, e::connect);
        VeilClientException vce = assertInstanceOf(VeilClientException.class, ex.getCause());
        assertTrue(vce.getMessage().contains("is not end-to-end encrypted"), vce.getMessage());
        assertTrue(e.connection.e2eeDestroyedForTesting());
    }

    @Test
    void e2eeConnect_toServerWithE2eeOff_failsWithClearMessage() throws Exception {
        try (VeilServer plain = new VeilServer(ServerConfig.defaults().withPorts(0, 0).withE2ee(false))) {
            plain.start();
            Connection c = VeilClient.connection(URI.create("ws://127.0.0.1:" + plain.httpPort() + "/signaling"))
                    .sendrecv("room", null, Options.e2eeSenderKeys());
            Exception ex = org.junit.jupiter.api.Assertions.assertThrows(Exception.class,
                    () -> c.connect().get(20, TimeUnit.SECONDS));
            VeilClientException vce = assertInstanceOf(VeilClientException.class, ex.getCause());
            assertTrue(vce.getMessage().contains("e2ee is disabled on this server"), vce.getMessage());
            c.disconnect().get(10, TimeUnit.SECONDS);
            assertTrue(c.e2eeDestroyedForTesting());
        }
    }
}
