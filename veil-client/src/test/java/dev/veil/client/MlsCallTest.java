package dev.veil.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.veil.e2ee.mls.MlsKid;
import dev.veil.e2ee.sframe.SFrameHeader;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Java clients in the MLS key mode through a real in-process veil-server (WebSocket, UDP on loopback, DTLS, SRTP):
 * the server orders the handshake as delivery service, every client reaches the same epoch and code, SFrame Opus
 * keyed from the MLS exporter decrypts both ways, a leave moves the others to a new epoch, and key modes that do not
 * match are refused with a clear error.
 */
class MlsCallTest extends ServerFixture.PerTest {
    /** Generous: the machine these run on may be heavily loaded; nothing here asserts a duration. */
    private static final long WAIT_MS = 90_000;

    private TestPeer join(String name) throws Exception {
        TestPeer p = fixture.peer(name, "mls-room", Options.e2eeMls().withConnectTimeoutMillis(WAIT_MS));
        p.connection.connect().get(WAIT_MS, TimeUnit.MILLISECONDS);
        return p;
    }

    private static void await(String what, java.util.function.BooleanSupplier cond) {
        TestPeer.await(what, WAIT_MS, cond);
    }

    /** Every peer sends a frame every ~5 ms (pacing, not an assertion) until {@code cond} holds. */
    private static void exchangeUntil(String what, List<TestPeer> peers, java.util.function.BooleanSupplier cond) {
        TestPeer.exchangeUntil(what, WAIT_MS, peers, cond);
    }

    private static void awaitSameEpoch(List<TestPeer> ps) {
        await(ps.size() + " members at one epoch with one code", () -> {
            long e = ps.get(0).connection.e2eeEpoch();
            String code = ps.get(0).connection.e2eeVerificationCode();
            for (TestPeer p : ps) {
                List<String> roster = mlsRoster(p);
                if (e < 0 || p.connection.e2eeEpoch() != e || code == null
                        || !code.equals(p.connection.e2eeVerificationCode()) || roster.size() != ps.size()) {
                    return false;
                }
            }
            return true;
        });
    }

    static List<String> mlsRoster(TestPeer p) {
        List<String> r = List.of();
        for (E2eeEvent e : p.e2ee) {
            if (e instanceof E2eeEvent.MlsEpoch m) {
                r = m.members();
            }
        }
        return r;
    }

    @Test
    void threeJavaClientsAgreeOnTheEpochAndDecryptEachOther() throws Exception {
        TestPeer a = join("alice");
        TestPeer b = join("bob");
        assertEquals("mls", a.connection.e2eeKeyMode());
        awaitSameEpoch(List.of(a, b));
        TestPeer c = join("carol");
        List<TestPeer> abc = List.of(a, b, c);
        awaitSameEpoch(abc);
        long epoch3 = a.connection.e2eeEpoch();
        String code3 = a.connection.e2eeVerificationCode();
        assertTrue(code3.matches("\\d{5}( \\d{5}){5}"), code3);
        assertEquals(List.of(a.id(), b.id(), c.id()), mlsRoster(a), "the MLS roster, in leaf order");

        exchangeUntil("everyone decrypted 20 frames from each other", abc, () -> TestPeer.allReceivedFromAll(abc, 20));
        for (TestPeer p : abc) {
            for (TestPeer q : abc) {
                if (p != q) {
                    p.assertReceivedExactly(q);
                }
            }
        }
        byte[] raw = a.raw.get(c.id()).get(a.raw.get(c.id()).size() - 1);
        assertEquals((byte) 0xf8, raw[0], "the Opus TOC byte stays in clear");
        assertFalse(new String(raw, java.nio.charset.StandardCharsets.ISO_8859_1).contains("carol:"));
        long kid = SFrameHeader.decode(raw, 1, raw.length - 1).kid();
        assertEquals(epoch3 & 0xFF, MlsKid.epochBits(kid), "the KID carries the epoch");
        assertEquals(2, MlsKid.senderIndex(kid, 2), "and carol's leaf index");

        // carol leaves: alice and bob commit her removal and move on to a new epoch and code
        c.connection.disconnect().get(10, TimeUnit.SECONDS);
        List<TestPeer> ab = List.of(a, b);
        awaitSameEpoch(ab);
        assertTrue(a.connection.e2eeEpoch() > epoch3);
        assertNotEquals(code3, a.connection.e2eeVerificationCode());
        int before = b.receivedFrom(a);
        exchangeUntil("frames of the new epoch", ab, () -> b.receivedFrom(a) >= before + 20
                && a.receivedFrom(b) >= 20);
        byte[] last = b.raw.get(a.id()).get(b.raw.get(a.id()).size() - 1);
        assertEquals(a.connection.e2eeEpoch() & 0xFF,
                MlsKid.epochBits(SFrameHeader.decode(last, 1, last.length - 1).kid()));
        for (TestPeer p : ab) {
            assertTrue(p.errors().stream().noneMatch(e -> e.reason().equals("REJECTED")), p.errors().toString());
        }
    }

    @Test
    void keyModesAreNeverMixedOrGuessed() throws Exception {
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
                () -> Options.e2ee().withKeyMode("olm"));
        assertEquals("unknown E2EE key mode 'olm': expected 'sender-keys' or 'mls'", bad.getMessage());
        assertEquals("mls", Options.e2ee().keyMode(), "the default (MlsDefaultKeyModeTest)");
        assertEquals("sender-keys", Options.e2eeSenderKeys().keyMode());

        join("alice");
        TestPeer other = fixture.peer("mallory", "mls-room",
                Options.e2eeSenderKeys().withConnectTimeoutMillis(WAIT_MS));
        ExecutionException e = assertThrows(ExecutionException.class,
                () -> other.connection.connect().get(WAIT_MS, TimeUnit.MILLISECONDS));
        assertTrue(e.getCause().getMessage().contains("uses the 'mls' key mode"), e.getCause().getMessage());
    }
}
