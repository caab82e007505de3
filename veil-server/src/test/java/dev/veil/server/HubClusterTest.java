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
    return node(id, dir);
  }

  private Node node(String id, dev.veil.server.cluster.ClusterDirectory directory) {
    Stats stats = new Stats();
    Hub hub = fx.hub(ServerConfig.defaults(), stats);
    ClusterConfig cc = ClusterConfig.redis("redis://unused", id, "ws://127.0.0.1:" + (7000 + id.charAt(0))
        + "/signaling");
    ClusterNode cn = new ClusterNode(cc, directory, "127.0.0.1:50000", 100, stats::connections, Runnable::run,
        task -> clock.schedule(0, task), () -> nowMillis);
    cn.register();
    hub.placement = cn;
    cn.onLeaseLost(hub::leaseLost);
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

  // ------------------------------------------------------------------------------- split-brain (§1.9.4)

  /** Moves the manual clock by one heartbeat; the nodes in {@code beating} beat. */
  private void second(Node... beating) {
    nowMillis += 1000;
    for (Node n : beating) {
      n.cluster().tick();
    }
    clock.runDue();
  }

  @Test
  void aNodeThatMissedItsHeartbeatsAndWasTakenOverSendsItsMembersAwayOnItsNextBeat() {
    Node a = node("a");
    Node b = node("b");
    FakeWs m1 = connect(a.hub(), "room");
    FakeWs m2 = connect(a.hub(), "room");
    assertEquals(new dev.veil.server.cluster.Lease("a", 1), dir.lease("room"));
    second(a, b);
    // a stalls (a long GC pause, a stuck I/O thread): it is alive, its members still there, but it does not beat
    second(b);
    second(b);
    second(b);
    assertEquals(List.of("b"), dir.liveNodes().stream().map(dev.veil.server.cluster.NodeInfo::nodeId).toList());
    FakeWs m3 = connect(b.hub(), "room");
    assertEquals("offer", m3.read.get(0).path("type").asText(), "b took the channel over");
    assertEquals(new dev.veil.server.cluster.Lease("b", 2), dir.lease("room"));
    assertEquals(1, a.hub().channelCount(), "two copies of the channel for now: a has not noticed yet");
    assertEquals(-1, m1.closeCode);

    second(a, b); // a's next beat: its refresh is fenced off by epoch 2
    assertEquals(Hub.CHANNEL_MOVED, errorOf(m1));
    assertEquals(Hub.CHANNEL_MOVED, errorOf(m2));
    assertEquals(Hub.CLOSE_GOING_AWAY, m1.closeCode);
    assertEquals(Hub.CLOSE_GOING_AWAY, m2.closeCode);
    assertEquals(0, a.hub().channelCount(), "no split channel left");
    assertEquals(1, a.cluster().lostClaims());
    assertEquals(1, a.stats().get("cluster.leases_lost"));
    assertEquals(new dev.veil.server.cluster.Lease("b", 2), dir.lease("room"), "a's leaving did not touch b's lease");
    assertEquals(-1, m3.closeCode, "b's member stays");
    // the members reconnect (the SDKs do it on their own) and are routed to b
    FakeWs back = connect(a.hub(), "room");
    assertEquals(List.of("redirect"), back.types());
    assertEquals("ws://127.0.0.1:7098/signaling", back.read.get(0).path("location").asText());
  }

  @Test
  void aPartitionedNodeGivesItsChannelsUpBeforeAnotherNodeCanTakeThemOver() {
    boolean[] partitioned = {false};
    dev.veil.server.cluster.ClusterDirectory cut = partitionable(partitioned);
    Node a = node("a", cut);
    Node b = node("b");
    FakeWs m1 = connect(a.hub(), "room");
    second(a, b);
    partitioned[0] = true; // a cannot reach the directory any more; b and the directory go on
    second(a, b);
    assertEquals(-1, m1.closeCode, "one failed beat: a keeps its channel");
    assertEquals(1, a.hub().channelCount());
    second(a, b);
    assertEquals(Hub.CHANNEL_MOVED, errorOf(m1),
        "one heartbeat before a's entry can expire, a sends its members away");
    assertEquals(0, a.hub().channelCount());
    assertEquals("a", dir.owner("room"), "the directory still shows a: nobody could take over yet");
    FakeWs viaB = connect(b.hub(), "room");
    assertEquals(List.of("redirect"), viaB.types(), "a's entry has not expired yet: b still sends members to a");
    second(b);
    FakeWs later = connect(b.hub(), "room");
    assertEquals("offer", later.read.get(0).path("type").asText(), "a's entry expired: b takes the channel over");
    assertEquals(new dev.veil.server.cluster.Lease("b", 2), dir.lease("room"));
    partitioned[0] = false; // the partition heals: a beats again and hosts nothing of "room"
    second(a, b);
    assertEquals(0, a.hub().channelCount());
    assertEquals(new dev.veil.server.cluster.Lease("b", 2), dir.lease("room"));
    assertEquals(1, a.cluster().lostClaims());
  }

  /** The reason of the {@code error} {@code ws} got since its last read (every message read). */
  private static String errorOf(FakeWs ws) {
    return ws.read().stream().filter(m -> m.path("type").asText().equals("error")).map(m -> m.path("reason").asText())
        .findFirst().orElse("(no error)");
  }

  /** {@link #dir} as seen from a node that a partition can cut off from it (every call throws meanwhile). */
  private dev.veil.server.cluster.ClusterDirectory partitionable(boolean[] partitioned) {
    return (dev.veil.server.cluster.ClusterDirectory) java.lang.reflect.Proxy.newProxyInstance(
        getClass().getClassLoader(), new Class<?>[] {dev.veil.server.cluster.ClusterDirectory.class},
        (proxy, method, args) -> {
          if (partitioned[0] && !method.getName().equals("close")) {
            throw new dev.veil.server.cluster.ClusterDirectory.DirectoryException("partitioned", null);
          }
          try {
            return method.invoke(dir, args);
          } catch (java.lang.reflect.InvocationTargetException e) {
            throw e.getCause();
          }
        });
  }
}
