package dev.veil.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** The hub's graceful drain, in memory on a manual clock. */
class HubDrainTest {
  private final HubFixture fx = new HubFixture();
  private final ManualScheduler clock = fx.clock;
  private final Stats stats = fx.stats;
  private Hub hub;


  HubDrainTest() {
    // keepalive out of the way: the test moves the clock by minutes and the fake sockets do not answer pings
    hub = fx.hub(ServerConfig.defaults().withKeepalive(3600, 100));
  }

  private Conn open(FakeWs ws) {
    return fx.open(hub, ws);
  }

  private record Member(FakeWs ws, Conn conn) {}

  private Member join(String channel) {
    FakeWs ws = fx.socket();
    Conn c = open(ws);
    List<JsonNode> got = fx.connect(hub, c, ws,
        "{\"type\":\"connect\",\"role\":\"sendrecv\",\"channel_id\":\"" + channel + "\"}");
    assertEquals("offer", got.get(0).path("type").asText());
    ws.read();
    return new Member(ws, c);
  }

  private JsonNode last(FakeWs ws, String type) {
    List<JsonNode> all = fx.readAll(ws);
    for (int i = all.size() - 1; i >= 0; i--) {
      if (all.get(i).path("type").asText().equals(type)) {
        return all.get(i);
      }
    }
    throw new AssertionError("no " + type + " in " + all);
  }

  @Test
  void drain_tellsMembers_refusesNewcomers_andCompletesWhenTheLastLeaves() {
    Member a = join("room");
    Member b = join("room");
    Member c = join("other");
    FakeWs idle = new FakeWs("10.0.1.1");
    open(idle); // a socket that has not sent connect yet

    CompletableFuture<Drain.Reason> done = hub.startDrain(30_000);
    clock.runDue();
    assertTrue(hub.draining());
    for (Member m : List.of(a, b, c)) {
      JsonNode d = last(m.ws, "draining");
      assertEquals(30_000, d.path("deadline_ms").asLong());
      assertEquals(-1, m.ws.closeCode, "a member may stay until the deadline");
    }
    assertTrue(last(idle, "error").path("reason").asText().startsWith("draining: "));
    assertEquals(Hub.CLOSE_POLICY, idle.closeCode);

    // a new socket and its connect are refused with the draining error
    FakeWs late = new FakeWs("10.0.2.1");
    open(late);
    assertTrue(last(late, "error").path("reason").asText().startsWith("draining: "), late.read.toString());
    assertEquals(Hub.CLOSE_POLICY, late.closeCode);
    assertTrue(stats.get("signaling.refused.draining") >= 2);

    // members leave on their own: done when the last one has
    for (Member m : List.of(a, b)) {
      hub.text(m.conn, "{\"type\":\"disconnect\"}");
      clock.runDue();
    }
    assertFalse(done.isDone());
    clock.advanceSeconds(10);
    hub.text(c.conn, "{\"type\":\"disconnect\"}");
    clock.runDue();
    assertEquals(Drain.Reason.EMPTY, done.getNow(null));
    assertEquals(CompletableFuture.completedFuture(Drain.Reason.EMPTY).getNow(null),
        hub.startDrain(1).getNow(null), "a second drain is the first one");
  }

  @Test
  void drain_completesWithTimeoutAtTheDeadline_withMembersLeft() {
    Member a = join("room");
    CompletableFuture<Drain.Reason> done = hub.startDrain(20_000);
    clock.runDue();
    assertEquals(20_000, last(a.ws, "draining").path("deadline_ms").asLong());
    clock.advance(19_999_000_000L);
    assertFalse(done.isDone());
    clock.advance(2_000_000L);
    assertEquals(Drain.Reason.TIMEOUT, done.getNow(null));
    assertEquals(-1, a.ws.closeCode, "the caller's shutdown disconnects the rest");
    hub.shutdown();
    assertEquals("server shutting down", last(a.ws, "disconnect").path("reason").asText());
  }

  @Test
  void drain_ofAnEmptyServer_completesAtOnce() {
    CompletableFuture<Drain.Reason> done = hub.startDrain(20_000);
    clock.runDue();
    assertEquals(Drain.Reason.EMPTY, done.getNow(null));
  }
}
