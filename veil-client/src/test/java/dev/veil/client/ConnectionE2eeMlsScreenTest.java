package dev.veil.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.veil.e2ee.codec.Codec;
import dev.veil.signaling.ConnectionInfo;
import dev.veil.signaling.Mls;
import dev.veil.signaling.MlsEvent;
import dev.veil.signaling.Notify;
import dev.veil.signaling.Role;
import dev.veil.signaling.SignalingMessage;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * In the MLS key mode a screen-share VP8 frame is SFrame-sealed under the sender's key of the MLS epoch with the VP8
 * clear prefix (as with sender keys and in the browser), opens at the other member, and is never sent in clear
 * (before an epoch it is refused and reported). Two connections' E2EE layers, the test relaying signaling by hand.
 */
class ConnectionE2eeMlsScreenTest {
    private static final String A = "AAAAAAAAAAAAAAAAAAAAAAAAAA";
    private static final String B = "BBBBBBBBBBBBBBBBBBBBBBBBBB";
    private static final byte[] GID = {'s', '#', '1'};

    private static ConnectionE2ee layer(List<E2eeEvent> events, List<SignalingMessage> out) throws Exception {
        ConnectionListeners listeners = new ConnectionListeners();
        listeners.add(new Connection.Listener() {
            @Override
            public void onE2ee(E2eeEvent ev) {
                events.add(ev);
            }
        });
        ConnectionE2ee e = new ConnectionE2ee(Options.e2eeMls(), new SecureRandom(), listeners, out::add);
        e.setUp(null);
        return e;
    }

    private static List<String> errors(List<E2eeEvent> events) {
        List<String> out = new ArrayList<>();
        for (E2eeEvent ev : events) {
            if (ev instanceof E2eeEvent.Error err) {
                out.add(err.reason());
            }
        }
        return out;
    }

    /** {@code needle} occurs somewhere in {@code hay}. */
    @Test
    void mlsModeSealsScreenFramesForTheOtherMemberAndNeverSendsThemInClear() throws Exception {
        List<E2eeEvent> eventsA = new ArrayList<>();
        List<E2eeEvent> eventsB = new ArrayList<>();
        List<SignalingMessage> outA = new ArrayList<>();
        List<SignalingMessage> outB = new ArrayList<>();
        ConnectionE2ee a = layer(eventsA, outA);
        ConnectionE2ee b = layer(eventsB, outB);
        a.start(A, "ch");
        b.start(B, "ch");

        byte[] body = new byte[64];
        new java.util.Random(7).nextBytes(body);
        byte[] key = new byte[10 + body.length];
        System.arraycopy(new byte[] {0x50, 0x2d, 0x00, (byte) 0x9d, 0x01, 0x2a, 0x40, 0x01, (byte) 0xf0, 0x00}, 0,
                key, 0, 10);
        System.arraycopy(body, 0, key, 10, body.length);

        // no epoch yet: refused and reported, never sent in clear
        assertNull(a.sealVp8(key, true, A), "nothing to send before an epoch");
        assertEquals(List.of("ENCRYPT_FAILED"), errors(eventsA));

        a.onMlsEvent(MlsEvent.create(GID), 0);
        b.onMlsEvent(MlsEvent.join(GID), 0);
        a.onNotify(new Notify(Notify.EventType.CONNECTION_CREATED, B, Role.SENDRECV, null, null, 2), A, 1);
        b.onNotify(new Notify(Notify.EventType.CONNECTION_CREATED, B, Role.SENDRECV, null,
                List.of(new ConnectionInfo(A, Role.SENDRECV, null), new ConnectionInfo(B, Role.SENDRECV, null)), 2),
                B, 1);
        a.onMls(Mls.from(B, ((Mls) outB.remove(0)).payload()), 1);
        Mls commit = (Mls) outA.remove(0);
        a.onMls(Mls.from(A, commit.payload()), 2);
        b.onMls(Mls.from(A, commit.welcome()), 2);
        assertEquals(1, a.epoch());
        assertEquals(1, b.epoch());

        // key frame: the 10-byte VP8 prefix stays clear, the rest is sealed
        byte[] sealedKey = a.sealVp8(key, true, A);
        assertNotNull(sealedKey);
        assertArrayEquals(Arrays.copyOf(key, Codec.VP8_KEY_FRAME_PREFIX),
                Arrays.copyOf(sealedKey, Codec.VP8_KEY_FRAME_PREFIX));
        assertTrue(sealedKey.length > key.length, "header and tag added");
        assertFalse(TestPeer.containsBytes(sealedKey, Arrays.copyOf(body, 16)), "the picture is not in clear");
        assertArrayEquals(key, b.openVp8(A, sealedKey, 3));

        // delta frame (P bit set): only the 3-byte frame tag stays clear
        byte[] delta = key.clone();
        delta[0] |= 1;
        byte[] sealedDelta = a.sealVp8(delta, false, A);
        assertArrayEquals(Arrays.copyOf(delta, Codec.VP8_DELTA_FRAME_PREFIX),
                Arrays.copyOf(sealedDelta, Codec.VP8_DELTA_FRAME_PREFIX));
        assertFalse(TestPeer.containsBytes(sealedDelta, Arrays.copyOfRange(delta, 3, 19)), "the rest is not in clear");
        assertArrayEquals(delta, b.openVp8(A, sealedDelta, 4));

        // fail closed: a tampered frame, or A's frame on another member's stream, is dropped
        byte[] tampered = sealedDelta.clone();
        tampered[tampered.length - 1] ^= 1;
        assertNull(b.openVp8(A, tampered, 5));
        assertNull(b.openVp8("CCCCCCCCCCCCCCCCCCCCCCCCCC", a.sealVp8(delta, false, A), 6));
        assertTrue(errors(eventsB).contains("SENDER_MISMATCH"), errors(eventsB).toString());
        assertEquals(List.of("ENCRYPT_FAILED"), errors(eventsA), "no further send failure");
    }

    @Test
    void plainConnectionsSendTheFrameAsItIs() throws Exception {
        ConnectionE2ee plain = new ConnectionE2ee(Options.plain(), new SecureRandom(), new ConnectionListeners(),
                m -> { });
        plain.setUp(null);
        byte[] frame = {0x50, 0x2d, 0x00, (byte) 0x9d, 0x01, 0x2a, 1, 2, 3, 4};
        assertArrayEquals(frame, plain.sealVp8(frame, true, "me"));
    }
}
