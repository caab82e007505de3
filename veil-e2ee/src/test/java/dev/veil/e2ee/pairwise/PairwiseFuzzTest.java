package dev.veil.e2ee.pairwise;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.veil.e2ee.identity.TestIdentities;
import java.util.Arrays;

/**
 * Fuzz targets for sealed pairwise envelopes (the payload of every E2EE relay message, chosen by the server or any
 * member).
 *
 * <ul>
 *   <li>{@link #decode}: {@link PairwiseMessage#decode} throws only {@link PairwiseException}; header and ciphertext
 *       are the input split in two, and the header is what {@link PairwiseMessage#header} builds from the decoded
 *       fields (one encoding per message).
 *   <li>{@link #open}: alice's channel from bob receives raw bytes, or a message that bob sealed from fuzzed
 *       plaintext, optionally with one bit flipped or truncated. Only {@link PairwiseException}; an authentic message
 *       opens to its plaintext and its replay is refused; any tampered one is refused.
 * </ul>
 */
class PairwiseFuzzTest {
    private static final String A = TestIdentities.connectionId("alice");
    private static final String B = TestIdentities.connectionId("bob");
    private static final PairwiseChannel ALICE;
    private static final PairwiseChannel BOB;

    static {
        try {
            ALICE = PairwiseChannel.create(TestIdentities.identity("alice"), A, TestIdentities.bundle("bob"));
            BOB = PairwiseChannel.create(TestIdentities.identity("bob"), B, TestIdentities.bundle("alice"));
        } catch (PairwiseException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    @FuzzTest
    void decode(byte[] data) {
        PairwiseMessage m;
        try {
            m = PairwiseMessage.decode(data);
        } catch (PairwiseException e) {
            return;
        }
        byte[] joined = Arrays.copyOf(m.header(), m.header().length + m.ciphertext().length);
        System.arraycopy(m.ciphertext(), 0, joined, m.header().length, m.ciphertext().length);
        assertArrayEquals(data, joined);
        assertArrayEquals(m.header(), PairwiseMessage.header(m.sender(), m.recipient(), m.seq()));
    }

    @FuzzTest
    void open(FuzzedDataProvider in) {
        int mode = in.consumeInt(0, 3); // 0 raw bytes, 1 authentic, 2 one bit flipped, 3 truncated
        int edit = in.consumeInt() & Integer.MAX_VALUE;
        byte[] payload = in.consumeRemainingAsBytes();
        if (mode == 0) {
            try {
                byte[] plain = ALICE.open(payload);
                throw new AssertionError("unauthenticated message opened to " + plain.length + " bytes");
            } catch (PairwiseException e) {
                return;
            }
        }
        if (payload.length > PairwiseMessage.MAX_LENGTH - 128) {
            return; // seal() is for key messages; the envelope limit is checked by decode
        }
        byte[] sealed = BOB.seal(payload);
        if (mode == 1) {
            try {
                assertArrayEquals(payload, ALICE.open(sealed));
            } catch (PairwiseException e) {
                throw new AssertionError("authentic message refused: " + e.getMessage(), e);
            }
            PairwiseException replay = assertThrows(PairwiseException.class, () -> ALICE.open(sealed));
            assertEquals(PairwiseException.Reason.REPLAY, replay.reason());
            return;
        }
        byte[] bad;
        if (mode == 2) {
            bad = sealed.clone();
            int bit = edit % (bad.length * 8);
            bad[bit / 8] ^= (byte) (1 << (bit % 8));
        } else {
            bad = Arrays.copyOf(sealed, edit % sealed.length);
        }
        assertThrows(PairwiseException.class, () -> ALICE.open(bad), "tampered message opened (mode " + mode + ")");
        // the authentic one still opens: a refused message leaves the channel's state unchanged
        try {
            assertArrayEquals(payload, ALICE.open(sealed));
        } catch (PairwiseException e) {
            throw new AssertionError("authentic message refused after a tampered copy: " + e.getMessage(), e);
        }
    }
}
