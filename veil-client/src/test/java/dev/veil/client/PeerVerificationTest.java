package dev.veil.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.veil.e2ee.identity.DeviceIdentity;
import dev.veil.e2ee.identity.Identity;
import dev.veil.e2ee.pairwise.PairwiseChannel;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@link PeerVerification} in memory with a manual clock: certificates, refusals, the grace deadline, bounds. */
class PeerVerificationTest {
    static SecureRandom seeded(long s) throws Exception {
        SecureRandom r = SecureRandom.getInstance("SHA1PRNG");
        r.setSeed(s);
        return r;
    }

    @Test
    void certificates_refusedForOtherChannelOrConnection_acceptedOnce_graceDeadline_andBoundedEarlyBuffer()
            throws Exception {
        SecureRandom r = seeded(3);
        Identity alice = Identity.generate(r);
        Identity bob = Identity.generate(r);
        DeviceIdentity bobDevice = DeviceIdentity.generate(r);
        List<E2eeEvent> events = new ArrayList<>();
        VerifiedPeers verified = new VerifiedPeers();
        verified.add(bobDevice.fingerprint().display(), "bob");
        PeerVerification v = new PeerVerification(alice, null, verified, 5_000, events::add, (to, b) -> { });
        v.start("A", "room");
        v.setName("B", "bob");
        v.membersChanged(1_000, Map.of("B", bob.bundle("B")), Map.of("B", bob.fingerprint().display()));
        assertEquals(6_000, v.nextTimeout().getAsLong(), "a verified name must show its certificate within 5 s");
        PairwiseChannel bobToAlice = PairwiseChannel.create(PairwiseChannel.Purpose.DEVICE, bob, "B",
                alice.bundle("A"));
        v.deviceMessage(1_100, "B", bobToAlice.seal(bobDevice.certify(bob.identityKey(), "B", "other").encode()));
        v.deviceMessage(1_200, "B", bobToAlice.seal(bobDevice.certify(bob.identityKey(), "X", "room").encode()));
        assertEquals(2, events.stream().filter(e -> e instanceof E2eeEvent.Error err
                && err.reason().equals("BAD_SIGNATURE")).count());
        assertNull(v.peers().get(0).deviceFingerprint());
        v.deviceMessage(1_300, "B", bobToAlice.seal(bobDevice.certify(bob.identityKey(), "B", "room").encode()));
        assertEquals(bobDevice.fingerprint().display(), v.peers().get(0).deviceFingerprint());
        assertTrue(v.peers().get(0).verified());
        assertTrue(v.nextTimeout().isEmpty());
        v.timeout(10_000);
        assertTrue(events.stream().noneMatch(e -> e instanceof E2eeEvent.VerificationLost));
        // a replayed (same seq) certificate is refused by the channel
        byte[] again = bobToAlice.seal(bobDevice.certify(bob.identityKey(), "B", "room").encode());
        v.deviceMessage(10_100, "B", again);
        v.deviceMessage(10_200, "B", again);
        assertTrue(events.stream().anyMatch(e -> e instanceof E2eeEvent.Error err && err.reason().equals("REPLAY")));
        // bounded buffer for device messages of unknown connections
        for (int i = 0; i < PeerVerification.MAX_EARLY_SENDERS + 3; i++) {
            v.deviceMessage(11_000, "early" + i, new byte[100]);
        }
        v.deviceMessage(11_000, "big", new byte[PeerVerification.MAX_EARLY_BYTES + 1]);
        assertEquals(4, events.stream().filter(e -> e instanceof E2eeEvent.Error err
                && err.reason().equals("BUFFER_FULL")).count());
        // the room: verified, then any change is lost
        v.codeChanged("11111 22222 33333 44444 55555 66666");
        v.markRoomVerified();
        assertTrue(v.roomVerified());
        v.codeChanged("99999 22222 33333 44444 55555 66666");
        assertTrue(events.stream().anyMatch(e -> e instanceof E2eeEvent.VerificationLost l && l.scope().equals("room")
                && l.verifiedCode().startsWith("11111")));
        assertThrows(IllegalArgumentException.class, () -> v.markVerified("00".repeat(32)));
        v.destroy();
    }

    @Test
    void verifiedName_withoutCertificate_isLostAtTheDeadline() throws Exception {
        SecureRandom r = seeded(4);
        Identity alice = Identity.generate(r);
        Identity ghost = Identity.generate(r);
        List<E2eeEvent> events = new ArrayList<>();
        VerifiedPeers verified = new VerifiedPeers();
        verified.add(DeviceIdentity.generate(r).fingerprint().display(), "bob");
        PeerVerification v = new PeerVerification(alice, null, verified, 5_000, events::add, (to, b) -> { });
        v.start("A", "room");
        v.setName("G", "bob");
        v.membersChanged(0, Map.of("G", ghost.bundle("G")), Map.of());
        v.timeout(4_999);
        assertTrue(events.stream().noneMatch(e -> e instanceof E2eeEvent.VerificationLost));
        v.timeout(5_000);
        E2eeEvent.VerificationLost lost = (E2eeEvent.VerificationLost) events.stream()
                .filter(e -> e instanceof E2eeEvent.VerificationLost).findFirst().orElseThrow();
        assertEquals("no-device-certificate", lost.reason());
        assertEquals("G", lost.connectionId());
        assertNull(lost.deviceFingerprint());
        assertTrue(v.peers().get(0).alarmed());
    }
}
