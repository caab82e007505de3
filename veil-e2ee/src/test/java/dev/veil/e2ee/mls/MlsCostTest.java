package dev.veil.e2ee.mls;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Sizes and processing times of the MLS key mode's handshake for groups of 2, 10, 50 and 100 (docs/BENCHMARKS.md):
 * for a group of n, one commit adding member n+1 (commit and Welcome bytes, time to create it, time for another
 * member to apply it, time for the joiner to process the Welcome) and one commit removing a member. Sizes are exact;
 * times are single wall-clock readings on whatever machine runs the test (printed, never asserted).
 */
class MlsCostTest {
    private final SecureRandom random = new SecureRandom();

    private static byte[] id(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void commitAndWelcomeCostsFor2To100() throws Exception {
        StringBuilder table = new StringBuilder(
                "| n | add: commit B | welcome B | create ms | apply ms | join ms | remove: commit B | apply ms |\n"
                        + "|---|---|---|---|---|---|---|---|\n");
        int[] sizes = {2, 10, 50, 100};
        int[] addCommitBytes = new int[sizes.length];
        for (int s = 0; s < sizes.length; s++) {
            int n = sizes[s];
            MlsGroupSession founder = MlsGroupSession.create(id("g" + n), MlsKeyPackage.create(id("m0")), random);
            List<byte[]> kps = new ArrayList<>();
            for (int i = 1; i < n - 1; i++) {
                kps.add(MlsKeyPackage.create(id("m" + i)).bytes());
            }
            MlsKeyPackage observerKp = MlsKeyPackage.create(id("observer"));
            kps.add(observerKp.bytes());
            MlsCommit fill = founder.commit(kps, List.of());
            founder.handle(fill.commit());
            MlsGroupSession observer = MlsGroupSession.join(observerKp, fill.welcome(), random);
            assertEquals(n, observer.roster().size());

            MlsKeyPackage joinerKp = MlsKeyPackage.create(id("joiner"));
            long t0 = System.nanoTime();
            MlsCommit add = founder.commit(List.of(joinerKp.bytes()), List.of());
            long t1 = System.nanoTime();
            founder.handle(add.commit());
            long t2 = System.nanoTime();
            assertInstanceOf(MlsHandled.Applied.class, observer.handle(add.commit()));
            long t3 = System.nanoTime();
            MlsGroupSession joiner = MlsGroupSession.join(joinerKp, add.welcome(), random);
            long t4 = System.nanoTime();
            assertArrayEquals(founder.epochAuthenticator(), observer.epochAuthenticator());
            assertArrayEquals(founder.epochAuthenticator(), joiner.epochAuthenticator());

            MlsCommit remove = founder.commit(List.of(), List.of(joiner.ownLeaf()));
            founder.handle(remove.commit());
            long t5 = System.nanoTime();
            assertInstanceOf(MlsHandled.Applied.class, observer.handle(remove.commit()));
            long t6 = System.nanoTime();
            assertArrayEquals(founder.epochAuthenticator(), observer.epochAuthenticator());
            addCommitBytes[s] = add.commit().length;
            table.append(String.format("| %d | %d | %d | %.1f | %.1f | %.1f | %d | %.1f |%n", n, add.commit().length,
                    add.welcome().length, ms(t1 - t0), ms(t3 - t2), ms(t4 - t3), remove.commit().length,
                    ms(t6 - t5)));
        }
        System.out.print(table);
        // the update path encrypts its path secrets to the resolution of each copath node; in a tree whose parents
        // are blank (members added by one committer, who alone updated its path) that is every other member, so
        // a commit grows by one HPKE ciphertext (~85 B) per member, not logarithmically
        for (int s = 0; s < sizes.length; s++) {
            assertTrue(addCommitBytes[s] < 600 + 100 * sizes[s], sizes[s] + " members: " + addCommitBytes[s] + " B");
        }
    }

    private static double ms(long nanos) {
        return nanos / 1e6;
    }
}
