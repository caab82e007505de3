package dev.veil.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.eclipse.jetty.websocket.client.WebSocketClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 7, items 2 and 5, on the real process: an injected fatal error makes {@code /health} answer 503 "failed"
 * and the process exit non-zero; SIGTERM delivers {@code disconnect} to every member before its socket closes.
 */
class ProcessLifecycleTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  @TempDir
  Path dir;
  private ServerProcess server;
  private WebSocketClient client;

  @AfterEach
  void tearDown() throws Exception {
    if (client != null) {
      client.stop();
    }
    if (server != null) {
      server.close();
    }
  }

  private HttpResponse<String> get(String path) throws Exception {
    return HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.httpPort + path)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /**
   * A member answers pings as a real client does: the test reads it again only after SIGTERM, and on a loaded
   * machine the joins and the drain can take longer than the server's ping timeout (3 missed pongs, ~20 s), which
   * closed a member with "no pong" instead of the shutdown's disconnect.
   */
  private WsTestClient join(String channel, int seed) throws Exception {
    return WsTestClient.joinAnsweringPings(client, server.httpPort, channel, seed);
  }

  @Test
  void injectedFatalError_healthFails503_andTheProcessExitsNonZero() throws Exception {
    server = ServerProcess.start(dir, "--test-fatal-injection");
    HttpResponse<String> ok = get("/health");
    assertEquals(200, ok.statusCode());
    assertEquals("ok", JSON.readTree(ok.body()).get("status").asText());
    server.command("error"); // an OutOfMemoryError thrown on the event loop
    HttpResponse<String> failed = ok;
    long deadline = System.nanoTime() + 60_000_000_000L;
    while (failed.statusCode() == 200 && System.nanoTime() < deadline) {
      java.util.concurrent.locks.LockSupport.parkNanos(20_000_000); // poll the probe, as a supervisor would
      failed = get("/health");
    }
    assertEquals(503, failed.statusCode());
    JsonNode h = JSON.readTree(failed.body());
    assertEquals("failed", h.get("status").asText());
    assertEquals("java.lang.OutOfMemoryError", h.get("error").asText());
    assertEquals(0.0, MetricsTest.Exposition.parse(get("/metrics").body()).value("veil_healthy", ""));
    server.command("exit"); // the test hook held the exit until the probe was seen
    assertEquals(Main.EXIT_FATAL, server.awaitExit());
    String log = server.stderr();
    assertTrue(log.contains("FATAL: an error on the event loop: java.lang.OutOfMemoryError"), log);
  }

  @Test
  void sigterm_sendsDisconnectToEveryMember_beforeTheirSocketsClose() throws Exception {
    // members that stay through the drain are disconnected at its deadline (1 s here)
    Path conf = dir.resolve("drain.conf");
    java.nio.file.Files.writeString(conf, "drain_timeout_seconds = 1\n");
    server = ServerProcess.start(dir, "--config", conf.toString());
    client = new WebSocketClient();
    client.start();
    List<WsTestClient> members = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      members.add(join(i < 3 ? "room-a" : "room-b", 20 + i));
    }
    server.process.destroy(); // SIGTERM: the shutdown hook closes the server
    for (WsTestClient m : members) {
      JsonNode d;
      boolean draining = false;
      do {
        d = m.next();
        draining |= d.path("type").asText().equals("draining");
      } while (!d.path("type").asText().equals("disconnect")); // notify / ping before it are fine
      assertTrue(draining, "told of the drain before the disconnect");
      assertEquals("server shutting down", d.path("reason").asText());
      assertTrue(m.awaitClosed());
      assertEquals(1001, m.closeCode);
      assertTrue(m.received.isEmpty(), "nothing after the disconnect");
    }
    int exit = server.awaitExit();
    assertEquals(143, exit); // 128 + SIGTERM: the JVM's status after its shutdown hooks ran
    assertTrue(server.stderr().contains("veil-server stopped"));
  }
}
