package dev.veil.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.veil.signaling.Mls;
import dev.veil.signaling.MlsEvent;
import dev.veil.signaling.SignalingMessage;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The SDK's MLS session in memory (the test plays the delivery service by hand): only key packages of announced
 * connections whose credential names their publisher are added; frames are bound to the stream's connection.
 */
class MlsSessionTest {
    private static final String A = "AAAAAAAAAAAAAAAAAAAAAAAAAA";
    private static final String B = "BBBBBBBBBBBBBBBBBBBBBBBBBB";
    private static final String C = "CCCCCCCCCCCCCCCCCCCCCCCCCC";
    private static final byte[] GID = {'r', '#', '1'};

    private final List<E2eeEvent> eventsA = new ArrayList<>();
    private final List<E2eeEvent> eventsB = new ArrayList<>();
    private final List<SignalingMessage> outA = new ArrayList<>();
    private final List<SignalingMessage> outB = new ArrayList<>();

    private static List<String> errors(List<E2eeEvent> events) {
        List<String> out = new ArrayList<>();
        for (E2eeEvent e : events) {
            if (e instanceof E2eeEvent.Error err) {
                out.add(err.reason());
            }
        }
        return out;
    }

    @Test
    void onlyAnnouncedPublishersAreAddedAndFramesAreBoundToTheirStream() throws Exception {
        MlsSession a = new MlsSession(new SecureRandom(), eventsA::add, outA::add);
        MlsSession b = new MlsSession(new SecureRandom(), eventsB::add, outB::add);
        a.start(A);
        b.start(B);
        a.onEvent(MlsEvent.create(GID), 0);
        assertEquals(0, a.epoch());
        b.onEvent(MlsEvent.join(GID), 0);
        Mls kp = (Mls) outB.remove(0);

        // relayed as if published by C: the credential names B, so it is refused
        a.memberJoined(C, 1);
        a.onMessage(Mls.from(C, kp.payload()), 1);
        assertTrue(errors(eventsA).contains("KEY_PACKAGE_IDENTITY"), errors(eventsA).toString());
        assertTrue(outA.isEmpty());
        // B's own, but B was never announced: waits
        a.onMessage(Mls.from(B, kp.payload()), 2);
        assertTrue(outA.isEmpty(), "no commit for a connection the server never announced");
        a.memberJoined(B, 3);
        assertEquals(1, outA.size());
        Mls commit = (Mls) outA.remove(0);
        assertEquals(List.of(B), commit.welcomeTo());
        assertEquals(0, a.epoch(), "applied only when the delivery service hands it back");

        a.onMessage(Mls.from(A, commit.payload()), 4);
        b.onMessage(Mls.from(A, commit.welcome()), 4);
        assertEquals(1, a.epoch());
        assertEquals(1, b.epoch());
        assertEquals(a.verificationCode(), b.verificationCode());
        assertEquals(List.of(A, B), b.roster());

        byte[] frame = {(byte) 0xf8, 1, 2, 3};
        byte[] enc = a.encryptOpus(frame);
        assertArrayEquals(frame, b.decryptOpus(A, enc, 5));
        assertNull(b.decryptOpus(C, a.encryptOpus(frame), 6), "a KID of A on C's stream");
        assertTrue(errors(eventsB).contains("SENDER_MISMATCH"), errors(eventsB).toString());
    }
}
