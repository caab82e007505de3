package dev.veil.server.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Routing decisions and node membership on the in-memory directory and a manual clock (no I/O, no waiting). */
class ChannelRouterTest {
  private static final long NODE_TTL = 3000;
  private static final long CHANNEL_TTL = 10_000;
  private long now = 5_000;
  private final InMemoryDirectory dir = new InMemoryDirectory(() -> now);

  private static NodeInfo node(String id, int connections) {
    return new NodeInfo(id, "ws://127.0.0.1:" + (id.charAt(0) + 1000) + "/signaling", "127.0.0.1:2", connections, 10);
  }

  private Route route(NodeInfo self, String channel) {
    return ChannelRouter.route(dir, self, channel, CHANNEL_TTL);
  }

  @Test
  void aNewChannelGoesToTheLeastLoadedLiveNodeWhichClaimsIt() {
    dir.heartbeat(node("a", 5), NODE_TTL);
    dir.heartbeat(node("b", 2), NODE_TTL);
    dir.heartbeat(node("c", 9), NODE_TTL);
    Route r = route(node("a", 5), "room");
    assertEquals(new Route.Redirect(node("b", 2)), r);
    assertEquals("b", dir.owner("room"));
    // b, reached by the redirected client, finds itself the owner
    assertEquals(new Route.Local(), route(node("b", 2), "room"));
  }

  @Test
  void onATieTheNodeReachedKeepsTheChannelAndOtherwiseTheLowestIdWins() {
    dir.heartbeat(node("a", 3), NODE_TTL);
    dir.heartbeat(node("b", 3), NODE_TTL);
    dir.heartbeat(node("c", 3), NODE_TTL);
    assertEquals(new Route.Local(), route(node("c", 3), "room"));
    assertEquals("c", dir.owner("room"));
    assertEquals("a", ChannelRouter.leastLoaded(List.of(node("b", 1), node("a", 1)), node("z", 4)).nodeId());
  }

  @Test
  void aFullNodeIsPassedOverAndItsOwnLoadCountsAsItIsNow() {
    dir.heartbeat(node("a", 0), NODE_TTL); // a's entry is stale: it is full now
    dir.heartbeat(node("b", 8), NODE_TTL);
    assertEquals(new Route.Redirect(node("b", 8)), route(node("a", 10), "room"));
  }

  @Test
  void aChannelOwnedByALiveNodeIsRedirectedThereWhateverItsLoad() {
    dir.heartbeat(node("a", 9), NODE_TTL);
    dir.heartbeat(node("b", 0), NODE_TTL);
    assertNotNull(dir.claim("room", "a", CHANNEL_TTL));
    assertEquals(new Route.Redirect(node("a", 9)), route(node("b", 0), "room"));
    assertEquals("a", dir.owner("room"));
  }

  @Test
  void whenTheOwnerDiesItsChannelMovesToALiveNodeOnTheNextConnect() {
    dir.heartbeat(node("a", 1), NODE_TTL);
    dir.heartbeat(node("b", 4), NODE_TTL);
    dir.heartbeat(node("c", 2), NODE_TTL);
    assertEquals(new Route.Local(), route(node("a", 1), "room"));
    // a stops beating; b and c go on; the claim (10 s) outlives a's entry (3 s)
    for (int i = 0; i < 3; i++) {
      now += 1000;
      dir.heartbeat(node("b", 4), NODE_TTL);
      dir.heartbeat(node("c", 2), NODE_TTL);
    }
    assertEquals("a", dir.owner("room"), "the stale claim is still there");
    // a member reconnects through b: the least-loaded live node (c) takes the channel over
    assertEquals(new Route.Redirect(node("c", 2)), route(node("b", 4), "room"));
    assertEquals("c", dir.owner("room"));
    assertEquals(new Route.Local(), route(node("c", 2), "room"));
  }

