package dev.veil.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.veil.server.cluster.ChannelPlacement;
import dev.veil.server.cluster.ClusterConfig;
import dev.veil.server.cluster.ClusterNode;
import dev.veil.server.cluster.InMemoryDirectory;
import dev.veil.server.cluster.Route;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/** Two hubs sharing one in-memory directory on a manual clock: routing of connects, claims, redirects. */
class HubClusterTest {
  private final HubFixture fx = new HubFixture();
  private final ManualScheduler clock = fx.clock;
  private long nowMillis = 10_000;
  private final InMemoryDirectory dir = new InMemoryDirectory(() -> nowMillis);
  private final java.util.Map<FakeWs, Conn> conns = new java.util.HashMap<>();


  /** A hub with its cluster node, the directory calls inline (deliveries on the hub's manual scheduler). */
  private record Node(Hub hub, Stats stats, ClusterNode cluster) { }

  private Node node(String id) {
    Stats stats = new Stats();
    Hub hub = fx.hub(ServerConfig.defaults(), stats);
    ClusterConfig cc = ClusterConfig.redis("redis://unused", id, "ws://127.0.0.1:" + (7000 + id.charAt(0))
        + "/signaling");
    ClusterNode cn = new ClusterNode(cc, dir, "127.0.0.1:50000", 100, stats::connections, Runnable::run,
        task -> clock.schedule(0, task));
    cn.register();
    hub.placement = cn;
    return new Node(hub, stats, cn);
  }

  private FakeWs connect(Hub hub, String channel) {
    FakeWs ws = fx.socket();
    Conn c = fx.open(hub, ws);
    conns.put(ws, c);
    List<JsonNode> got = fx.connect(hub, c, ws,
        "{\"type\":\"connect\",\"role\":\"sendrecv\",\"channel_id\":\"" + channel + "\"}");
    if (!got.isEmpty() && got.get(0).path("type").asText().equals("offer")) {
      ws.read();
    }
    return ws;
  }

  @Test
  void aConnectToTheNonOwnerIsRedirectedToTheOwnersSignalingUrl() {
    Node a = node("a");
    Node b = node("b");
    FakeWs first = connect(a.hub(), "room");
    assertEquals("offer", first.read.get(0).path("type").asText(), "a new channel stays on the node reached (tie)");
    assertEquals("a", dir.owner("room"));

    FakeWs second = connect(b.hub(), "room");
    assertEquals(List.of("redirect"), second.types());
    assertEquals("ws://127.0.0.1:7097/signaling", second.read.get(0).path("location").asText());
    assertEquals(Hub.CLOSE_NORMAL, second.closeCode);
    assertEquals(1, b.stats().get("signaling.redirects"));
    assertEquals(0, b.hub().channelCount(), "the non-owner hosts nothing");
    assertEquals(0, b.stats().connections());

    FakeWs followed = connect(a.hub(), "room");
    assertEquals("offer", followed.read.get(0).path("type").asText());
    assertEquals(2, a.stats().connections());
  }

  @Test
  void aNewChannelGoesToTheLeastLoadedNodeAndTheLastLeaveReleasesTheClaim() {
    Node a = node("a");
    Node b = node("b");
    FakeWs m1 = connect(a.hub(), "one");
    FakeWs m2 = connect(a.hub(), "one");
    a.cluster().tick();
    b.cluster().tick();
    FakeWs viaA = connect(a.hub(), "two");
    assertEquals(List.of("redirect"), viaA.types(), "a hosts 2 connections, b none: b gets the new channel");
    assertEquals("ws://127.0.0.1:7098/signaling", viaA.read.get(0).path("location").asText());
    assertEquals("b", dir.owner("two"));
    FakeWs onB = connect(b.hub(), "two");
    assertEquals("offer", onB.read.get(0).path("type").asText());
    assertEquals(List.of("one"), List.copyOf(a.cluster().hosted()));
    assertEquals(List.of("two"), List.copyOf(b.cluster().hosted()));

    // the members of "one" leave (their sockets close, as Jetty reports it): a releases the claim at once
    a.hub().closed(conns.get(m1));
    clock.runDue();
    assertEquals("a", dir.owner("one"), "one member is still there");
    a.hub().closed(conns.get(m2));
    clock.runDue();
    assertNull(dir.owner("one"));
    assertEquals(List.of(), List.copyOf(a.cluster().hosted()));
  }


  @Test
  void noRoutingAnswerInTimeRefusesWithClusterUnavailable() {
    Stats stats = new Stats();
    Hub hub = fx.hub(ServerConfig.defaults(), stats);
    List<Consumer<Route>> pending = new ArrayList<>();
    hub.placement = new ChannelPlacement() {
      @Override
      public void place(String channelId, Consumer<Route> done) {
        pending.add(done);
      }

      @Override
      public void channelOpened(String channelId) { }

      @Override
      public void channelClosed(String channelId) { }
    };
    FakeWs ws = connect(hub, "room");
    assertTrue(ws.read.isEmpty(), "held until the cluster answers");
    clock.advanceSeconds(4.9);
    assertEquals(-1, ws.closeCode);
    clock.advanceSeconds(0.2);
    assertTrue(ws.read().get(0).path("reason").asText().startsWith("cluster_unavailable: "));
    assertEquals(Hub.CLOSE_POLICY, ws.closeCode);
    pending.get(0).accept(new Route.Local()); // late: ignored
    clock.runDue();
    assertEquals(0, hub.channelCount());

    FakeWs down = connect(hub, "room");
    pending.get(1).accept(new Route.Unavailable("the cluster directory is unreachable"));
    clock.runDue();
    assertEquals("cluster_unavailable: the cluster directory is unreachable; try again",
        down.read().get(0).path("reason").asText());
    assertEquals(2, stats.get("signaling.refused.cluster_unavailable"));
  }

  @Test
  void withoutAClusterEveryChannelIsLocal() {
    Stats stats = new Stats();
    Hub hub = fx.hub(ServerConfig.defaults(), stats);
    FakeWs ws = connect(hub, "room");
    assertEquals("offer", ws.read.get(0).path("type").asText());
    assertNull(dir.owner("room"));
  }
}
