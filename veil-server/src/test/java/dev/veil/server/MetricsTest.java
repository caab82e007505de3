package dev.veil.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.eclipse.jetty.websocket.client.WebSocketClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** {@code GET /metrics}: Prometheus text format 0.0.4, checked line by line with a strict parser. */
class MetricsTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private VeilServer server;
  private WebSocketClient client;

  @AfterEach
  void stop() throws Exception {
    if (client != null) {
      client.stop();
    }
    if (server != null) {
      server.close();
    }
  }

  @Test
  void metrics_afterConnect_parsesStrictlyAndCountsTheConnect() throws Exception {
    server = new VeilServer(ServerConfig.defaults().withE2ee(true).withPorts(0, 0));
    server.start();
    client = new WebSocketClient();
    client.start();
    WsTestClient ws = WsTestClient.connect(client, server.httpPort());
    ObjectNode connect = JSON.createObjectNode();
    connect.put("type", "connect");
    connect.put("role", "sendrecv");
    connect.put("channel_id", "metrics-room");
    connect.put("e2ee", true);
    ws.send(connect);
    JsonNode offer = ws.expect("offer");
    String connectionId = offer.get("connection_id").asText();
    ObjectNode answer = JSON.createObjectNode();
    answer.put("type", "answer");
    answer.put("sdp", new FakeBrowserSdp(11).answer(offer.get("sdp").asText(), true));
    ws.send(answer);
    assertEquals("connection.created", ws.expect("notify").get("event_type").asText());
    WsTestClient bad = WsTestClient.connect(client, server.httpPort());
    bad.send("{not json"); // a rejected message (a labelled counter); the server closes that socket
    assertTrue(bad.awaitClosed());
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (server.stats().webSockets() != 1 && System.nanoTime() < deadline) {
      java.util.concurrent.locks.LockSupport.parkNanos(1_000_000); // poll: the close reaches the loop after the client
    }

    HttpResponse<String> resp = HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.httpPort() + "/metrics")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(200, resp.statusCode());
    assertEquals("text/plain; version=0.0.4; charset=utf-8", resp.headers().firstValue("content-type").orElse(""));
    Exposition e = Exposition.parse(resp.body());

    assertEquals("gauge", e.types.get("veil_channels"));
    assertEquals(1.0, e.value("veil_channels", ""));
    assertEquals(1.0, e.value("veil_connections", ""));
    assertEquals(1.0, e.value("veil_websockets", ""));
    assertEquals(1.0, e.value("veil_e2ee_enabled", ""));
    assertEquals("counter", e.types.get("veil_signaling_connects_total"));
    assertEquals(1.0, e.value("veil_signaling_connects_total", ""));
    assertTrue(e.value("veil_signaling_messages_in_total", "") >= 2.0);
    // live router counters (read on the event loop) are there too
    assertEquals("counter", e.types.get("veil_router_rtp_received_total"));
    // the rejected bad JSON lands in the labelled family, whatever the codec calls the reason
    assertTrue(e.samples.keySet().stream().anyMatch(k -> k.startsWith("veil_signaling_rejected_total{reason=\"")),
        e.samples.keySet().toString());
    // histograms (join, signaling latency, forwarding latency, loop lag) with their buckets
    for (String h : new String[] {"veil_join_seconds", "veil_signaling_latency_seconds",
        "veil_forwarding_latency_seconds", "veil_loop_lag_seconds"}) {
      assertEquals("histogram", e.types.get(h), h);
      assertTrue(e.samples.containsKey(h + "_bucket{le=\"+Inf\"}"), h);
    }
    // the connect and the answer were handled: two signaling latencies at least
    assertTrue(e.value("veil_signaling_latency_seconds_count", "") >= 2.0);
    // JVM, process, Jetty and Netty meters from Micrometer's binders
    for (String g : new String[] {"jvm_threads_live_threads", "jvm_classes_loaded_classes", "process_cpu_usage",
        "process_uptime_seconds", "jetty_threads_current", "jvm_gc_max_data_size_bytes"}) {
      assertEquals("gauge", e.types.get(g), g);
    }
    assertTrue(e.samples.keySet().stream().anyMatch(k -> k.startsWith("jvm_memory_used_bytes{")));
    assertTrue(e.samples.keySet().stream().anyMatch(k -> k.startsWith("netty_eventexecutor_tasks_pending")));
    assertTrue(e.samples.keySet().stream().anyMatch(k -> k.startsWith("jetty_connections_")), e.types.toString());
    assertEquals(1.0, e.value("veil_healthy", ""));
    // no per-connection identifier, channel id or address anywhere
    assertFalse(resp.body().contains(connectionId));
    assertFalse(resp.body().contains("metrics-room"));
    assertFalse(resp.body().contains("127.0.0.1"));

    HttpResponse<String> head = HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.httpPort() + "/metrics"))
            .method("HEAD", HttpRequest.BodyPublishers.noBody()).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(200, head.statusCode());
    assertEquals("", head.body());
  }

  @Test
  void render_dottedKeys_mapToFamiliesWithLabels() {
    Map<String, Long> counters = new TreeMap<>();
    counters.put("udp.dropped.unknown_kind", 3L);
    counters.put("udp.dropped.size", 2L);
    counters.put("udp.dropped.unknown_source.rtp", 4L);
    counters.put("udp.datagrams_in", 9L);
    counters.put("signaling.ice_restart.rejected.rate", 1L);
    counters.put("media.received.rtp", 5L);
    Exposition e = Exposition.parse(Metrics.render(counters));
    assertEquals(3.0, e.value("veil_udp_dropped_total", "reason=\"unknown_kind\""));
    assertEquals(2.0, e.value("veil_udp_dropped_total", "reason=\"size\""));
    assertEquals(4.0, e.value("veil_udp_dropped_unknown_source_total", "kind=\"rtp\""));
    assertEquals(9.0, e.value("veil_udp_datagrams_in_total", ""));
    assertEquals(1.0, e.value("veil_signaling_ice_restart_rejected_total", "reason=\"rate\""));
    assertEquals(5.0, e.value("veil_media_received_total", "kind=\"rtp\""));
  }

  @Test
  void render_gaugeKeys_areGaugesNotCounters() {
    Map<String, Long> counters = new TreeMap<>();
    counters.put(Metrics.GAUGE_PREFIX + "media.downlink.estimators", 2L);
    counters.put(Metrics.GAUGE_PREFIX + "media.downlink.estimate_bps_sum", 3_000_000L);
    counters.put("media.downlink.packets_stamped", 7L);
    String text = Metrics.render(counters);
    Exposition e = Exposition.parse(text);
    assertTrue(text.contains("# TYPE veil_media_downlink_estimators gauge\n"), text);
    assertEquals(2.0, e.value("veil_media_downlink_estimators", ""));
    assertEquals(3_000_000.0, e.value("veil_media_downlink_estimate_bps_sum", ""));
    assertEquals(7.0, e.value("veil_media_downlink_packets_stamped_total", ""));
    assertTrue(!text.contains("gauge_media"), text);
  }

  @Test
  void render_oddLabelValueAndKey_escapedPerSpec() {
    Map<String, Long> counters = new TreeMap<>();
    counters.put("e2ee.rejected.a\"b\\c\nd", 1L);
    counters.put("weird-key.with spaces", 2L);
    String text = Metrics.render(counters);
    Exposition e = Exposition.parse(text);
    assertEquals(1.0, e.value("veil_e2ee_rejected_total", "reason=\"a\\\"b\\\\c\\nd\""));
    assertEquals(2.0, e.value("veil_weird_key_with_spaces_total", ""));
  }

  @Test
  void render_keysThatWouldCollideWithAMeter_areSkipped_notABrokenScrape() {
    Map<String, Long> counters = new TreeMap<>();
    counters.put("join_seconds", 5L); // veil_join_seconds is the join-time histogram
    counters.put(Metrics.GAUGE_PREFIX + "signaling.latency_seconds", 1L); // a histogram too
    counters.put(Metrics.GAUGE_PREFIX + "x", 2L);
    counters.put("x", 3L); // a counter may not share a gauge's name
    counters.put("y", 4L);
    Exposition e = Exposition.parse(Metrics.render(counters));
    assertEquals("histogram", e.types.get("veil_join_seconds"));
    assertEquals("histogram", e.types.get("veil_signaling_latency_seconds"));
    assertEquals(2.0, e.value("veil_x", ""));
    assertEquals(4.0, e.value("veil_y_total", ""));
  }

  @Test
  void parser_badLines_rejected() {
    String ok = "# HELP veil_x_total X.\n# TYPE veil_x_total counter\n";
    assertThrows(AssertionError.class, () -> Exposition.parse(ok + "veil_x_total{reason=\"a\"b\"} 1\n"));
    assertThrows(AssertionError.class, () -> Exposition.parse(ok + "veil_x_total one\n"));
    assertThrows(AssertionError.class, () -> Exposition.parse(ok + "veil_x_total 1"));
    assertThrows(AssertionError.class, () -> Exposition.parse("veil_y_total 1\n"));
    assertThrows(AssertionError.class,
        () -> Exposition.parse("# HELP veil_y Y.\n# TYPE veil_y counter\nveil_y 1\n"));
    assertThrows(AssertionError.class, () -> Exposition.parse(ok + "veil_x_total 1\nveil_x_total 2\n"));
    assertEquals(1.0, Exposition.parse(ok + "veil_x_total 1\n").value("veil_x_total", ""));
  }

  /**
   * A strict reader of the text format 0.0.4: every line is a HELP, a TYPE or a sample; HELP and TYPE come once
   * per metric before its samples; samples of a metric are contiguous; counters end in {@code _total}; values
   * are numbers; no sample repeats; the text ends with a line feed. Any violation fails with an AssertionError.
   */
  static final class Exposition {
    private static final String NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
    private static final String LABEL = "[a-zA-Z_][a-zA-Z0-9_]*=\"(?:[^\"\\\\\\n]|\\\\[\\\\\"n])*\"";
    private static final String VALUE = "[+-]?(?:[0-9]+(?:\\.[0-9]*)?(?:[eE][+-]?[0-9]+)?|Inf|NaN)";
    private static final Pattern HELP = Pattern.compile("# HELP (" + NAME + ") ((?:[^\\\\\\n]|\\\\[\\\\n])*)");
    private static final Pattern TYPE =
        Pattern.compile("# TYPE (" + NAME + ") (counter|gauge|histogram|summary|untyped)");
    private static final Pattern SAMPLE = Pattern.compile(
        "(" + NAME + ")(?:\\{((?:" + LABEL + ")(?:," + LABEL + ")*,?)?\\})? (" + VALUE + ")(?: -?[0-9]+)?");

    final Map<String, String> types = new HashMap<>();
    final Map<String, String> helps = new HashMap<>();
    /** {@code name{labels}} (or {@code name}) → value. */
    final Map<String, Double> samples = new LinkedHashMap<>();

    static Exposition parse(String text) {
      Exposition e = new Exposition();
      if (!text.endsWith("\n")) {
        throw new AssertionError("the exposition must end with a line feed");
      }
      Set<String> finished = new HashSet<>();
      String current = null;
      int n = 0;
      for (String line : text.substring(0, text.length() - 1).split("\n", -1)) {
        n++;
        Matcher m;
        String name;
        if ((m = HELP.matcher(line)).matches()) {
          name = m.group(1);
          if (e.helps.put(name, m.group(2)) != null) {
            throw new AssertionError("line " + n + ": second HELP for " + name);
          }
        } else if ((m = TYPE.matcher(line)).matches()) {
          name = m.group(1);
          if (e.types.put(name, m.group(2)) != null) {
            throw new AssertionError("line " + n + ": second TYPE for " + name);
          }
          if (m.group(2).equals("counter") && !name.endsWith("_total")) {
            throw new AssertionError("line " + n + ": counter " + name + " does not end in _total");
          }
        } else if ((m = SAMPLE.matcher(line)).matches()) {
          String sampleName = m.group(1);
          name = family(e, sampleName);
          if (!e.helps.containsKey(name) || !e.types.containsKey(name)) {
            throw new AssertionError("line " + n + ": sample of " + name + " before its HELP and TYPE");
          }
          double v = Double.parseDouble(m.group(3).replace("Inf", "Infinity"));
          if (!e.types.get(name).equals("gauge") && !e.types.get(name).equals("untyped") && !(v >= 0)) {
            throw new AssertionError("line " + n + ": negative or NaN counter or histogram " + line);
          }
          String key = sampleName + (m.group(2) == null ? "" : "{" + m.group(2) + "}");
          if (e.samples.put(key, v) != null) {
            throw new AssertionError("line " + n + ": repeated sample " + key);
          }
        } else {
          throw new AssertionError("line " + n + " is not in the exposition grammar: " + line);
        }
        if (!name.equals(current)) {
          if (current != null) {
            finished.add(current);
          }
          if (finished.contains(name)) {
            throw new AssertionError("line " + n + ": metric " + name + " is not contiguous");
          }
          current = name;
        }
      }
      for (String name : e.types.keySet()) {
        if (!e.helps.containsKey(name)) {
          throw new AssertionError(name + " has a TYPE but no HELP");
        }
      }
      return e;
    }

    /**
     * The metric family of a sample: its own name, or for {@code _bucket}, {@code _count} and {@code _sum} of a
     * histogram (and {@code _count}, {@code _sum} of a summary) the histogram's name.
     */
    private static String family(Exposition e, String sample) {
      if (e.types.containsKey(sample)) {
        return sample;
      }
      for (String suffix : new String[] {"_bucket", "_count", "_sum"}) {
        if (sample.endsWith(suffix)) {
          String base = sample.substring(0, sample.length() - suffix.length());
          String t = e.types.get(base);
          if ("histogram".equals(t) || ("summary".equals(t) && !suffix.equals("_bucket"))) {
            return base;
          }
        }
      }
      return sample;
    }

    double value(String name, String labels) {
      Double v = samples.get(labels.isEmpty() ? name : name + "{" + labels + "}");
      if (v == null) {
        throw new AssertionError("no sample " + name + "{" + labels + "} in " + samples.keySet());
      }
      return v;
    }
  }
}