  @Test
  void aNodeStillBeatingIsNotTakenOverEvenWhenSlow() {
    dir.heartbeat(node("a", 0), NODE_TTL);
    dir.heartbeat(node("b", 1), NODE_TTL);
    assertEquals(new Route.Local(), route(node("a", 0), "room"));
    now += NODE_TTL - 1;
    assertEquals(new Route.Redirect(node("a", 0)), route(node("b", 1), "room"));
  }

  @Test
  void claimsThatKeepLosingRacesEndUnavailableAfterBoundedAttempts() {
    List<String> calls = new ArrayList<>();
    ClusterDirectory racing = new ClusterDirectory() {
      @Override public void heartbeat(NodeInfo self, long ttl) { }
      @Override public void deregister(String id) { }
      @Override public List<NodeInfo> liveNodes() { return List.of(node("a", 0)); }
      @Override public Lease lease(String ch) { calls.add("lease"); return null; }
      @Override public Lease claim(String ch, String id, long ttl) { calls.add("claim"); return null; }
      @Override public Lease takeOver(String ch, Lease dead, String id, long ttl) { return null; }
      @Override public boolean refresh(String ch, Lease mine, long ttl) { return false; }
      @Override public void release(String ch, Lease mine) { }
      @Override public boolean addRelay(String ch, Lease owner, String relay, long ttl) { return false; }
      @Override public List<String> relays(String ch) { return List.of(); }
      @Override public void removeRelay(String ch, String relay) { }
      @Override public void close() { }
    };
    Route r = ChannelRouter.route(racing, node("a", 0), "room", CHANNEL_TTL);
    assertInstanceOf(Route.Unavailable.class, r);
    assertEquals(ChannelRouter.ATTEMPTS * 2, calls.size());
  }

  // ------------------------------------------------------------------------------------------- ClusterNode

  private ClusterNode member(String id, int[] load, List<Route> routed) {
    ClusterConfig cfg = ClusterConfig.redis("redis://unused", id, "ws://127.0.0.1:" + (id.charAt(0) + 1000)
        + "/signaling").withTimings(1000, NODE_TTL, CHANNEL_TTL);
    return new ClusterNode(cfg, dir, "127.0.0.1:2", 10, () -> load[0], Runnable::run, Runnable::run);
  }

  @Test
  void aNodeKeepsItsEntryAndItsChannelsClaimsAliveWhileItBeats() {
    int[] load = {0};
    List<Route> routed = new ArrayList<>();
    ClusterNode a = member("a", load, routed);
    a.register();
    a.place("room", routed::add);
    assertEquals(List.of(new Route.Local()), routed);
    a.channelOpened("room");
    load[0] = 4;
    for (int i = 0; i < 30; i++) {
      now += 1000;
      a.tick();
    }
    assertEquals("a", dir.owner("room"));
    assertEquals(4, dir.liveNodes().get(0).connections(), "the heartbeat carries the load");
    a.channelClosed("room");
    assertNull(dir.owner("room"), "the last member left: the claim is released at once");
    assertEquals(0, a.lostClaims());
  }

  @Test
  void leavingDeregistersAtOnceAndAbandoningLetsTheTtlsExpire() {
    int[] load = {0};
    List<Route> routed = new ArrayList<>();
    ClusterNode a = member("a", load, routed);
    ClusterNode b = member("b", load, routed);
    a.register();
    b.register();
    a.place("r1", routed::add);
    a.channelOpened("r1");
    a.leave();
    assertEquals(List.of("b"), dir.liveNodes().stream().map(NodeInfo::nodeId).toList());
    assertNull(dir.owner("r1"));

    b.place("r2", routed::add);
    b.channelOpened("r2");
    b.abandon();
    now += NODE_TTL;
    assertTrue(dir.liveNodes().isEmpty());
    assertEquals("b", dir.owner("r2"), "a crashed node's claim outlives its entry, until a take-over");
    ClusterNode c = member("c", load, routed);
    c.register();
    routed.clear();
    c.place("r2", routed::add);
    assertEquals(List.of(new Route.Local()), routed);
    assertEquals("c", dir.owner("r2"));
  }

