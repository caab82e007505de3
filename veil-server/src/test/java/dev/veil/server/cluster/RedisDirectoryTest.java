package dev.veil.server.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The directory contract against a real redis-server started for this class, plus Redis-side TTLs. */
class RedisDirectoryTest extends DirectoryContract {
  private static RedisServer redis;
  private static int run;
  private RedisDirectory dir;

  @BeforeAll
  static void startRedis() throws Exception {
    redis = new RedisServer();
  }

  @AfterAll
  static void stopRedis() throws Exception {
    redis.close();
  }

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
    assertTrue(dir.claim("room", "a", 10_000));
    long c = dir.channelTtlMillis("room");
    assertTrue(c > 3000 && c <= 10_000, "claim TTL " + c);
    assertTrue(dir.refresh("room", "a", 50_000));
    assertTrue(dir.channelTtlMillis("room") > 10_000, "refresh sets a new TTL");
    assertTrue(dir.takeOver("room", "a", "b", 20_000));
    long d = dir.channelTtlMillis("room");
    assertTrue(d > 10_000 && d <= 20_000, "take-over sets its own TTL " + d);
  }

  @Test
  void anExpiredNodeLeavesTheListAndAnExpiredClaimFreesTheChannel() throws Exception {
    dir.heartbeat(node("short", 0), 100);
    dir.heartbeat(node("long", 0), 60_000);
    assertTrue(dir.claim("room", "short", 100));
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
}
