package dev.veil.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.websocket.client.WebSocketClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 7, items 4 and 5, on real sockets: idle sockets (never a connect) from one address, and from many, do not
 * keep an honest client out; a flooding client is closed by the rate limit; every refusal is counted by reason in
 * {@code /metrics}, which the strict parser of {@link MetricsTest} reads.
 */
class IdleFloodTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private VeilServer server;
  private WebSocketClient honestClient;
  private final List<RawWs> idle = new ArrayList<>();

  @AfterEach
  void tearDown() throws Exception {
    for (RawWs r : idle) {
      r.close();
    }
    if (honestClient != null) {
      honestClient.stop();
    }
    if (server != null) {
      server.close();
    }
  }

  private void start(ServerConfig cfg) throws Exception {
    server = new VeilServer(cfg.withPorts(0, 0));
    server.start();
    // the honest client comes from 127.0.0.2 (all of 127/8 is loopback), the flood from other addresses
    org.eclipse.jetty.client.HttpClient http = new org.eclipse.jetty.client.HttpClient();
    http.setBindAddress(new InetSocketAddress("127.0.0.2", 0));
    honestClient = new WebSocketClient(http);
    honestClient.start();
  }

  /** Opens an idle socket; returns the refusal it got at once ({@code error} reason), or null if it stays open. */
  private String openIdle(String from) throws Exception {
    RawWs r = RawWs.open(from, server.httpPort(), 0);
    idle.add(r);
    r.sendText("{\"type\":\"ping\"}"); // a barrier: the pong (or the refusal) comes after the server opened it
    JsonNode first = JSON.readTree(r.readText());
    if (first.path("type").asText().equals("pong")) {
      return null;
    }
    assertEquals("error", first.path("type").asText(), first.toString());
    assertEquals("disconnect", JSON.readTree(r.readText()).path("type").asText());
    assertNull(r.readText());
    assertEquals(1008, r.closeCode);
    return first.path("reason").asText();
  }

  private void honestJoins() throws Exception {
    WsTestClient honest = WsTestClient.connect(honestClient, server.httpPort());
    honest.send("{\"type\":\"connect\",\"role\":\"sendrecv\",\"channel_id\":\"room\"}");
    JsonNode offer = honest.expect("offer");
    honest.send(JSON.createObjectNode().put("type", "answer")
        .put("sdp", new FakeBrowserSdp(5).answer(offer.get("sdp").asText(), true)));
    assertEquals("connection.created", honest.expect("notify").get("event_type").asText());
  }

  private MetricsTest.Exposition metrics() throws Exception {
    HttpResponse<String> r = HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.httpPort() + "/metrics")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(200, r.statusCode());
    assertFalse(r.body().contains("127.0.0."), "no addresses in the metrics");
    return MetricsTest.Exposition.parse(r.body());
  }

  @Test
  void idleFlood_fromOneAddress_doesNotKeepAnHonestClientOut() throws Exception {
    // max_connections 10: before, 10 idle sockets alone made the server "full"
    start(ServerConfig.defaults().withE2ee(false).withLimits(10, 32, 1000)
        .withGuards(ServerConfig.Guards.defaults().withPending(200, 8).withConnectTimeoutSeconds(120)));
    int refused = 0;
    for (int i = 0; i < 100; i++) {
      String r = openIdle("127.0.0.1");
      if (r != null) {
        assertTrue(r.contains("have not sent connect"), r);
        refused++;
      }
    }
    assertEquals(92, refused);
    assertEquals(8, server.stats().pendingSockets());
    honestJoins();
    MetricsTest.Exposition e = metrics();
    assertEquals(92.0, e.value("veil_signaling_refused_total", "reason=\"pending_per_address\""));
    assertEquals(8.0, e.value("veil_pending_websockets", ""));
    assertEquals(1.0, e.value("veil_connections", ""));
  }

  @Test
  void idleFlood_fromManyAddresses_evictsTheOldest_andTheHonestClientJoins() throws Exception {
    start(ServerConfig.defaults().withE2ee(false)
        .withGuards(ServerConfig.Guards.defaults().withPending(50, 8).withConnectTimeoutSeconds(120)));
    for (int i = 0; i < 120; i++) {
      assertNull(openIdle("127.0.1." + (1 + i % 30))); // 30 addresses, 4 each: under the per-address limit
    }
    assertEquals(50, server.stats().pendingSockets());
    // the first 70 were evicted to make room: each got the error, disconnect and 1008
    int evicted = 0;
    for (RawWs r : idle.subList(0, 70)) {
      JsonNode error = JSON.readTree(r.readText());
      assertTrue(error.path("reason").asText().contains("make room"), error.toString());
      assertEquals("disconnect", JSON.readTree(r.readText()).path("type").asText());
      assertNull(r.readText());
      evicted++;
    }
    assertEquals(70, evicted);
    honestJoins(); // its socket, too, opened into a full budget and pushed out the oldest idle one
    assertEquals(71.0, metrics().value("veil_signaling_refused_total", "reason=\"pending_evicted\""));
  }

  @Test
  void idleSockets_areClosedAfterTheConnectTimeout() throws Exception {
    start(ServerConfig.defaults().withE2ee(false)
        .withGuards(ServerConfig.Guards.defaults().withConnectTimeoutSeconds(1)));
    assertNull(openIdle("127.0.0.1"));
    RawWs r = idle.get(0);
    r.socket.setSoTimeout(30_000);
    JsonNode error = JSON.readTree(r.readText());
    assertEquals("no connect within 1 s", error.path("reason").asText());
    assertEquals("disconnect", JSON.readTree(r.readText()).path("type").asText());
    assertNull(r.readText());
    assertEquals(1008, r.closeCode);
    assertEquals(1.0, metrics().value("veil_signaling_refused_total", "reason=\"connect_timeout\""));
  }

  @Test
  void messageFlood_isClosedByTheRateLimit_andCounted() throws Exception {
    start(ServerConfig.defaults().withE2ee(false)
        .withGuards(ServerConfig.Guards.defaults().withSignalingRate(10, 50)));
    RawWs flood = RawWs.open("127.0.0.1", server.httpPort(), 0);
    idle.add(flood);
    // 120 pings (2.5 kB) in one write, before reading: all of them reach the server before it closes the socket.
    // (A writer thread still sending while the server closed made the server's kernel answer with a reset, which
    // could discard the pongs, the error and the close before this test read them.)
    flood.sendTextBurst("{\"type\":\"ping\"}", 120);
    flood.socket.setSoTimeout((int) TimeUnit.SECONDS.toMillis(30));
    int pongs = 0;
    JsonNode n;
    while ((n = JSON.readTree(flood.readText())).path("type").asText().equals("pong")) {
      pongs++;
    }
    // the burst of 50, plus what refilled (10/s) while the server worked through them: far from the 120 sent
    assertTrue(pongs >= 50 && pongs < 120, pongs + " pongs");
    assertTrue(n.path("reason").asText().contains("messages per second"), n.toString());
    assertEquals("disconnect", JSON.readTree(flood.readText()).path("type").asText());
    assertNull(flood.readText());
    assertEquals(1008, flood.closeCode);
    assertEquals(1.0, metrics().value("veil_signaling_closed_total", "reason=\"rate\""));
  }
}
