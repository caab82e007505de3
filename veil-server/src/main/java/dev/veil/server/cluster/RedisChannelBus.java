package dev.veil.server.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * {@link ChannelBus} on Redis pub/sub: channel {@code <prefix>relay:<channelId>}, message JSON
 * {@code {"epoch":N,"from":"<node>","body":"<json text>"}}. Pub/sub is at-most-once: a node that misses messages
 * (a reconnect to Redis) loses them, as a member that misses a WebSocket message would; the members' key managers
 * re-key on the joins and leaves they do see.
 */
public final class RedisChannelBus implements ChannelBus {
  private static final ObjectMapper JSON = new ObjectMapper();
  /** Longest pub/sub message parsed (the body escaped in JSON, plus the envelope). */
  static final int MAX_MESSAGE_CHARS = 2 * MAX_BODY_CHARS + 1024;

  private final String prefix;
  private final String nodeId;
  private final RedisClient client;
  private final StatefulRedisConnection<String, String> pub;
  private final StatefulRedisPubSubConnection<String, String> sub;
  private final Map<String, Consumer<Message>> handlers = new ConcurrentHashMap<>();
  private final Map<String, Long> newestEpoch = new ConcurrentHashMap<>();
  private final AtomicLong dropped = new AtomicLong();

  public RedisChannelBus(String redisUrl, String prefix, String nodeId, Duration timeout) {
    this.prefix = prefix;
    this.nodeId = nodeId;
    RedisURI uri = RedisURI.create(redisUrl);
    uri.setTimeout(timeout);
    this.client = RedisClient.create(uri);
    try {
      this.pub = client.connect();
      this.sub = client.connectPubSub();
    } catch (RedisException e) {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
      throw new ClusterDirectory.DirectoryException("cannot reach Redis for the channel bus: " + e.getMessage(), e);
    }
    sub.addListener(new RedisPubSubAdapter<>() {
      @Override
      public void message(String channel, String message) {
        receive(channel, message);
      }
    });
  }

  private String topic(String channelId) {
    return prefix + "relay:" + channelId;
  }

  @Override
  public void subscribe(String channelId, Consumer<Message> handler) {
    handlers.put(channelId, handler);
    call(() -> sub.sync().subscribe(topic(channelId)));
  }

  @Override
  public void unsubscribe(String channelId) {
    handlers.remove(channelId);
    newestEpoch.remove(channelId);
    call(() -> sub.sync().unsubscribe(topic(channelId)));
  }

  @Override
  public boolean publish(String channelId, long epoch, String body) {
    if (body.length() > MAX_BODY_CHARS || epoch < 1) {
      return false;
    }
    ObjectNode o = JSON.createObjectNode();
    o.put("epoch", epoch);
    o.put("from", nodeId);
    o.put("body", body);
    call(() -> pub.sync().publish(topic(channelId), o.toString()));
    return true;
  }

  private void receive(String topic, String message) {
    String p = prefix + "relay:";
    if (!topic.startsWith(p)) {
      return;
    }
    String channelId = topic.substring(p.length());
    Consumer<Message> h = handlers.get(channelId);
    if (h == null) {
      return;
    }
    if (message.length() > MAX_MESSAGE_CHARS) {
      dropped.incrementAndGet();
      return;
    }
    Message m;
    try {
      JsonNode o = JSON.readTree(message);
      JsonNode epoch = o.get("epoch");
      JsonNode from = o.get("from");
      JsonNode body = o.get("body");
      if (epoch == null || !epoch.canConvertToLong() || from == null || !from.isTextual() || body == null
          || !body.isTextual() || body.asText().length() > MAX_BODY_CHARS) {
        dropped.incrementAndGet();
        return;
      }
      m = new Message(channelId, epoch.asLong(), from.asText(), body.asText());
    } catch (Exception e) {
      dropped.incrementAndGet();
      return;
    }
    if (m.fromNode().equals(nodeId)) {
      return; // our own, echoed by Redis
    }
    long newest = newestEpoch.merge(channelId, m.epoch(), Math::max);
    if (m.epoch() < newest) {
      dropped.incrementAndGet(); // sent under a lease that has been replaced
      return;
    }
    h.accept(m);
  }

  private static void call(Runnable r) {
    try {
      r.run();
    } catch (RedisException e) {
      throw new ClusterDirectory.DirectoryException("Redis pub/sub failed: " + e.getMessage(), e);
    }
  }

  @Override
  public long dropped() {
    return dropped.get();
  }

  @Override
  public void close() {
    try {
      sub.close();
      pub.close();
    } finally {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
  }
}
