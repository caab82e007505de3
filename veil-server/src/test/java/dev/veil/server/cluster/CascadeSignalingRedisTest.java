package dev.veil.server.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Two nodes' cascade signaling on a real redis-server: each node's members are announced to the other, and an E2EE
 * key message addressed to a member of the other node crosses through Redis byte for byte (opaque to the nodes).
 */
class CascadeSignalingRedisTest {
  @RegisterExtension
  static final RedisServer.PerClass redis = new RedisServer.PerClass();

  /** Runs {@code r} on {@code loop} and waits for it. */
  private static void on(ExecutorService loop, Runnable r) throws Exception {
    loop.submit(r).get(30, TimeUnit.SECONDS);
  }

  @Test
  void membersAndAKeyMessageCrossNodesThroughRedis() throws Exception {
    ExecutorService loopA = Executors.newSingleThreadExecutor();
    ExecutorService loopB = Executors.newSingleThreadExecutor();
    List<CascadeCoordinator.Output> atA = new CopyOnWriteArrayList<>();
    List<CascadeCoordinator.Output> atB = new CopyOnWriteArrayList<>();
    long[] clock = {1000};
    try (RedisChannelBus busA = new RedisChannelBus(redis.url(), "cs:", "A", Duration.ofSeconds(2));
        RedisChannelBus busB = new RedisChannelBus(redis.url(), "cs:", "B", Duration.ofSeconds(2))) {
      CascadeSignaling a = new CascadeSignaling(new CascadeCoordinator(1000, 3000, 64), busA, loopA,
          () -> clock[0], atA::add);
      CascadeSignaling b = new CascadeSignaling(new CascadeCoordinator(1000, 3000, 64), busB, loopB,
          () -> clock[0], atB::add);
      on(loopA, () -> a.localJoined("room", 4, "pub", "sendonly", null));
      // B's subscription to the channel is in place once its own first message is through: A answers its roster
      on(loopB, () -> b.localJoined("room", 4, "sub", "recvonly", null));
      RedisServer.await("A hears of sub", () -> atA.contains(
          new CascadeCoordinator.Output.RemoteJoined("room", "sub", "B", "recvonly", null)));
      RedisServer.await("B hears of pub", () -> atB.contains(
          new CascadeCoordinator.Output.RemoteJoined("room", "pub", "A", "sendonly", null)));

      String key = "{\"type\":\"e2ee\",\"from\":\"pub\",\"payload\":\"q83vEjRWeJA=\"}";
      boolean[] sent = {false, true};
      on(loopA, () -> {
        sent[0] = a.relayTo("room", "sub", key);
        sent[1] = a.relayTo("room", "pub-not-remote", key);
      });
      assertTrue(sent[0]);
      assertFalse(sent[1]);
      RedisServer.await("the key message reaches sub's node",
          () -> atB.contains(new CascadeCoordinator.Output.Deliver("room", "sub", key)));

      on(loopB, () -> b.localLeft("room", "sub"));
      RedisServer.await("A hears sub leave",
          () -> atA.contains(new CascadeCoordinator.Output.RemoteLeft("room", "sub", "B", "recvonly")));
      assertEquals(1, atB.stream().filter(o -> o instanceof CascadeCoordinator.Output.Deliver).count());
    } finally {
      loopA.shutdownNow();
      loopB.shutdownNow();
    }
  }
}
