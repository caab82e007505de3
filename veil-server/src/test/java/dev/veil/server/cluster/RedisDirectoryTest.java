package dev.veil.server.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The directory contract against a real redis-server started for this class, plus Redis-side TTLs. */
class RedisDirectoryTest extends DirectoryContract {
  @RegisterExtension
  static final RedisServer.PerClass redis = new RedisServer.PerClass();
  private static int run;
  private RedisDirectory dir;

  @BeforeEach
  void open() {
    dir = new RedisDirectory(redis.url(), "t" + (++run) + ":", Duration.ofSeconds(2));
  }

  @AfterEach
  void closeDir() {
    dir.close();
  }

  @Override
  ClusterDirectory dir() {
    return dir;
  }

  @Test
  void entriesCarryRedisTtlsThatRefreshesRenew() {
    dir.heartbeat(node("a", 0), 3000);
    long t = dir.nodeTtlMillis("a");
    assertTrue(t > 0 && t <= 3000, "node entry TTL " + t);
    Lease a = dir.claim("room", "a", 10_000);
    long c = dir.channelTtlMillis("room");
    assertTrue(c > 3000 && c <= 10_000, "claim TTL " + c);
    assertTrue(dir.refresh("room", a, 50_000));
    assertTrue(dir.channelTtlMillis("room") > 10_000, "refresh sets a new TTL");
    assertNotNull(dir.takeOver("room", a, "b", 20_000));
    long d = dir.channelTtlMillis("room");
    assertTrue(d > 10_000 && d <= 20_000, "take-over sets its own TTL " + d);
  }

  @Test
  void anExpiredNodeLeavesTheListAndAnExpiredClaimFreesTheChannel() throws Exception {
    dir.heartbeat(node("short", 0), 100);
    dir.heartbeat(node("long", 0), 60_000);
    assertNotNull(dir.claim("room", "short", 100));
    // Redis expires the keys itself; wait for it (bounded), not for a fixed time
    long deadline = System.nanoTime() + 5_000_000_000L;
    while ((dir.owner("room") != null || dir.liveNodes().size() != 1) && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    assertNull(dir.owner("room"));
    assertEquals("long", dir.liveNodes().get(0).nodeId());
    assertEquals(1, dir.liveNodes().size());
  }

  @Test
  void anUnreachableRedisIsADirectoryException() throws Exception {
    int port;
    try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
      port = s.getLocalPort();
    }
    assertThrows(ClusterDirectory.DirectoryException.class,
        () -> new RedisDirectory("redis://127.0.0.1:" + port, "x:", Duration.ofMillis(500)));
  }

  // ----------------------------------------------------------------------------- split-brain on Redis (§1.9.4)

  private ClusterNode clusterNode(String id, ClusterDirectory d, long[] now, List<String> lost) {
    ClusterConfig cfg = ClusterConfig.redis(redis.url(), id, "ws://127.0.0.1:" + (7000 + id.charAt(0))
        + "/signaling");
    ClusterNode n = new ClusterNode(cfg, d, "127.0.0.1:2", 10, () -> 0, Runnable::run, Runnable::run,
        () -> now[0]);
    n.onLeaseLost((ch, owner) -> lost.add(ch + "->" + (owner == null ? "?" : owner.nodeId())));
    n.register();
    return n;
  }

  @Test
  void aNodeFencedOffByATakeOverInRedisGivesTheChannelUp() {
    long[] now = {0};
    List<String> lostA = new ArrayList<>();
    List<String> lostB = new ArrayList<>();
    ClusterNode a = clusterNode("a", dir, now, lostA);
    ClusterNode b = clusterNode("b", dir, now, lostB);
    List<Route> routes = new ArrayList<>();
    a.place("room", routes::add);
    a.channelOpened("room");
    assertEquals(new Lease("a", 1), a.leaseOf("room"));
    dir.deregister("a"); // a's entry is gone (it missed its heartbeats), a itself is alive and hosts the channel
    b.place("room", routes::add);
    assertEquals(List.of(new Route.Local(), new Route.Local()), routes, "b took the channel over");
    b.channelOpened("room");
    assertEquals(new Lease("b", 2), b.leaseOf("room"));
    a.tick(); // a beats again: its refresh names epoch 1, Redis holds epoch 2
    assertEquals(List.of("room->b"), lostA);
    assertNull(a.leaseOf("room"));
    assertEquals(Set.of(), a.hosted());
    assertEquals(new Lease("b", 2), dir.lease("room"), "a did not touch b's lease");
    b.tick();
    assertEquals(List.of(), lostB);
    a.channelClosed("room"); // a's last member left: nothing of b's is released
    assertEquals(new Lease("b", 2), dir.lease("room"));
  }

  @Test
  void aNodeCutOffFromRedisGivesItsChannelsUpBeforeItsEntryExpires() {
    long[] now = {0};
    List<String> lost = new ArrayList<>();
    RedisDirectory own = new RedisDirectory(redis.url(), "t" + run + ":", Duration.ofSeconds(2));
    ClusterNode a = clusterNode("a", own, now, lost);
    a.place("room", r -> { });
    a.channelOpened("room");
    assertEquals(new Lease("a", 1), dir.lease("room"));
    own.close(); // a's only way to Redis is gone: every command fails
    now[0] += 1000;
    a.tick();
    assertEquals(List.of(), lost, "one failed beat is not enough");
    now[0] += 1000;
    a.tick();
    assertEquals(List.of("room->?"), lost, "given up one heartbeat before the 3 s node TTL could expire");
    assertTrue(a.directoryErrors() >= 4);
  }
}
