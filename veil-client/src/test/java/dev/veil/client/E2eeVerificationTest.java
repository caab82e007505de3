package dev.veil.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Verification with the Java SDK on a real in-process veil-server: a device key file (owner-only) gives the same
 * device fingerprint on every connection; markVerified on a peer's device fingerprint and on the room code; then a
 * member under the same name with another device key, or with none, raises {@link E2eeEvent.VerificationLost}.
 */
class E2eeVerificationTest extends ServerFixture.PerTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    Path dir;

    private TestPeer join(String name, Options options) throws Exception {
        return fixture.join(name, "verify-room",
                options.withSignalingNotifyMetadata(JSON.createObjectNode().put("name", name)));
    }

    private static E2eeEvent.PeerInfo peerOf(TestPeer at, TestPeer who) {
        return at.connection.e2eePeers().stream().filter(p -> p.connectionId().equals(who.id())).findFirst()
                .orElse(null);
    }

    @Test
    void deviceKeyFile_stableFingerprint_markVerified_thenAnotherDeviceOrNoneUnderTheSameName_isLost()
            throws Exception {
        VerifiedPeers aliceVerified = new VerifiedPeers();
        Options aliceOpts = Options.e2eeSenderKeys().withDeviceKeyFile(dir.resolve("alice.key"))
                .withVerifiedPeers(aliceVerified)
                .withDeviceCertificateGraceMillis(300);
        Path bobKey = dir.resolve("bob.key");
        TestPeer alice = join("alice", aliceOpts);
        TestPeer bob1 = join("bob", Options.e2eeSenderKeys().withDeviceKeyFile(bobKey));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(bobKey)));
        String bobDevice = bob1.connection.e2eeDeviceFingerprint();
        assertTrue(bobDevice.matches("([0-9a-f]{4} ){15}[0-9a-f]{4}"), bobDevice);
        TestPeer.await("alice sees bob's device certificate", () -> {
            E2eeEvent.PeerInfo p = peerOf(alice, bob1);
            return p != null && bobDevice.equals(p.deviceFingerprint());
        });
        E2eeEvent.PeerInfo seen = peerOf(alice, bob1);
        assertEquals("bob", seen.name());
        assertFalse(seen.verified());
        bob1.close();

        // the same key file: the same device fingerprint, a fresh connection identity
        TestPeer bob2 = join("bob", Options.e2eeSenderKeys().withDeviceKeyFile(bobKey));
        assertEquals(bobDevice, bob2.connection.e2eeDeviceFingerprint());
        assertNotEquals(bob1.connection.e2eeSelfFingerprint(), bob2.connection.e2eeSelfFingerprint());
        TestPeer.await("alice sees bob again", () -> {
            E2eeEvent.PeerInfo p = peerOf(alice, bob2);
            return p != null && bobDevice.equals(p.deviceFingerprint());
        });
        alice.connection.markVerified(bobDevice.toUpperCase()).get(5, TimeUnit.SECONDS);
        assertTrue(peerOf(alice, bob2).verified());
        assertEquals("bob", aliceVerified.get(bobDevice).name());
        TestPeer.await("codes agree", () -> alice.connection.e2eeVerificationCode() != null
                && alice.connection.e2eeVerificationCode().equals(bob2.connection.e2eeVerificationCode()));
        alice.connection.markVerified().get(5, TimeUnit.SECONDS);
        assertTrue(alice.connection.e2eeRoomVerified());
        ExecutionException unknown = assertThrows(ExecutionException.class,
                () -> alice.connection.markVerified("00".repeat(32)).get(5, TimeUnit.SECONDS));
        assertTrue(unknown.getCause() instanceof IllegalArgumentException);
        assertTrue(alice.e2ee.stream().noneMatch(e -> e instanceof E2eeEvent.VerificationLost));
        bob2.close();

        // a member with another device key under the name "bob"
        TestPeer impostor = join("bob", Options.e2eeSenderKeys().withDeviceKeyFile(dir.resolve("other.key")));
        TestPeer.await("verification-lost for the peer", () -> alice.e2ee.stream()
                .anyMatch(e -> e instanceof E2eeEvent.VerificationLost l && l.scope().equals("peer")));
        E2eeEvent.VerificationLost lost = alice.e2ee.stream()
                .filter(e -> e instanceof E2eeEvent.VerificationLost l && l.scope().equals("peer"))
                .map(e -> (E2eeEvent.VerificationLost) e).findFirst().orElseThrow();
        assertEquals("device-changed", lost.reason());
        assertEquals(impostor.id(), lost.connectionId());
        assertEquals("bob", lost.name());
        assertEquals(List.of(bobDevice), lost.verifiedFingerprints());
        assertEquals(impostor.connection.e2eeDeviceFingerprint(), lost.deviceFingerprint());
        assertTrue(alice.e2ee.stream().anyMatch(e -> e instanceof E2eeEvent.VerificationLost l
                && l.scope().equals("room")), "the verified room code changed");
        assertFalse(alice.connection.e2eeRoomVerified());
        assertTrue(peerOf(alice, impostor).alarmed());
        impostor.close();

        // a member without any device key under the name "bob" (e.g. the server's own bundle): lost after the grace
        TestPeer bare = join("bob", Options.e2eeSenderKeys());
        assertNull(bare.connection.e2eeDeviceFingerprint());
        TestPeer.await("verification-lost without a device certificate", () -> alice.e2ee.stream()
                .anyMatch(e -> e instanceof E2eeEvent.VerificationLost l && "no-device-certificate".equals(l.reason())
                        && bare.id().equals(l.connectionId())));
    }

    @Test
    void deviceKeyFile_verifiedPeersPersistBesideIt_aSecondConnectionSeesThePeerVerified_andAnotherKeyIsLost()
            throws Exception {
        Path aliceKey = dir.resolve("alice.key");
        TestPeer bob = join("bob", Options.e2eeSenderKeys().withDeviceKeyFile(dir.resolve("bob.key")));
        String bobDevice = bob.connection.e2eeDeviceFingerprint();
        TestPeer alice1 = join("alice", Options.e2eeSenderKeys().withDeviceKeyFile(aliceKey));
        TestPeer.await("alice sees bob's device", () -> {
            E2eeEvent.PeerInfo p = peerOf(alice1, bob);
            return p != null && bobDevice.equals(p.deviceFingerprint());
        });
        assertFalse(peerOf(alice1, bob).verified());
        alice1.connection.markVerified(bobDevice).get(5, TimeUnit.SECONDS);
        Path saved = VerifiedPeers.fileFor(aliceKey);
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(saved)));
        assertEquals("bob", VerifiedPeers.load(saved).get(bobDevice).name());
        alice1.close();

        // a new connection (a new process would do the same) with the same key file: bob is verified from the start
        TestPeer alice2 = join("alice",
                Options.e2eeSenderKeys().withDeviceKeyFile(aliceKey).withDeviceCertificateGraceMillis(300));
        TestPeer.await("alice2 sees bob verified", () -> {
            E2eeEvent.PeerInfo p = peerOf(alice2, bob);
            return p != null && p.verified() && "bob".equals(p.verifiedName());
        });
        assertTrue(alice2.e2ee.stream().noneMatch(e -> e instanceof E2eeEvent.VerificationLost));
        bob.close();

        // someone under the name "bob" with another device key: the remembered verification raises the alarm
        TestPeer impostor = join("bob", Options.e2eeSenderKeys().withDeviceKeyFile(dir.resolve("impostor.key")));
        TestPeer.await("verification-lost on alice2", () -> alice2.e2ee.stream()
                .anyMatch(e -> e instanceof E2eeEvent.VerificationLost l && "device-changed".equals(l.reason())
                        && impostor.id().equals(l.connectionId())));
        E2eeEvent.VerificationLost lost = alice2.e2ee.stream()
                .filter(e -> e instanceof E2eeEvent.VerificationLost l && "device-changed".equals(l.reason()))
                .map(e -> (E2eeEvent.VerificationLost) e).findFirst().orElseThrow();
        assertEquals(List.of(bobDevice), lost.verifiedFingerprints());
        assertFalse(peerOf(alice2, impostor).verified());
        assertTrue(peerOf(alice2, impostor).alarmed());
    }
}
