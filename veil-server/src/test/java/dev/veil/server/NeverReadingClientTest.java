package dev.veil.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Base64;
import java.util.concurrent.atomic.AtomicBoolean;
import org.eclipse.jetty.websocket.client.WebSocketClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 7, item 1, on real sockets: a member that keeps answering pings but never reads its WebSocket, while another
 * member floods it with relayed e2ee messages. It must be dropped, and what the server queues for it must stay
 * under the configured bound the whole time (measured: the server's queued-bytes gauge, and the heap).
 */
class NeverReadingClientTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final long WAIT_NANOS = 120_000_000_000L;
  private VeilServer server;
  private WebSocketClient client;
  private RawWs attacker;
  private final AtomicBoolean stop = new AtomicBoolean();

  @AfterEach
  void tearDown() throws Exception {
    stop.set(true);
    if (attacker != null) {
      attacker.close();
    }
    if (client != null) {
      client.stop();
    }
    if (server != null) {
      server.close();
    }
  }

  private void start(ServerConfig.Guards g) throws Exception {
    server = new VeilServer(ServerConfig.defaults().withE2ee(true).withPorts(0, 0).withKeepalive(1, 3)
        .withE2eeRate(100_000, 100_000).withGuards(g));
    server.start();
    client = new WebSocketClient();
    client.start();
  }

  private static String connect(String channel) {
    return "{\"type\":\"connect\",\"role\":\"sendrecv\",\"channel_id\":\"" + channel + "\",\"e2ee\":true}";
  }

  private static String answer(String offerSdp) {
    ObjectNode a = JSON.createObjectNode();
    a.put("type", "answer");
    a.put("sdp", new FakeBrowserSdp(3).answer(offerSdp, false));
    return a.toString();
  }

  /** The attacker joins (it reads its offer and its own notify), then never reads again and answers pings blind. */
  private String joinAttacker() throws Exception {
    attacker = RawWs.open("127.0.0.1", server.httpPort(), 4096);
    attacker.sendText(connect("room"));
    JsonNode offer = JSON.readTree(attacker.readText());
    assertEquals("offer", offer.path("type").asText());
    attacker.sendText(answer(offer.path("sdp").asText()));
    assertEquals("notify", JSON.readTree(attacker.readText()).path("type").asText());
    Thread ponger = new Thread(() -> {
      while (!stop.get()) {
        try {
          attacker.sendText("{\"type\":\"pong\"}");
          Thread.sleep(200); // pacing of the attack, not synchronisation
        } catch (Exception e) {
          return; // the server dropped it
        }
      }
    }, "never-reader-ponger");
    ponger.setDaemon(true);
    ponger.start();
    return offer.path("connection_id").asText();
  }

  private WsTestClient joinSender() throws Exception {
    WsTestClient s = WsTestClient.connect(client, server.httpPort());
    s.send(connect("room"));
    JsonNode offer = s.expect("offer");
    s.send(answer(offer.path("sdp").asText()));
    s.expect("notify");
    return s;
  }

  /** A barrier through the server's loop; answers the server's pings meanwhile (the sender is a good client). */
  private static java.util.List<JsonNode> sync(WsTestClient c) throws InterruptedException {
    java.util.List<JsonNode> got = c.sync();
    for (JsonNode n : got) {
      if (n.path("type").asText().equals("ping")) {
        c.send("{\"type\":\"pong\"}");
      }
    }
    return got;
  }

  private static String e2ee(String to) {
    return "{\"type\":\"e2ee\",\"to\":\"" + to + "\",\"payload\":\""
        + Base64.getEncoder().encodeToString(new byte[4096]) + "\"}";
  }

  private static boolean destroyed(java.util.List<JsonNode> msgs, String id) {
    return msgs.stream().anyMatch(n -> n.path("event_type").asText().equals("connection.destroyed")
        && n.path("connection_id").asText().equals(id));
  }

  private static long usedHeapAfterGc() {
    Runtime rt = Runtime.getRuntime();
    for (int i = 0; i < 3; i++) {
      System.gc();
    }
    return rt.totalMemory() - rt.freeMemory();
  }

  @Test
  void neverReader_floodedWithRelayedMessages_isDropped_queueStaysUnderTheBound() throws Exception {
    int bound = 1024 * 1024;
    start(ServerConfig.Guards.defaults().withOutbound(bound, 2048, 5).withSignalingRate(100_000, 100_000));
    long heapBefore = usedHeapAfterGc();
    String victim = joinAttacker();
    WsTestClient sender = joinSender();
    long maxQueued = 0;
    long sent = 0;
    long firstQueued = 0;
    boolean gone = false;
    long deadline = System.nanoTime() + WAIT_NANOS;
    String msg = e2ee(victim);
    while (!gone && System.nanoTime() < deadline) {
      for (int i = 0; i < 50; i++) {
        sender.send(msg);
      }
      sent += 50;
      gone = destroyed(sync(sender), victim); // the server has handled all of them
      long q = server.stats().outboundQueuedBytes();
      if (q > 0 && firstQueued == 0) {
        firstQueued = System.nanoTime();
      }
      maxQueued = Math.max(maxQueued, q);
    }
    assertTrue(gone, "the never-reading member is still there after " + sent + " messages");
    double secondsQueued = firstQueued == 0 ? 0 : (System.nanoTime() - firstQueued) / 1e9;
    long heapAfter = usedHeapAfterGc();
    long dropped = server.stats().get("signaling.closed.outbound_bytes")
        + server.stats().get("signaling.closed.outbound_messages") + server.stats().get("signaling.closed.write_stall");
    System.out.printf("never-reader (flood): %d relayed messages of 4 KB sent at it; max queued %d bytes (bound %d); "
        + "dropped %.1f s after its queue first held bytes; heap after GC %d MB -> %d MB; closed outbound_bytes=%d "
        + "outbound_messages=%d write_stall=%d%n", sent, maxQueued, bound, secondsQueued, heapBefore >> 20,
        heapAfter >> 20, server.stats().get("signaling.closed.outbound_bytes"),
        server.stats().get("signaling.closed.outbound_messages"), server.stats().get("signaling.closed.write_stall"));
    assertEquals(1, dropped);
    assertTrue(maxQueued <= bound + 64 * 1024, "queued " + maxQueued); // + the sender's few in-flight messages
    // the heap did not keep what was sent at it (≈ sent × 5.5 KB): a generous margin over the 1 MiB bound
    assertTrue(heapAfter - heapBefore < 64L << 20, (heapAfter - heapBefore) + " bytes more heap");
    // the socket is really gone: the attacker reads what the kernel held, then the end
    assertTrue(attacker.awaitServerEnd(30_000));
    // what was queued to the attacker is released; the reading sender's own in-flight messages (a notify, a ping)
    // drain as they are written
    long drainDeadline = System.nanoTime() + WAIT_NANOS;
    while (server.stats().outboundQueuedBytes() != 0 && System.nanoTime() < drainDeadline) {
      sync(sender);
    }
    assertEquals(0, server.stats().outboundQueuedBytes());
    assertEquals(1, server.stats().connections()); // the sender is still there
  }

  @Test
  void stalledReader_thatKeepsSendingPongs_isDroppedByTheStallTimeout() throws Exception {
    int stallSeconds = 2;
    start(ServerConfig.Guards.defaults().withOutbound(8 * 1024 * 1024, 100_000, stallSeconds)
        .withSignalingRate(100_000, 100_000));
    String victim = joinAttacker();
    WsTestClient sender = joinSender();
    String msg = e2ee(victim);
    long deadline = System.nanoTime() + WAIT_NANOS;
    boolean gone = false;
    // fill the kernel's buffers until the server's own queue holds bytes (more than the sender's few in-flight
    // messages can), then stop: far under the 8 MB bound
    while (server.stats().outboundQueuedBytes() < 100_000 && !gone && System.nanoTime() < deadline) {
      for (int i = 0; i < 20; i++) {
        sender.send(msg);
      }
      gone = destroyed(sync(sender), victim);
    }
    long queued = server.stats().outboundQueuedBytes();
    long since = System.nanoTime();
    assertTrue(queued > 0 && !gone);
    while (!gone && System.nanoTime() < deadline) {
      gone = destroyed(sync(sender), victim); // pongs keep coming from the attacker meanwhile
    }
    double seconds = (System.nanoTime() - since) / 1e9;
    System.out.printf("never-reader (stall): %d bytes queued and not draining; dropped after %.1f s "
        + "(write_stall_timeout_seconds %d, ping every 1 s)%n", queued, seconds, stallSeconds);
    assertTrue(gone);
    assertEquals(1, server.stats().get("signaling.closed.write_stall"));
    assertEquals(0, server.stats().get("signaling.closed.ping_timeout"));
    assertTrue(attacker.awaitServerEnd(30_000));
  }

  @Test
  void neverReader_whileOthersJoinAndLeaveWith16kMetadata_isDropped_queueStaysUnderTheBound() throws Exception {
    // the reproduction: churn with 16 KB notify metadata grew the heap by ~17 MB/s before
    int bound = 1024 * 1024;
    start(ServerConfig.Guards.defaults().withOutbound(bound, 2048, 20));
    long heapBefore = usedHeapAfterGc();
    String victim = joinAttacker();
    WsTestClient observer = joinSender();
    String metadata = "x".repeat(16_000);
    long maxQueued = 0;
    int cycles = 0;
    boolean gone = false;
    long deadline = System.nanoTime() + WAIT_NANOS;
    while (!gone && System.nanoTime() < deadline) {
      WsTestClient churn = WsTestClient.connect(client, server.httpPort());
      churn.send("{\"type\":\"connect\",\"role\":\"sendrecv\",\"channel_id\":\"room\",\"e2ee\":true,"
          + "\"signaling_notify_metadata\":{\"name\":\"" + metadata + "\"}}");
      JsonNode offer = churn.expect("offer");
      churn.send(answer(offer.path("sdp").asText()));
      churn.expectSkippingPings("notify");
      churn.send("{\"type\":\"disconnect\"}");
      churn.awaitClosed();
      cycles++;
      gone = destroyed(sync(observer), victim);
      maxQueued = Math.max(maxQueued, server.stats().outboundQueuedBytes());
    }
    long heapAfter = usedHeapAfterGc();
    System.out.printf("never-reader (churn): %d join/leave cycles with 16 KB metadata; max queued %d bytes "
        + "(bound %d); heap after GC %d MB -> %d MB%n", cycles, maxQueued, bound, heapBefore >> 20, heapAfter >> 20);
    assertTrue(gone, "still there after " + cycles + " cycles");
    assertTrue(maxQueued <= bound + 64 * 1024, "queued " + maxQueued); // + the observer's few in-flight messages
    assertTrue(heapAfter - heapBefore < 64L << 20, (heapAfter - heapBefore) + " bytes more heap");
    assertTrue(attacker.awaitServerEnd(30_000));
  }
}
