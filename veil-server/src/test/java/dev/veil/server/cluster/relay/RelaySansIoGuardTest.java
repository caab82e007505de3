package dev.veil.server.cluster.relay;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The relay's engines are sans-IO (no sockets, threads, executors or clock reads; time and randomness are
 * arguments): their sources are read and any forbidden API fails the test. {@link RelayTransport} is the I/O shell
 * and is not checked.
 */
class RelaySansIoGuardTest {
  private static final List<String> ENGINES = List.of("RelayLink.java", "ReplayWindow.java", "RelayCrypto.java",
      "RelayEvent.java", "CascadeBridge.java", "RelayBudget.java");
  private static final List<String> FORBIDDEN = List.of("System.nanoTime", "System.currentTimeMillis",
      "Instant.now", "Clock.system", "new Thread", "Thread.sleep", "Executor", "java.net.", "java.nio.channels",
      "CompletableFuture", "synchronized", "java.util.concurrent", "new SecureRandom", "Math.random");

  @Test
  void theRelayEnginesUseNoClockSocketOrThread() throws IOException {
    Path dir = Path.of("src/main/java/dev/veil/server/cluster/relay");
    List<String> violations = new ArrayList<>();
    for (String f : ENGINES) {
      String src = Files.readString(dir.resolve(f));
      for (String bad : FORBIDDEN) {
        if (src.contains(bad)) {
          violations.add(f + ": " + bad);
        }
      }
    }
    assertEquals(List.of(), violations);
  }
}
