package dev.veil.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.veil.e2ee.codec.Codec;
import dev.veil.e2ee.codec.FrameType;
import dev.veil.e2ee.sframe.SFrameSender;
import dev.veil.e2ee.util.SecretBytes;
import java.security.SecureRandom;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The Java SDK's E2EE session (key manager + frame layer) of several members wired through a relay the test controls
 * as a malicious server would: it drops, withholds and delays key messages, and injects frames. Manual clock, no
 * sockets: each test states what the server does and what the members must (not) decrypt.
 */
class E2eeSessionHostileRelayTest {
    /** One member: its session, what it decrypted (directly or released from the hold buffer), its errors. */
    static final class Member {
        final String id;
        final E2eeSession session;
        final List<String> decrypted = new ArrayList<>();
        final List<E2eeEvent.Error> errors = new ArrayList<>();

        Member(String id, Relay relay, long seed) {
            this.id = id;
            SecureRandom r;
            try {
                r = SecureRandom.getInstance("SHA1PRNG");
            } catch (java.security.NoSuchAlgorithmException e) {
                throw new AssertionError(e);
            }
            r.setSeed(seed);
            this.session = new E2eeSession(r, true, ev -> {
                if (ev instanceof E2eeEvent.Error e) {
                    errors.add(e);
                }
            }, (to, payload) -> relay.send(id, to, payload), (from, frame) -> decrypted.add(from + ":" + hex(frame)));
        }

        JsonNode metadata() throws Exception {
            return session.notifyMetadata(null);
        }

        /** Decrypts one frame now; records it if it came out at once. */
        void receive(String from, byte[] frame, long now) {
            byte[] plain = session.decryptOpus(from, frame, now);
            if (plain != null) {
                decrypted.add(from + ":" + hex(plain));
            }
        }

        boolean hasError(String reason) {
            return errors.stream().anyMatch(e -> e.reason().equals(reason));
        }
    }

    /** The server's relay: one FIFO per link, delivered only when the test says so. */
    static final class Relay {
        final Map<String, ArrayDeque<String>> links = new HashMap<>();
        final Map<String, Member> members = new HashMap<>();

        void send(String from, String to, String payload) {
            links.computeIfAbsent(from + ">" + to, k -> new ArrayDeque<>()).add(payload);
        }

        int pending(String from, String to) {
            ArrayDeque<String> q = links.get(from + ">" + to);
            return q == null ? 0 : q.size();
        }

        void drop(String from, String to) {
            links.get(from + ">" + to).poll();
        }

        void deliverAll(String from, String to, long now) {
            ArrayDeque<String> q = links.get(from + ">" + to);
            while (q != null && !q.isEmpty()) {
                members.get(to).session.relayMessage(now, from, q.poll());
            }
        }

        /** Delivers everything on every link (in link order) until nothing is left. */
        void flush(long now) {
            boolean any = true;
            while (any) {
                any = false;
                for (String link : List.copyOf(links.keySet())) {
                    String[] ft = link.split(">");
                    if (pending(ft[0], ft[1]) > 0 && members.containsKey(ft[1])) {
                        deliverAll(ft[0], ft[1], now);
                        any = true;
                    }
                }
            }
        }
    }

    private final Relay relay = new Relay();

    private Member member(String id, long seed) {
        Member m = new Member(id, relay, seed);
        relay.members.put(id, m);
        m.session.start(id, "hostile-relay-room");
        return m;
    }

    private static void join(long now, Member m, Member... present) throws Exception {
        List<Map.Entry<String, JsonNode>> list = new ArrayList<>();
        for (Member p : present) {
            list.add(Map.entry(p.id, p.metadata()));
            p.session.membersJoined(now, List.of(Map.entry(m.id, m.metadata())));
        }
        m.session.membersJoined(now, list);
    }

    private static String hex(byte[] b) {
        StringBuilder sb = new StringBuilder();
        for (byte x : b) {
            sb.append(String.format("%02x", x));
        }
        return sb.toString();
    }

    private static byte[] opus(int i) {
        return new byte[] {(byte) 0xfc, (byte) i, 1, 2, 3};
    }

    @Test
    void droppedKey_isRetransmittedUntilAcked_andDecryptionRecovers() throws Exception {
        Member a = member("conn-a", 1);
        Member b = member("conn-b", 2);
        join(0, b, a);
        relay.drop("conn-a", "conn-b");               // the server drops A's KEY to B
        relay.deliverAll("conn-b", "conn-a", 10);      // B's KEY reaches A (A acks it)
        relay.deliverAll("conn-a", "conn-b", 10);      // ... the ack reaches B; A's KEY is still lost
        byte[] f1 = a.session.encryptOpus(opus(1));
        b.receive("conn-a", f1, 20);
        assertTrue(b.decrypted.isEmpty(), "no key yet: held, not decrypted");
        assertEquals(1, b.session.heldFramesForTesting());
        // A's retransmission timer: 250 ms after the KEY
        long t = a.session.nextTimeout().orElseThrow();
        assertTrue(t <= 250, "retransmission due by 250 ms, was " + t);
        a.session.timeout(t);
        relay.deliverAll("conn-a", "conn-b", t + 5);   // the resent KEY: B installs it, releases the held frame
        assertEquals(List.of("conn-a:" + hex(opus(1))), b.decrypted);
        byte[] f2 = a.session.encryptOpus(opus(2));
        b.receive("conn-a", f2, t + 10);
        assertEquals(2, b.decrypted.size());
        relay.deliverAll("conn-b", "conn-a", t + 20);  // B's ack: A stops resending
        assertTrue(a.session.nextTimeout().isEmpty(), "acked: no more retransmissions");
    }

