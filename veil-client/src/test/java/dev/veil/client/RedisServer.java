package dev.veil.client;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * (A copy of veil-server's test helper: test classes do not cross modules.) A throw-away redis-server for a test: 127.0.0.1, a free port, no persistence ({@code --save '' --appendonly no});
 * {@link #close()} kills it. Fails (never skips) if redis-server is not installed ({@code .ci/run} installs it).
 */
final class RedisServer implements AutoCloseable {
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
