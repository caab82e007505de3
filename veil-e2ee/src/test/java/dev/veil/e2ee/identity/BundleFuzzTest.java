package dev.veil.e2ee.identity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.veil.e2ee.pairwise.PairwiseChannel;
import dev.veil.e2ee.pairwise.PairwiseException;
import java.nio.charset.StandardCharsets;

/**
 * Fuzz target for identity bundles, which reach every member in server-relayed metadata ({@code e2ee_bundle}).
 * Properties: {@link Bundle#fromJson} throws only {@link BundleFormatException}; a parsed bundle's canonical JSON
 * parses back to an equal bundle and is no longer than the input; {@link Bundle#verify()} and the fingerprint never
 * throw on any key bytes; a bundle that verifies sets up a pairwise channel or is refused with a
 * {@link PairwiseException}, never anything else.
 */
class BundleFuzzTest {
    private static final String BOB = TestIdentities.connectionId("bob");
    private static final Identity ALICE = TestIdentities.identity("alice");
    private static final String ALICE_ID = TestIdentities.connectionId("alice");

    @FuzzTest
    void fromJson(byte[] data) {
        String json = new String(data, StandardCharsets.UTF_8);
        Bundle b;
        try {
            b = Bundle.fromJson(BOB, json);
        } catch (BundleFormatException e) {
            return;
        }
        String canonical = b.toJson();
        assertTrue(canonical.length() <= json.length(), "canonical form longer than the input");
        try {
            assertEquals(b, Bundle.fromJson(BOB, canonical));
        } catch (BundleFormatException e) {
            throw new AssertionError("canonical JSON does not parse: " + canonical, e);
        }
        b.fingerprint();
        if (b.verify()) {
            try {
                PairwiseChannel.create(ALICE, ALICE_ID, b).destroy();
            } catch (PairwiseException e) {
                // documented refusal (e.g. an all-zero X25519 result)
            }
        } else {
            assertFalse(b.equals(TestIdentities.bundle("bob")), "bob's real bundle failed to verify");
        }
    }
}