    @Test
    void frameBeforeItsKey_isHeldAtMostOneSecond_thenDropped() throws Exception {
        Member a = member("conn-a", 3);
        Member b = member("conn-b", 4);
        join(0, b, a);
        relay.links.clear();                           // the server withholds every key message
        b.receive("conn-a", a.session.encryptOpus(opus(1)), 100);
        assertEquals(1, b.session.heldFramesForTesting());
        assertTrue(b.session.nextTimeout().orElseThrow() <= 1_100, "a timer is due by the hold deadline");
        b.session.timeout(1_099);
        assertEquals(1, b.session.heldFramesForTesting(), "still held just before 1 s");
        b.session.timeout(1_100);
        assertEquals(0, b.session.heldFramesForTesting());
        assertTrue(b.decrypted.isEmpty());
        assertTrue(b.hasError("NO_KEY"));
    }

    @Test
    void leaver_cannotInjectUnderOldKeys_afterTheGrace_evenIfTheNextKeyIsWithheld() throws Exception {
        Member a = member("conn-a", 5);
        Member b = member("conn-b", 6);
        Member l = member("conn-l", 7);
        join(0, b, a);
        relay.flush(0);
        join(10, l, a, b);
        relay.flush(10);
        E2eeSession.KeptKey aKey = a.session.keptSendKey(); // what L holds of A (its current key)
        assertNotNull(aKey);
        // L leaves; the server withholds A's fresh key from B
        a.session.memberLeft(1_000, l.id);
        b.session.memberLeft(1_000, l.id);
        relay.links.remove("conn-a>conn-b");
        SFrameSender forger = new SFrameSender(E2eeSession.SUITE);
        forger.setKey(aKey.keyId(), SecretBytes.copyOf(aKey.baseKey()));
        for (int i = 0; i < 1_000; i++) {
            forger.encryptFrame(Codec.OPUS, FrameType.UNSPECIFIED, opus(0)); // CTRs past A's own
        }
        b.receive("conn-a", forger.encryptFrame(Codec.OPUS, FrameType.UNSPECIFIED, opus(0x66)), 2_999);
        int acceptedWithinGrace = b.decrypted.size();
        assertEquals(1, acceptedWithinGrace, "inside the documented 2 s bound the old key still opens frames");
        b.receive("conn-a", forger.encryptFrame(Codec.OPUS, FrameType.UNSPECIFIED, opus(0x77)), 3_000);
        assertEquals(acceptedWithinGrace, b.decrypted.size(), "2 s after the leave, L's forgery is refused");
        assertTrue(b.hasError("EXPIRED_KEY"));
        assertTrue(b.decrypted.stream().noneMatch(s -> s.endsWith(hex(opus(0x77)))));
    }

    @Test
    void oversizedRelayPayload_refusedBeforeDecoding() throws Exception {
        Member a = member("conn-a", 8);
        a.session.relayMessage(0, "conn-x", "A".repeat(5_000_000));
        assertTrue(a.hasError("MALFORMED"));
        assertNull(a.session.decryptOpus("conn-x", new byte[] {1, 2, 3}, 0));
        assertEquals(1, a.session.heldFramesForTesting(), "an unknown sender's frame waits for a key ...");
        a.session.timeout(1_000);
        assertEquals(0, a.session.heldFramesForTesting(), "... at most 1 s");
        byte[] big = new byte[300 * 1024];
        assertNull(a.session.decryptOpus("conn-x", big, 2_000));
        assertEquals(0, a.session.heldFramesForTesting(), "larger than the hold budget: dropped before the copy");
        assertArrayEquals(new byte[300 * 1024], big);
    }

    @Test
    void recordedFramesReplayed_onANewTrackOrMinutesLater_areRejected_andLiveFramesGoOn() throws Exception {
        Member a = member("conn-a", 9);
        Member b = member("conn-b", 10);
        join(0, b, a);
        relay.flush(0);
        List<byte[]> recorded = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            byte[] f = a.session.encryptOpus(opus(i));
            recorded.add(f);
            b.receive("conn-a", f, 100 + 20L * i);
        }
        assertEquals(20, b.decrypted.size());
        // the server replays every recorded frame (as if on a new m-line of A), at once and minutes later
        for (byte[] f : recorded) {
            b.receive("conn-a", f, 600);
        }
        for (byte[] f : recorded) {
            b.receive("conn-a", f, 300_000);
        }
        assertEquals(20, b.decrypted.size(), "no replayed frame was decrypted");
        assertTrue(b.hasError("REPLAY"));
        byte[] live = a.session.encryptOpus(opus(0x55));
        b.receive("conn-a", live, 300_010);
        assertEquals("conn-a:" + hex(opus(0x55)), b.decrypted.get(20), "the live frames go on");
    }
}
