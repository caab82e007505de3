package dev.veil.e2ee.group;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.veil.e2ee.identity.TestIdentities;
import dev.veil.e2ee.pairwise.PairwiseChannel;
import dev.veil.e2ee.pairwise.PairwiseException;
import java.util.Arrays;
import java.util.List;

/**
 * Fuzz targets for key messages, the plaintext of every sealed pairwise message.
 *
 * <ul>
 *   <li>{@link #decode}: {@link KeyMessage#decode} throws only {@link KeyMessageException}, and the format has one
 *       encoding: {@code encode(decode(x)) == x}.
 *   <li>{@link #received}: alice's {@link GroupKeyManager}, with bob a member, receives from bob either the raw
 *       input or the input sealed by bob's real pairwise channel (so the manager's key-message handling sees
 *       arbitrary authenticated plaintext). It never throws; at most a few outputs per message; input that is not
 *       a well-formed key message installs nothing and produces exactly one rejection; an installed key is
 *       attributed to bob and is the one the message carried.
 * </ul>
 */
class KeyMessageFuzzTest {
    private static final String A = TestIdentities.connectionId("alice");
    private static final String B = TestIdentities.connectionId("bob");
    private static final GroupKeyManager ALICE;
    private static final PairwiseChannel BOB_TO_ALICE;

    static {
        ALICE = new GroupKeyManager(TestIdentities.identity("alice"), A, new DeterministicRandom(1));
        ALICE.memberJoined(0, TestIdentities.bundle("bob"));
        ALICE.drainOutputs();
        try {
            BOB_TO_ALICE = PairwiseChannel.create(TestIdentities.identity("bob"), B, TestIdentities.bundle("alice"));
        } catch (PairwiseException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    @FuzzTest
    void decode(byte[] data) {
        KeyMessage m;
        try {
            m = KeyMessage.decode(data);
        } catch (KeyMessageException e) {
            return;
        }
        assertArrayEquals(data, m.encode(), "encode(decode(x)) != x");
    }

    @FuzzTest
    void received(byte[] data) {
        if (data.length == 0 || data.length > 2048) {
            return;
        }
        boolean sealed = (data[0] & 1) != 0;
        byte[] plain = Arrays.copyOfRange(data, 1, data.length);
        byte[] message = sealed ? BOB_TO_ALICE.seal(plain) : plain;
        ALICE.messageReceived(1, B, message);
        List<GroupOutput> outs = ALICE.drainOutputs();
        assertTrue(outs.size() <= 4, "too many outputs for one message: " + outs);
        KeyMessage parsed = null;
        if (sealed) {
            try {
                parsed = KeyMessage.decode(plain);
            } catch (KeyMessageException e) {
                parsed = null;
            }
        }
        long rejections = outs.stream().filter(o -> o instanceof GroupOutput.Rejected).count();
        for (GroupOutput o : outs) {
            if (o instanceof GroupOutput.InstallKey k) {
                assertTrue(parsed instanceof KeyMessage.Key, "installed a key from a message that is no KEY");
                assertEquals(B, k.sender());
                assertEquals(parsed.keyId(), k.keyId());
            }
        }
        if (parsed == null) {
            assertEquals(1, rejections, "not exactly one rejection for a bad message: " + outs);
            assertTrue(outs.stream().noneMatch(o -> o instanceof GroupOutput.InstallKey
                    || o instanceof GroupOutput.ActivateSendKey), "a bad message changed keys: " + outs);
        }
    }
}
