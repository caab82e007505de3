package dev.veil.server.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The cascade's signaling relay on a real redis-server: delivery to the other nodes, epoch fencing, bounds. */
class RedisChannelBusTest {
  @RegisterExtension
  static final RedisServer.PerClass redis = new RedisServer.PerClass();

  @Test
  void messagesReachTheOtherNodesAndAFencedOffOwnersAreDropped() throws Exception {
    List<ChannelBus.Message> atA = new CopyOnWriteArrayList<>();
    List<ChannelBus.Message> atB = new CopyOnWriteArrayList<>();
    RedisClient raw = RedisClient.create(redis.url());
    try (RedisChannelBus a = new RedisChannelBus(redis.url(), "bus:", "a", Duration.ofSeconds(2));
        RedisChannelBus b = new RedisChannelBus(redis.url(), "bus:", "b", Duration.ofSeconds(2));
        StatefulRedisConnection<String, String> rawConn = raw.connect()) {
      a.subscribe("room", atA::add);
      b.subscribe("room", atB::add);
      String join = "{\"type\":\"notify\",\"event_type\":\"connection.created\",\"connection_id\":\"X\"}";
      assertTrue(a.publish("room", 1, join));
      RedisServer.await("b hears a", () -> atB.size() == 1);
      assertEquals(new ChannelBus.Message("room", 1, "a", join), atB.get(0));

      // a was fenced off (b now holds the lease, epoch 2); a message a still sends under epoch 1 is dropped
      String key = "{\"type\":\"e2ee\",\"to\":\"Y\",\"payload\":\"opaque ciphertext\"}";
      assertTrue(b.publish("room", 2, key));
      RedisServer.await("a hears b", () -> atA.size() == 1);
      assertEquals(2, atA.get(0).epoch());
      // a message under epoch 2 from a third node, then a stale one from a: b keeps only the first
      rawConn.sync().publish("bus:relay:room", "{\"epoch\":2,\"from\":\"c\",\"body\":\"{}\"}");
      assertTrue(a.publish("room", 1, "{\"stale\":true}"));
      rawConn.sync().publish("bus:relay:room", "not json");
      rawConn.sync().publish("bus:relay:room", "{\"epoch\":3,\"from\":\"c\"}"); // no body
      rawConn.sync().publish("bus:relay:room", "{\"epoch\":3,\"from\":\"c\",\"body\":\"end\"}");
      RedisServer.await("b got the last one", () -> atB.stream().anyMatch(m -> m.body().equals("end")));
      assertEquals(List.of("a:1", "c:2", "c:3"), atB.stream().map(m -> m.fromNode() + ":" + m.epoch()).toList());
      assertEquals(3, b.dropped(), "the stale, the malformed and the bodiless");
      assertTrue(atA.stream().noneMatch(m -> m.fromNode().equals("a")), "a never hears itself");

      assertFalse(a.publish("room", 3, "x".repeat(ChannelBus.MAX_BODY_CHARS + 1)), "too long: refused");
      b.unsubscribe("room");
      assertTrue(a.publish("room", 3, "{\"after\":true}"));
      rawConn.sync().publish("bus:relay:room", "{\"epoch\":3,\"from\":\"c\",\"body\":\"seen by a\"}");
      RedisServer.await("a got the marker", () -> atA.stream().anyMatch(m -> m.body().equals("seen by a")));
      assertTrue(atB.stream().noneMatch(m -> m.body().contains("after")), "b unsubscribed");
    } finally {
      raw.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
  }
}
