package dev.veil.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.eclipse.jetty.websocket.client.WebSocketClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Graceful drain on the real process (docs/PROTOCOL.md §1.10): SIGTERM or {@code POST /admin/drain} (loopback admin
 * port) → members are told {@code draining}, {@code /health} answers 503 "draining", new connects are refused with
 * {@code draining}, and the process exits as soon as the last member has left — long before the deadline
 * (300 s here; the test's own bound on the exit is 60 s).
 */
class ProcessDrainTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newHttpClient();
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

  private HttpResponse<String> http(int port, String method, String path) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
        .method(method, HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
  }

  /** A member that answers pings: the test reads it only once the drain has started (as ProcessLifecycleTest). */
  private WsTestClient join(String channel, int seed) throws Exception {
    return WsTestClient.joinAnsweringPings(client, server.httpPort, channel, seed);
  }

  private static JsonNode awaitType(WsTestClient c, String type) throws InterruptedException {
    JsonNode n;
    do {
      n = c.next();
    } while (!n.path("type").asText().equals(type)); // notify / ping before it are fine
    return n;
  }

  private void start(String config) throws Exception {
    Path conf = dir.resolve("veil.conf");
    Files.writeString(conf, config);
    server = ServerProcess.start(dir, "--config", conf.toString());
    client = new WebSocketClient();
    client.start();
  }

  /** Members told, newcomers refused, health 503, exit once the members have left. */
  private void drainsUntilEmpty(List<WsTestClient> members) throws Exception {
    for (WsTestClient m : members) {
      assertEquals(300_000, awaitType(m, "draining").path("deadline_ms").asLong());
    }
    HttpResponse<String> h = http(server.httpPort, "GET", "/health");
    assertEquals(503, h.statusCode());
    JsonNode health = JSON.readTree(h.body());
    assertEquals("draining", health.get("status").asText());
    assertTrue(health.get("draining").asBoolean());
    assertFalse(health.get("ready").asBoolean());
    assertEquals(members.size(), health.get("connections").asInt());
    assertEquals(200, http(server.httpPort, "GET", "/health/live").statusCode(), "alive while draining");

    WsTestClient late = WsTestClient.connect(client, server.httpPort);
    JsonNode refused = awaitType(late, "error");
    assertTrue(refused.path("reason").asText().startsWith("draining: "), refused.toString());
    assertTrue(late.awaitClosed());

    for (WsTestClient m : members) {
      m.send("{\"type\":\"disconnect\"}");
    }
  }

  @Test
  void sigterm_drains_andExitsOnceTheLastMemberHasLeft() throws Exception {
    start("drain_timeout_seconds = 300\nlog_format = \"json\"\n");
    List<WsTestClient> members = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      members.add(join(i < 2 ? "room-a" : "room-b", 40 + i));
    }
    server.process.destroy(); // SIGTERM
    drainsUntilEmpty(members);
    assertEquals(143, server.awaitExit()); // 128 + SIGTERM, after the shutdown hook drained and closed
    // log_format = "json": every log line is one JSON object with time, level, logger and message
    List<String> messages = new ArrayList<>();
    for (String line : server.stderr().split("\n")) {
      assertFalse(line.matches("^\\d\\d:\\d\\d:\\d\\d\\.\\d{3} .*"), "a text log line: " + line);
      if (line.startsWith("{")) {
        JsonNode n = JSON.readTree(line);
        for (String k : new String[] {"time", "level", "logger", "message"}) {
          assertTrue(n.hasNonNull(k), k + " missing: " + line);
        }
        messages.add(n.get("message").asText());
      }
    }
    assertTrue(messages.contains("drained: no member left"), messages.toString());
    assertTrue(messages.contains("veil-server stopped"), messages.toString());
  }

  @Test
  void adminDrain_onTheLoopbackAdminPort_drains_andExitsZero() throws Exception {
    start("drain_timeout_seconds = 300\nadmin { port = 0 }\n");
    Matcher m = Pattern.compile("admin_port=(\\d+)").matcher(server.listening);
    assertTrue(m.find(), server.listening);
    int admin = Integer.parseInt(m.group(1));
    List<WsTestClient> members = new ArrayList<>(List.of(join("room", 50), join("room", 51)));

    assertEquals(405, http(server.httpPort, "POST", "/admin/drain").statusCode(), "not on the public port");
    assertEquals(404, http(admin, "GET", "/health").statusCode(), "the admin port serves the admin endpoints only");
    assertEquals(405, http(admin, "GET", "/admin/drain").statusCode());
    assertEquals(200, http(server.httpPort, "GET", "/health").statusCode(), "a GET changed nothing");

    HttpResponse<String> r = http(admin, "POST", "/admin/drain");
    assertEquals(202, r.statusCode());
    JsonNode body = JSON.readTree(r.body());
    assertEquals("draining", body.get("status").asText());
    assertEquals(300_000, body.get("deadline_ms").asLong());
    assertTrue(JSON.readTree(http(admin, "POST", "/admin/drain").body()).get("already_draining").asBoolean());

    drainsUntilEmpty(members);
    assertEquals(0, server.awaitExit(), "a finished drain exits cleanly");
    assertTrue(server.stderr().contains("drained: no member left"));
  }
}
