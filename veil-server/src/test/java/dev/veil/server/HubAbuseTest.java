package dev.veil.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.veil.signaling.Role;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * The hub's abuse limits in memory, on a manual clock: sockets are {@link FakeWs} (a write completes only when the
 * test reads it), media is a stub. Each test is one abuse case of docs/SECURITY.md §5.
 */
class HubAbuseTest {
  private final HubFixture fx = new HubFixture();
  private final ManualScheduler clock = fx.clock;
  private final Stats stats = fx.stats;
  private Hub hub;


  private void start(ServerConfig cfg) {
    hub = fx.hub(cfg);
  }

  private static ServerConfig cfg(ServerConfig.Guards g) {
    return ServerConfig.defaults().withGuards(g);
  }

  private static ServerConfig.Guards guards() {
    return ServerConfig.Guards.defaults();
  }

  record Client(FakeWs ws, Conn conn) {
    String id() {
      return conn.id;
    }
  }

  private Client open(String address) {
    FakeWs ws = new FakeWs(address);
    return new Client(ws, fx.open(hub, ws));
  }

  private void send(Client c, String json) {
    hub.text(c.conn(), json);
    clock.runDue();
  }

  private Client join(String address, String channel, boolean e2ee) {
    Client c = open(address);
    send(c, "{\"type\":\"connect\",\"role\":\"sendrecv\",\"channel_id\":\"" + channel + "\",\"e2ee\":" + e2ee + "}");
    JsonNode offer = c.ws().read().get(0);
    assertEquals("offer", offer.path("type").asText(), offer.toString());
    send(c, "{\"type\":\"answer\",\"sdp\":\"v=0\\r\\n\"}");
    assertEquals("notify", c.ws().read().get(0).path("type").asText());
    return c;
  }

  private static String e2ee(String to, int payloadBytes) {
    return "{\"type\":\"e2ee\",\"to\":\"" + to + "\",\"payload\":\""
        + Base64.getEncoder().encodeToString(new byte[payloadBytes]) + "\"}";
  }

  /** The socket was closed the way PROTOCOL.md §1.5 says: error (reason contains {@code part}), disconnect, 1008. */
  private static void assertErrorDisconnect1008(Client c, String part) {
    List<JsonNode> got = c.ws().read();
    assertTrue(got.size() >= 2, got.toString());
    JsonNode error = got.get(got.size() - 2);
    assertEquals("error", error.path("type").asText(), got.toString());
    assertTrue(error.path("reason").asText().contains(part), error.toString());
    assertEquals("disconnect", got.get(got.size() - 1).path("type").asText());
    assertEquals(Hub.CLOSE_POLICY, c.ws().closeCode);
  }

  // ------------------------------------------------------------------------------------- outbound, liveness

  @Test
  void reader_thatAnswersPingsButNeverReads_isDroppedAfterTheStallTime() {
    start(cfg(guards().withOutbound(1 << 20, 2048, 10)).withKeepalive(5, 3));
    Client a = join("10.0.0.1", "room", false);
    Client b = join("10.0.0.2", "room", false);
    a.ws().read();
    send(a, "{\"type\":\"ping\"}"); // earns a pong that a never reads: one write that never completes
    long queuedAt = clock.nowNanos();
    for (int i = 0; i < 9; i++) {
      clock.advanceSeconds(1.0);
      send(a, "{\"type\":\"pong\"}"); // a keeps answering pings, every second
      b.ws().read();
    }
    assertTrue(a.ws().closeCode < 0, "closed before the stall time");
    while (a.ws().closeCode < 0 && clock.nowNanos() - queuedAt < 60e9) {
      clock.advanceSeconds(1.0);
      send(a, "{\"type\":\"pong\"}");
      b.ws().read();
    }
    double closedAfter = (clock.nowNanos() - queuedAt) / 1e9;
    // the stall time (10 s), seen at the latest by the next keepalive tick (every 5 s)
    assertTrue(closedAfter >= 10 && closedAfter <= 15, "closed after " + closedAfter + " s");
    assertTrue(a.ws().aborted, "a stalled reader is dropped, pongs or not");
    assertEquals(Hub.CLOSE_POLICY, a.ws().closeCode);
    assertEquals(1, stats.get("signaling.closed.write_stall"));
    assertEquals(0, stats.get("signaling.closed.ping_timeout"));
    // b heard that a left; a's pending write was failed by the drop: nothing stays queued
    b.ws().read();
    assertTrue(b.ws().read.stream().anyMatch(n -> n.path("event_type").asText().equals("connection.destroyed")));
    assertEquals(0, stats.outboundQueuedBytes());
    assertEquals(1, stats.connections());
  }

