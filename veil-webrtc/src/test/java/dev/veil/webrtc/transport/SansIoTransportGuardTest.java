package dev.veil.webrtc.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * srtp and transport are sans-IO: no clock, socket or thread. (transport passes the caller's DTLS executor
 * through, so it may name {@code Executor}; dtls is the documented exception that runs BouncyCastle's blocking
 * handshake on that executor, but it too reads no clock and opens no socket.)
 */
class SansIoTransportGuardTest {
    private static final List<String> CLOCK_SOCKET = List.of("System.nanoTime", "System.currentTimeMillis",
            "Instant.now", "Clock.system", "LocalDateTime.now", "java.net.Socket", "java.net.DatagramSocket",
            "java.nio.channels", "Math.random", "new Thread", "Thread.sleep");
    private static final List<String> THREADS = List.of("java.util.concurrent.locks", "CompletableFuture",
            "synchronized", "ExecutorService", "Executors");

    @Test
    void sources_useNoClockSocketOrThreadOfTheirOwn() throws IOException {
        Path root = Path.of("src/main/java/dev/veil/webrtc");
        Map<String, List<String>> rules = Map.of(
                "srtp", concat(CLOCK_SOCKET, THREADS, List.of("Executor")),
                "transport", concat(CLOCK_SOCKET, THREADS),
                "dtls", CLOCK_SOCKET);
        List<String> violations = new ArrayList<>();
        int files = 0;
        for (Map.Entry<String, List<String>> rule : rules.entrySet()) {
            try (Stream<Path> s = Files.list(root.resolve(rule.getKey()))) {
                for (Path f : (Iterable<Path>) s.filter(p -> p.toString().endsWith(".java"))::iterator) {
                    files++;
                    String src = Files.readString(f);
                    for (String bad : rule.getValue()) {
                        if (src.contains(bad)) {
                            violations.add(rule.getKey() + "/" + f.getFileName() + ": " + bad);
                        }
                    }
                }
            }
        }
        assertTrue(files >= 20, "expected the sources of srtp, dtls and transport, found " + files);
        assertEquals(List.of(), violations);
    }

    @SafeVarargs
    private static List<String> concat(List<String>... lists) {
        List<String> out = new ArrayList<>();
        for (List<String> l : lists) {
            out.addAll(l);
        }
        return out;
    }
}
