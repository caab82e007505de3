package dev.veil.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Passphrase mode with the Java SDK on a real in-process veil-server (docs/PROTOCOL.md §2.5): each member sends
 * under its own random KID, the others derive its key from the passphrase, its connection id and the KID on the
 * wire; a member with another passphrase decrypts nothing. (Two senders under one server-chosen id never sharing a
 * (key, nonce) is shown at the unit level by veil-e2ee's PassphraseSenderTest: a real server never reuses ids.)
 */
class E2eePassphraseTest extends ServerFixture.PerTest {
    private TestPeer join(String name, String passphrase) throws Exception {
        return fixture.join(name, "pp-room", Options.e2eeSenderKeys().withPassphrase(passphrase));
    }

    @Test
    void twoMembers_ownRandomKids_decryptEachOther_wrongPassphraseDecryptsNothing() throws Exception {
        TestPeer a = join("alice", "correct horse");
        TestPeer b = join("bob", "correct horse");
        TestPeer c = join("carol", "wrong horse");
        List<TestPeer> ab = List.of(a, b);
        TestPeer.exchangeUntil("alice and bob decrypt each other", List.of(a, b, c),
                () -> a.receivedFrom(b) >= 10 && b.receivedFrom(a) >= 10);
        a.assertReceivedExactly(b);
        b.assertReceivedExactly(a);
        // each sends under its own KID (the generation is the KID's top 56 bits), and never KID 0
        long ga = TestPeer.generationOf(b.raw.get(a.id()).get(0));
        long gb = TestPeer.generationOf(a.raw.get(b.id()).get(0));
        assertNotEquals(ga, gb);
        E2eeEvent.SendKey sa = (E2eeEvent.SendKey) a.e2ee.stream().filter(e -> e instanceof E2eeEvent.SendKey)
                .findFirst().orElseThrow();
        assertEquals(ga, sa.generation());
        // carol has the wrong passphrase: she receives their frames and decrypts none
        TestPeer.await("carol drops alice's frames", () -> c.raw.getOrDefault(a.id(), List.of()).size() > 5);
        assertEquals(0, c.receivedFrom(a));
        assertTrue(c.e2ee.stream().anyMatch(e -> e instanceof E2eeEvent.Error err && err.reason().equals("BAD_TAG")));
        // the same code for the same view (the code covers the passphrase mode)
        TestPeer.await("codes agree", () -> a.connection.e2eeVerificationCode() != null
                && a.connection.e2eeVerificationCode().equals(b.connection.e2eeVerificationCode()));
        for (TestPeer p : ab) {
            assertTrue(p.connection.e2eeVerificationCode().matches("\\d{5}( \\d{5}){5}"));
        }
    }
}