  @Test
  void neverReader_pastTheMessageBound_isDroppedAtOnce_andNothingMoreIsQueued() {
    start(cfg(guards().withOutbound(1 << 20, 16, 20).withSignalingRate(100_000, 100_000)));
    Client a = join("10.0.0.1", "room", false);
    for (int i = 0; i < 40; i++) {
      send(a, "{\"type\":\"ping\"}");
    }
    assertTrue(a.ws().aborted);
    assertEquals(1, stats.get("signaling.closed.outbound_messages"));
    assertEquals(0, a.ws().sentAfterClose);
    assertEquals(0, a.ws().unread()); // the drop failed the 16 queued pongs
    assertTrue(stats.get("signaling.messages_dropped") >= 1);
    assertEquals(0, stats.connections());
  }

  @Test
  void neverReader_floodedWithRelayedMessages_queueStaysUnderTheByteBound() {
    int bound = 512 * 1024;
    start(cfg(guards().withOutbound(bound, 100_000, 20).withSignalingRate(100_000, 100_000))
        .withE2eeRate(100_000, 100_000));
    Client victim = join("10.0.0.1", "room", true);
    Client sender = join("10.0.0.2", "room", true);
    victim.ws().read();
    long maxQueued = 0;
    int sent = 0;
    while (!victim.ws().aborted && sent < 10_000) {
      send(sender, e2ee(victim.id(), 4096));
      sent++;
      maxQueued = Math.max(maxQueued, stats.outboundQueuedBytes());
      sender.ws().read();
    }
    assertTrue(victim.ws().aborted, "dropped after " + sent);
    assertTrue(maxQueued <= bound, "queued " + maxQueued);
    assertTrue(maxQueued > bound - 8 * 1024, "queued " + maxQueued); // it did fill up to the bound
    assertEquals(1, stats.get("signaling.closed.outbound_bytes"));
    assertEquals(0, stats.outboundQueuedBytes());
    // the sender is unaffected
    assertEquals(-1, sender.ws().closeCode);
    assertEquals(1, stats.connections());
  }

  @Test
  void allQueuesTogether_pastTheTotalBudget_dropTheLargestQueue_only() {
    start(cfg(guards().withOutbound(600_000, 100_000, 20).withOutboundTotalMaxBytes(700_000)
        .withSignalingRate(100_000, 100_000)).withE2eeRate(100_000, 100_000));
    Client slowest = join("10.0.0.1", "room", true);
    Client slow = join("10.0.0.2", "room", true);
    Client sender = join("10.0.0.3", "room", true);
    slowest.ws().read();
    slow.ws().read();
    for (int i = 0; i < 100; i++) { // ≈550 KB to the slowest: under its own bound
      send(sender, e2ee(slowest.id(), 4096));
      sender.ws().read();
    }
    assertFalse(slowest.ws().aborted);
    long maxQueued = 0;
    for (int i = 0; i < 60; i++) { // ≈330 KB more to the other: together past 700 KB
      send(sender, e2ee(slow.id(), 4096));
      sender.ws().read();
      maxQueued = Math.max(maxQueued, stats.outboundQueuedBytes());
    }
    assertTrue(slowest.ws().aborted, "the largest queue is dropped");
    assertFalse(slow.ws().aborted);
    assertEquals(1, stats.get("signaling.closed.outbound_total"));
    assertTrue(maxQueued <= 700_000, "queued " + maxQueued);
    assertTrue(stats.outboundQueuedBytes() > 300_000); // the other's queue is intact
  }

  // ----------------------------------------------------------------------------------------- rate limiting

