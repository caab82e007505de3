package dev.veil.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.veil.signaling.Mls;
import dev.veil.signaling.MlsEvent;
import dev.veil.signaling.SignalingMessage;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

/**
 * Refusals from the delivery service (the test plays it by hand, manual clock): a refusal for an epoch the member
 * already left keeps its pending commit of the current epoch (no livelock); one for the current epoch drops it and
 * the member commits again only after a back-off that doubles.
 */
class MlsSessionRefusalTest {
    private static final String A = "AAAAAAAAAAAAAAAAAAAAAAAAAA";
    private static final String B = "BBBBBBBBBBBBBBBBBBBBBBBBBB";
    private static final String C = "CCCCCCCCCCCCCCCCCCCCCCCCCC";
    private static final byte[] GID = {'r', '#', '2'};

    private final List<E2eeEvent> eventsA = new ArrayList<>();
    private final List<SignalingMessage> outA = new ArrayList<>();
    private final List<SignalingMessage> outB = new ArrayList<>();
    private final List<SignalingMessage> outC = new ArrayList<>();
    private final MlsSession a = new MlsSession(new SecureRandom(), eventsA::add, outA::add);
    private final MlsSession b = new MlsSession(new SecureRandom(), e -> { }, outB::add);
    private final MlsSession c = new MlsSession(new SecureRandom(), e -> { }, outC::add);

    private static List<String> errors(List<E2eeEvent> events) {
        List<String> out = new ArrayList<>();
        for (E2eeEvent e : events) {
            if (e instanceof E2eeEvent.Error err) {
                out.add(err.reason());
            }
        }
        return out;
    }

    /** A founds the group, B joins: both at epoch 1; then C's key package reaches A, who commits for epoch 1. */
    private Mls setUpWithPendingCommitAtEpoch1() {
        a.start(A);
        b.start(B);
        c.start(C);
        a.onEvent(MlsEvent.create(GID), 0);
        b.onEvent(MlsEvent.join(GID), 0);
        a.memberJoined(B, 1);
        a.onMessage(Mls.from(B, ((Mls) outB.remove(0)).payload()), 1);
        Mls first = (Mls) outA.remove(0);
        a.onMessage(Mls.from(A, first.payload()), 2);
        b.onMessage(Mls.from(A, first.welcome()), 2);
        assertEquals(1, a.epoch());
        assertEquals(1, b.epoch());

        c.onEvent(MlsEvent.join(GID), 3);
        a.memberJoined(C, 3);
        b.memberJoined(C, 3);
        a.onMessage(Mls.from(C, ((Mls) outC.remove(0)).payload()), 3);
        assertEquals(1, outA.size(), "A commits C's add");
        return (Mls) outA.remove(0);
    }

    @Test
    void aRefusalForALeftEpochKeepsThePendingCommit() throws Exception {
        Mls commit = setUpWithPendingCommitAtEpoch1();
        // a late refusal of some message A sent for epoch 0, which it already left
        a.onEvent(MlsEvent.refused(0, "epoch 0 already has its commit"), 4);
        assertTrue(outA.isEmpty(), "no second commit for epoch 1: the pending one still stands");
        assertTrue(a.nextTimeout().isEmpty() || a.nextTimeout().getAsLong() > 4);
        a.timeout(10_000);
        assertTrue(outA.isEmpty(), "nothing to retry");

        // the delivery service hands the accepted commit back: A applies its own commit
        a.onMessage(Mls.from(A, commit.payload()), 10_001);
        b.onMessage(Mls.from(A, commit.payload()), 10_001);
        c.onMessage(Mls.from(A, commit.welcome()), 10_001);
        assertEquals(2, a.epoch());
        assertEquals(2, b.epoch());
        assertEquals(2, c.epoch());
        assertEquals(a.verificationCode(), c.verificationCode());
        assertEquals(List.of("REFUSED"), errors(eventsA), "no failure on its own commit");
        assertEquals(2, a.commitsSent());
        assertTrue(outA.isEmpty());
    }

    @Test
    void aRefusalForTheCurrentEpochRetriesAfterADoublingBackOff() throws Exception {
        setUpWithPendingCommitAtEpoch1();
        a.timeout(5_000); // the previous epoch's frame-key grace runs out
        assertTrue(outA.isEmpty() && a.nextTimeout().isEmpty(), "a commit pending, nothing to wait for");
        a.onEvent(MlsEvent.refused(1, "refused"), 5_100);
        assertTrue(outA.isEmpty(), "not at once");
        assertEquals(OptionalLong.of(5_100 + MlsSession.RETRY_MIN_MILLIS), a.nextTimeout());
        a.timeout(5_100 + MlsSession.RETRY_MIN_MILLIS - 1);
        assertTrue(outA.isEmpty());
        a.timeout(5_100 + MlsSession.RETRY_MIN_MILLIS);
        assertEquals(1, outA.size(), "retried once the back-off ran out");
        Mls retry = (Mls) outA.remove(0);

        a.onEvent(MlsEvent.refused(1, "refused again"), 6_000);
        assertEquals(OptionalLong.of(6_000 + 2 * MlsSession.RETRY_MIN_MILLIS), a.nextTimeout(), "doubled");
        a.timeout(6_000 + MlsSession.RETRY_MIN_MILLIS);
        assertTrue(outA.isEmpty());
        for (int i = 0; i < 10; i++) {
            a.onEvent(MlsEvent.refused(1, "refused " + i), 7_000 + i);
        }
        assertEquals(OptionalLong.of(7_009 + MlsSession.RETRY_MAX_MILLIS), a.nextTimeout(), "bounded");
        assertEquals(2, a.commitsSent() - 1, "one commit per back-off, none per refusal");

        a.timeout(7_009 + MlsSession.RETRY_MAX_MILLIS);
        Mls last = (Mls) outA.remove(0);
        a.onMessage(Mls.from(A, last.payload()), 30_000);
        assertEquals(2, a.epoch());
        assertFalse(retry.payload().equals(last.payload()));
    }
}