  @Test
  void anUnreachableDirectoryAnswersUnavailableAndIsCounted() {
    ClusterDirectory down = (ClusterDirectory) java.lang.reflect.Proxy.newProxyInstance(
        getClass().getClassLoader(), new Class<?>[] {ClusterDirectory.class}, (p, m, args) -> {
          throw new ClusterDirectory.DirectoryException("connection refused", null);
        });
    ClusterConfig cfg = ClusterConfig.redis("redis://unused", "a", "ws://127.0.0.1:1/signaling");
    ClusterNode a = new ClusterNode(cfg, down, "127.0.0.1:2", 10, () -> 0, Runnable::run, Runnable::run);
    List<Route> routed = new ArrayList<>();
    a.place("room", routed::add);
    assertEquals(1, routed.size());
    assertInstanceOf(Route.Unavailable.class, routed.get(0));
    a.tick();
    assertEquals(2, a.directoryErrors());
  }

  // ------------------------------------------------------------------------------------ cascade (§1.9.3)

  private static NodeInfo full(String id) {
    return new NodeInfo(id, "ws://127.0.0.1:1/" + id, "127.0.0.1:2", 10, 10);
  }

  @Test
  void aConnectForAFullOwnerGoesToARelayNodeRecordedUnderItsLease() {
    dir.heartbeat(full("a"), NODE_TTL);
    dir.heartbeat(node("b", 5), NODE_TTL);
    dir.heartbeat(node("c", 2), NODE_TTL);
    Lease lease = dir.claim("big", "a", CHANNEL_TTL);
    Route r = ChannelRouter.routeCascading(dir, node("b", 5), "big", CHANNEL_TTL, CHANNEL_TTL);
    assertEquals(new Route.Relay(full("a"), node("c", 2), lease), r, "the least-loaded node that is not full");
    assertEquals(List.of("c"), dir.relays("big"));
    // c fills up more than b: a channel that has a relay keeps using it while it is not full
    dir.heartbeat(node("c", 8), NODE_TTL);
    assertEquals(new Route.Relay(full("a"), node("c", 8), lease),
        ChannelRouter.routeCascading(dir, node("b", 5), "big", CHANNEL_TTL, CHANNEL_TTL));
    // c full too: b becomes the second relay
    dir.heartbeat(full("c"), NODE_TTL);
    assertEquals(new Route.Relay(full("a"), node("b", 5), lease),
        ChannelRouter.routeCascading(dir, node("b", 5), "big", CHANNEL_TTL, CHANNEL_TTL));
    assertEquals(List.of("b", "c"), dir.relays("big"));
    // everyone full: the plain route (the owner refuses as full)
    dir.heartbeat(full("b"), NODE_TTL);
    assertEquals(new Route.Redirect(full("a")), ChannelRouter.routeCascading(dir, full("b"), "big", CHANNEL_TTL,
        CHANNEL_TTL));
  }

  @Test
  void anOwnerWithRoomAndAFullOwnerReachedDirectlyRouteAsBeforeOrToARelay() {
    dir.heartbeat(node("a", 3), NODE_TTL);
    dir.heartbeat(node("b", 0), NODE_TTL);
    assertNotNull(dir.claim("room", "a", CHANNEL_TTL));
    assertEquals(new Route.Redirect(node("a", 3)),
        ChannelRouter.routeCascading(dir, node("b", 0), "room", CHANNEL_TTL, CHANNEL_TTL));
    assertEquals(List.of(), dir.relays("room"), "no relay while the owner has room");
    dir.heartbeat(full("a"), NODE_TTL);
    Route r = ChannelRouter.routeCascading(dir, full("a"), "room", CHANNEL_TTL, CHANNEL_TTL);
    assertEquals(new Route.Relay(full("a"), node("b", 0), dir.lease("room")), r,
        "the full owner itself sends the connect to a relay");
  }
}