  @Test
  void flood_pastTheSignalingBurst_getsErrorAndClose_steadySenderDoesNot() {
    start(cfg(guards().withSignalingRate(10, 20)));
    Client steady = join("10.0.0.1", "room", false);
    for (int i = 0; i < 200; i++) { // 20 s at the sustained rate
      clock.advanceSeconds(0.1);
      send(steady, "{\"type\":\"pong\"}");
      steady.ws().read();
    }
    assertEquals(-1, steady.ws().closeCode);
    Client flood = join("10.0.0.2", "room", false); // connect + answer: 2 of its 20
    for (int i = 0; i < 18; i++) {
      send(flood, "{\"type\":\"ping\"}");
    }
    assertEquals(-1, flood.ws().closeCode);
    send(flood, "{\"type\":\"ping\"}");
    assertErrorDisconnect1008(flood, "messages per second");
    assertEquals(1, stats.get("signaling.closed.rate"));
    assertEquals(-1, steady.ws().closeCode);
  }

  @Test
  void errorReplies_toAFloodOfUndeliverableMessages_areCoalesced() {
    start(cfg(guards()));
    Client a = join("10.0.0.1", "room", true);
    for (int i = 0; i < 150; i++) {
      send(a, e2ee("0000000000000000000000000Z", 16));
    }
    long errors = a.ws().read().stream().filter(n -> n.path("type").asText().equals("error")).count();
    assertEquals(Wire.ERROR_REPLY_BURST, errors);
    assertEquals(150 - Wire.ERROR_REPLY_BURST, stats.get("signaling.errors_suppressed"));
    assertEquals(-1, a.ws().closeCode);
    clock.advanceSeconds(1.0); // the budget refills
    send(a, e2ee("0000000000000000000000000Z", 16));
    assertEquals("error", a.ws().read().get(0).path("type").asText());
  }

  // ---------------------------------------------------------------------------------------------- admission

  @Test
  void idleFlood_fromOneAddress_isCappedPerAddress_andAnHonestClientJoins() {
    start(cfg(guards().withPending(200, 8)));
    int refused = 0;
    for (int i = 0; i < 1000; i++) {
      Client idle = open("10.6.6.6");
      if (idle.ws().closeCode == Hub.CLOSE_POLICY) {
        refused++;
        assertTrue(idle.ws().read().get(0).path("reason").asText().contains("have not sent connect"));
      }
    }
    assertEquals(992, refused);
    assertEquals(8, stats.pendingSockets());
    Client honest = join("10.0.0.1", "room", false);
    assertEquals(-1, honest.ws().closeCode);
    assertEquals(992, stats.get("signaling.refused.pending_per_address"));
    assertEquals(1, stats.connections());
  }

  @Test
  void fullPendingBudget_evictsTheOldestIdleSocket() {
    start(cfg(guards().withPending(4, 8)));
    Client first = open("10.0.0.1");
    for (int i = 2; i <= 4; i++) {
      open("10.0.0." + i);
    }
    Client newcomer = open("10.0.0.5");
    assertErrorDisconnect1008(first, "make room");
    assertEquals(-1, newcomer.ws().closeCode);
    assertEquals(1, stats.get("signaling.refused.pending_evicted"));
    assertEquals(4, stats.pendingSockets());
    send(newcomer, "{\"type\":\"connect\",\"role\":\"recvonly\",\"channel_id\":\"room\"}");
    assertEquals("offer", newcomer.ws().read().get(0).path("type").asText());
    assertEquals(3, stats.pendingSockets());
  }

  @Test
  void socketWithoutConnect_isClosedAfterTheShorterConnectTimeout() {
    start(cfg(guards().withConnectTimeoutSeconds(5)));
    Client idle = open("10.0.0.1");
    clock.advanceSeconds(4.9);
    assertEquals(-1, idle.ws().closeCode);
    clock.advanceSeconds(0.2);
    assertErrorDisconnect1008(idle, "no connect within 5 s");
    assertEquals(1, stats.get("signaling.refused.connect_timeout"));
    assertEquals(0, stats.pendingSockets());
  }

