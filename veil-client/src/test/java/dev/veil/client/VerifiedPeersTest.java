package dev.veil.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link VerifiedPeers} persisted: round trip, atomic owner-only rewrite, bounds, refusals. */
class VerifiedPeersTest {
    @TempDir
    Path dir;

    @Test
    void load_missingFile_isEmpty_addWritesOwnerOnly_andASecondLoadSeesIt() throws Exception {
        Path file = VerifiedPeers.fileFor(dir.resolve("alice.key"));
        assertEquals(dir.resolve("alice.key.verified"), file);
        VerifiedPeers a = VerifiedPeers.load(file);
        assertTrue(a.entries().isEmpty());
        assertTrue(Files.notExists(file), "nothing is written before the first verification");
        a.add("ABCD 0123", "bob");
        a.add("ffff 0000", null);
        a.add("cafe 0001", "name with\nnewline, spaces and ünïcode");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        try (var s = Files.list(dir)) {
            assertEquals(List.of(file), s.toList(), "no temporary file left behind");
        }
        VerifiedPeers b = VerifiedPeers.load(file);
        assertEquals(a.entries(), b.entries());
        assertEquals("bob", b.get("abcd0123").name());
        assertNull(b.get("ffff:0000").name());
        assertEquals(List.of("ABCD 0123"), b.fingerprintsOf("bob"));
        assertEquals(List.of("cafe 0001"), b.fingerprintsOf("name with\nnewline, spaces and ünïcode"));
    }

    @Test
    void add_beyondTheBound_forgetsTheLeastRecentlyVerified_inMemoryAndOnDisk() throws Exception {
        Path file = dir.resolve("v");
        VerifiedPeers a = VerifiedPeers.load(file);
        for (int i = 0; i < VerifiedPeers.MAX_ENTRIES; i++) {
            a.add(String.format("%08x", i), "peer" + i);
        }
        a.add(String.format("%08x", 0), "peer0"); // re-verified: now the most recent
        a.add("new", "newcomer");
        assertEquals(VerifiedPeers.MAX_ENTRIES, a.entries().size());
        assertNull(a.get(String.format("%08x", 1)), "the least recently verified is forgotten");
        assertEquals("peer0", a.get(String.format("%08x", 0)).name());
        assertEquals(a.entries(), VerifiedPeers.load(file).entries());
        assertThrows(IllegalArgumentException.class,
                () -> a.add("x".repeat(VerifiedPeers.MAX_FINGERPRINT_CHARS + 1), "n"));
        assertThrows(IllegalArgumentException.class, () -> a.add("ab", "n".repeat(VerifiedPeers.MAX_NAME_CHARS + 1)));
        assertNull(a.get("ab"));
    }

    @Test
    void load_refusesGroupAccessibleOversizedOrMalformedFiles() throws Exception {
        Path file = dir.resolve("v");
        VerifiedPeers.load(file).add("abcd", "bob");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-rw-r--"));
        assertTrue(assertThrows(IOException.class, () -> VerifiedPeers.load(file)).getMessage()
                .contains("group or others"));
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        for (String bad : List.of("", "veil-verified-peers-1", "other-header\n", "veil-verified-peers-1\nYWJjZA\n",
                "veil-verified-peers-1\n!!! -\n", "veil-verified-peers-1\n YWJj\n",
                "veil-verified-peers-1\nYWJjZA - x\n")) {
            Files.writeString(file, bad);
            assertThrows(IOException.class, () -> VerifiedPeers.load(file), bad);
        }
        Files.write(file, new byte[VerifiedPeers.MAX_FILE_BYTES + 1]);
        assertTrue(assertThrows(IOException.class, () -> VerifiedPeers.load(file)).getMessage().contains("larger"));
        StringBuilder tooMany = new StringBuilder("veil-verified-peers-1\n");
        for (int i = 0; i <= VerifiedPeers.MAX_ENTRIES; i++) {
            tooMany.append("YWJj").append(i % 10).append(" -\n");
        }
        Files.writeString(file, tooMany);
        assertThrows(IOException.class, () -> VerifiedPeers.load(file));
    }
}
