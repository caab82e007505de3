package dev.veil.server.cluster;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A throw-away redis-server for a test: 127.0.0.1, a free port, no persistence ({@code --save '' --appendonly no});
 * {@link #close()} kills it. Fails (never skips) if redis-server is not installed ({@code .ci/run} installs it).
 * A test class that needs one for all its tests registers a {@link PerClass}.
 */
public final class RedisServer implements AutoCloseable {
  private final Process process;
  private final Path dir;
  public final int port;

  public RedisServer() throws Exception {
    Path bin = Path.of("/usr/bin/redis-server");
    if (!Files.isExecutable(bin)) {
      throw new IllegalStateException("redis-server is not installed (apt-get install redis-server; .ci/run does)");
    }
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    dir = Files.createTempDirectory("veil-redis");
    process = new ProcessBuilder(bin.toString(), "--port", Integer.toString(port), "--bind", "127.0.0.1",
        "--save", "", "--appendonly", "no", "--dir", dir.toString(), "--protected-mode", "yes")
        .redirectErrorStream(true).redirectOutput(dir.resolve("redis.log").toFile()).start();
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (!ping()) {
      if (!process.isAlive() || System.nanoTime() > deadline) {
        close();
        throw new IllegalStateException("redis-server did not start on port " + port + ": "
            + Files.readString(dir.resolve("redis.log")));
      }
      Thread.onSpinWait();
      Thread.sleep(20); // polling a readiness condition, not synchronising on time
    }
  }

  private boolean ping() {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 200);
      s.setSoTimeout(500);
      s.getOutputStream().write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
      byte[] b = new byte[7];
      int n = s.getInputStream().read(b);
      return n > 0 && new String(b, 0, n, StandardCharsets.US_ASCII).startsWith("+PONG");
    } catch (IOException e) {
      return false;
    }
  }

  public String url() {
    return "redis://127.0.0.1:" + port;
  }

  /**
   * One redis-server for a test class, started before its first test and killed after its last:
   * {@code @RegisterExtension static final RedisServer.PerClass redis = new RedisServer.PerClass();}.
   */
  public static final class PerClass implements BeforeAllCallback, AfterAllCallback {
    private RedisServer server;

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
      server = new RedisServer();
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
      server.close();
    }

    public String url() {
      return server.url();
    }
  }

  /** Polls {@code cond} (every 10 ms) until it holds; fails after 30 s naming {@code what}. */
  static void await(String what, BooleanSupplier cond) throws InterruptedException {
    long deadline = System.nanoTime() + 30_000_000_000L;
    while (!cond.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("not within 30 s: " + what);
      }
      Thread.sleep(10); // polling a condition
    }
  }

  @Override
  public void close() throws Exception {
    process.destroyForcibly().waitFor();
    try (var files = Files.list(dir)) {
      for (Path p : files.toList()) {
        Files.deleteIfExists(p);
      }
    }
    Files.deleteIfExists(dir);
  }
}