  @Test
  void connectionsPerAddress_andServerFull_areRefusedAndCounted() {
    start(cfg(guards().withMaxConnectionsPerAddress(2)).withLimits(3, 32, 1000));
    Client a1 = join("10.0.0.1", "room", false);
    join("10.0.0.1", "room", false);
    Client a3 = open("10.0.0.1");
    send(a3, "{\"type\":\"connect\",\"role\":\"sendrecv\",\"channel_id\":\"room\"}");
    assertErrorDisconnect1008(a3, "too many connections from your address");
    join("10.0.0.2", "room", false);
    Client b2 = open("10.0.0.2");
    send(b2, "{\"type\":\"connect\",\"role\":\"sendrecv\",\"channel_id\":\"room\"}");
    assertErrorDisconnect1008(b2, "the server is full");
    assertEquals(1, stats.get("signaling.refused.connections_per_address"));
    assertEquals(1, stats.get("signaling.refused.server_full"));
    hub.closed(a1.conn()); // a slot of 10.0.0.1 frees up
    clock.runDue();
    join("10.0.0.1", "room", false);
    assertEquals(3, stats.connections());
  }

  // ------------------------------------------------------------------------------------- closing, shutdown

  @Test
  void shutdown_tellsEveryMemberDisconnect_thenCloses_andDrainsOnceTheSocketsClose() {
    start(cfg(guards()));
    Client a = join("10.0.0.1", "room", false);
    Client b = join("10.0.0.2", "other", false);
    Client idle = open("10.0.0.3");
    a.ws().read();
    CompletableFuture<Void> drained = hub.shutdown();
    clock.runDue();
    for (Client c : List.of(a, b)) {
      List<JsonNode> got = c.ws().read();
      JsonNode last = got.get(got.size() - 1);
      assertEquals("disconnect", last.path("type").asText(), got.toString());
      assertEquals("server shutting down", last.path("reason").asText());
      assertEquals(Hub.CLOSE_GOING_AWAY, c.ws().closeCode);
    }
    assertEquals(Hub.CLOSE_GOING_AWAY, idle.ws().closeCode);
    Client late = open("10.0.0.4");
    assertErrorDisconnect1008(late, "shutting down");
    for (Client c : List.of(a, b, idle)) {
      assertFalse(drained.isDone());
      hub.closed(c.conn());
    }
    assertFalse(drained.isDone()); // the late socket is still open
    clock.advance(Wire.CLOSE_GRACE_NANOS); // it never completes the close: dropped
    assertTrue(late.ws().aborted);
    hub.closed(late.conn());
    assertTrue(drained.isDone());
    assertEquals(3, stats.get("signaling.closed.shutdown"));
  }

  @Test
  void closeHandshakeNeverCompleted_isHardClosedAfterTheGrace_butNotWhenItCompletes() {
    start(cfg(guards()));
    Client bad = open("10.0.0.1");
    send(bad, "{not json");
    Client good = open("10.0.0.2");
    send(good, "{not json");
    assertEquals(Hub.CLOSE_POLICY, bad.ws().closeCode);
    hub.closed(good.conn()); // this client answered the close
    clock.advance(Wire.CLOSE_GRACE_NANOS - 1);
    assertFalse(bad.ws().aborted);
    clock.advance(1);
    assertTrue(bad.ws().aborted);
    assertFalse(good.ws().aborted);
    assertEquals(1, stats.get("signaling.hard_closes"));
  }

  @Test
  void runtimeExceptionInOneConnectionsMedia_closesOnlyThatConnection() {
    Media throwing = (id, channel, role, audio, video, onFailed) -> {
      if (role == Role.SENDONLY) {
        throw new IllegalStateException("boom");
      }
      return HubFixture.MEDIA.open(id, channel, role, audio, video, onFailed);
    };
    hub = new Hub(clock, cfg(guards()), stats, throwing, new ConnectionIds(new SecureRandom()));
    Client a = join("10.0.0.1", "room", false);
    Client b = open("10.0.0.2");
    send(b, "{\"type\":\"connect\",\"role\":\"sendonly\",\"channel_id\":\"room\"}");
    assertEquals(1011, b.ws().closeCode);
    assertEquals(-1, a.ws().closeCode);
    assertEquals(1, stats.get("signaling.closed.internal_error"));
  }
}
