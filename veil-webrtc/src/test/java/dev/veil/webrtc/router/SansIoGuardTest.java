package dev.veil.webrtc.router;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The protocol engines of these packages are sans-IO: no sockets, threads, executors or clock reads. Time and
 * randomness come in as arguments. This test reads their sources and fails on any forbidden API.
 */
class SansIoGuardTest {

    private static final List<String> PACKAGES = List.of("mux", "stun", "ice", "rtp", "rtcp", "sdp", "router", "cc");
    private static final List<String> FORBIDDEN = List.of("System.nanoTime", "System.currentTimeMillis",
            "Instant.now", "Clock.system", "LocalDateTime.now", "new Thread", "Thread.sleep", "Executor",
            "java.net.Socket", "java.net.DatagramSocket", "java.nio.channels", "CompletableFuture", "synchronized",
            "java.util.concurrent", "new SecureRandom", "Math.random");

    @Test
    void sources_useNoClockSocketOrThread() throws IOException {
        Path root = Path.of("src/main/java/dev/veil/webrtc");
        List<String> violations = new ArrayList<>();
        int files = 0;
        for (String pkg : PACKAGES) {
            Path dir = root.resolve(pkg);
            assertTrue(Files.isDirectory(dir), "missing package directory " + dir.toAbsolutePath());
            try (Stream<Path> s = Files.list(dir)) {
                for (Path f : (Iterable<Path>) s.filter(p -> p.toString().endsWith(".java"))::iterator) {
                    files++;
                    String src = Files.readString(f);
                    for (String bad : FORBIDDEN) {
                        if (src.contains(bad)) {
                            violations.add(pkg + "/" + f.getFileName() + ": " + bad);
                        }
                    }
                }
            }
        }
        assertTrue(files > 30, "expected the sources of all eight packages, found " + files);
        assertEquals(List.of(), violations);
    }
}
