package dev.veil.server.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.KeyValue;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.SetArgs;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The {@link ClusterDirectory} in Redis (Lettuce, one connection, synchronous commands with a timeout). Keys, under
 * a prefix ({@code veil:} by default):
 *
 * <ul>
 *   <li>{@code <prefix>node:<nodeId>}: the node's JSON entry ({@code signaling_url, media_address, connections,
 *       capacity}), set with {@code PX ttl} on every heartbeat: it expires when the node stops beating;
 *   <li>{@code <prefix>nodes}: the set of node ids ever registered; a listed id whose entry has expired is dropped
 *       from it when seen;
 *   <li>{@code <prefix>channel:<channelId>}: the channel's lease {@code "<nodeId> <epoch>"} with {@code PX ttl},
 *       refreshed by the owner while the channel lives; claim, take-over, refresh and release are Lua
 *       compare-and-set scripts on the whole lease, so no node ever overwrites another live node's lease and a node
 *       whose lease was replaced cannot extend or drop the new one;
 *   <li>{@code <prefix>relays:<channelId>}: the channel's relay nodes (a cascade), a sorted set scored by each
 *       record's expiry in Redis's own clock ({@code TIME}); added only under the owner's current lease;
 *   <li>{@code <prefix>epoch:<channelId>}: the channel's fencing-token counter ({@code INCR} in the claim and
 *       take-over scripts), kept {@link #EPOCH_TTL_MILLIS} after its last change.
 * </ul>
 * Redis's own key expiry does the clock: the nodes' clocks never need to agree.
 */
public final class RedisDirectory implements ClusterDirectory {
  private static final ObjectMapper JSON = new ObjectMapper();
  // KEYS[1] the lease, KEYS[2] the channel's epoch counter; the new lease is "<node> <epoch>"
  private static final String CLAIM = "if redis.call('exists', KEYS[1]) == 1 then return 0 end "
      + "local e = redis.call('incr', KEYS[2]) redis.call('pexpire', KEYS[2], ARGV[3]) "
      + "redis.call('set', KEYS[1], ARGV[1] .. ' ' .. e, 'PX', ARGV[2]) return e";
  private static final String TAKE_OVER = "local v = redis.call('get', KEYS[1]) "
      + "if v ~= false and v ~= ARGV[1] then return 0 end "
      + "local e = redis.call('incr', KEYS[2]) redis.call('pexpire', KEYS[2], ARGV[4]) "
      + "redis.call('set', KEYS[1], ARGV[2] .. ' ' .. e, 'PX', ARGV[3]) return e";
  // KEYS[1] the lease, KEYS[2] the relay zset (member: node id, score: expiry in Redis's own milliseconds)
  private static final String ADD_RELAY = "if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end "
      + "local t = redis.call('time') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) "
      + "redis.call('zadd', KEYS[2], now + tonumber(ARGV[3]), ARGV[2]) "
      + "local keep = redis.call('pttl', KEYS[2]) "
      + "if keep < tonumber(ARGV[3]) then redis.call('pexpire', KEYS[2], ARGV[3]) end return 1";
  private static final String RELAYS = "local t = redis.call('time') "
      + "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) "
      + "redis.call('zremrangebyscore', KEYS[1], '-inf', now) return redis.call('zrange', KEYS[1], 0, -1)";
  private static final String REFRESH = "if redis.call('get', KEYS[1]) == ARGV[1] then "
      + "return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0";
  private static final String RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then "
      + "return redis.call('del', KEYS[1]) end return 0";

  /** How long a channel's epoch counter outlives its last claim (far beyond any lease a stale node could hold). */
  static final long EPOCH_TTL_MILLIS = 24L * 3600 * 1000;

  private final String prefix;
  private final RedisClient client;
  private final StatefulRedisConnection<String, String> connection;
  private RedisCommands<String, String> redis;

  /**
   * Connects to {@code redisUrl} ({@code redis://HOST:PORT[/DB]}, Lettuce's URI syntax); every command times out
   * after {@code timeout}.
   */
  public RedisDirectory(String redisUrl, String prefix, Duration timeout) {
    this.prefix = prefix;
    RedisURI uri = RedisURI.create(redisUrl);
    // connecting (at the server's start: class loading, Netty set-up) may take longer than one command may
    uri.setTimeout(timeout.compareTo(CONNECT_TIMEOUT) > 0 ? timeout : CONNECT_TIMEOUT);
    this.client = RedisClient.create(uri);
    client.setOptions(ClientOptions.builder()
        .autoReconnect(true)
        .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
        .timeoutOptions(TimeoutOptions.enabled(timeout))
        .build());
    try {
      this.connection = client.connect();
    } catch (RedisException e) {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
      throw new DirectoryException("cannot reach Redis at " + uri.getHost() + ":" + uri.getPort() + ": "
          + e.getMessage(), e);
    }
    try {
      connection.sync().ping(); // the first command (class loading, JIT) under the connect timeout too
    } catch (RedisException e) {
      close();
      throw new DirectoryException("Redis at " + uri.getHost() + ":" + uri.getPort() + " does not answer: "
          + e.getMessage(), e);
    }
    connection.setTimeout(timeout);
    this.redis = connection.sync();
  }

  /** The longest the first connection to Redis may take. */
  private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);

  private String nodeKey(String id) {
    return prefix + "node:" + id;
  }

  private String channelKey(String id) {
    return prefix + "channel:" + id;
  }

  private String epochKey(String id) {
    return prefix + "epoch:" + id;
  }

  private String relaysKey(String id) {
    return prefix + "relays:" + id;
  }

  private String nodesKey() {
    return prefix + "nodes";
  }

  private interface Call<T> {
    T run();
  }

  private static <T> T call(String what, Call<T> c) {
    try {
      return c.run();
    } catch (RedisException e) {
      throw new DirectoryException("Redis " + what + " failed: " + e.getMessage(), e);
    }
  }

  @Override
  public void heartbeat(NodeInfo self, long ttlMillis) {
    ObjectNode o = JSON.createObjectNode();
    o.put("signaling_url", self.signalingUrl());
    o.put("media_address", self.mediaAddress());
    o.put("connections", self.connections());
    o.put("capacity", self.capacity());
    call("heartbeat", () -> {
      redis.set(nodeKey(self.nodeId()), o.toString(), SetArgs.Builder.px(ttlMillis));
      return redis.sadd(nodesKey(), self.nodeId());
    });
  }

  @Override
  public void deregister(String nodeId) {
    call("deregister", () -> {
      redis.del(nodeKey(nodeId));
      return redis.srem(nodesKey(), nodeId);
    });
  }

  @Override
  public List<NodeInfo> liveNodes() {
    return call("node list", () -> {
      Set<String> ids = redis.smembers(nodesKey());
      List<NodeInfo> out = new ArrayList<>();
      if (ids.isEmpty()) {
        return out;
      }
      List<String> idList = new ArrayList<>(ids);
      String[] keys = idList.stream().map(this::nodeKey).toArray(String[]::new);
      List<KeyValue<String, String>> values = redis.mget(keys);
      for (int i = 0; i < values.size(); i++) {
        String id = idList.get(i);
        KeyValue<String, String> kv = values.get(i);
        NodeInfo n = kv.hasValue() ? parse(id, kv.getValue()) : null;
        if (n != null) {
          out.add(n);
        } else if (!kv.hasValue()) {
          redis.srem(nodesKey(), id); // expired: a dead node (it adds itself back if it beats again)
        }
      }
      return out;
    });
  }

  /** A node entry, or null if it is not one (another program's key: ignored, never trusted). */
  private static NodeInfo parse(String id, String json) {
    try {
      JsonNode o = JSON.readTree(json);
      return new NodeInfo(id, o.path("signaling_url").asText(), o.path("media_address").asText(),
          o.path("connections").asInt(), Math.max(1, o.path("capacity").asInt(1)));
    } catch (Exception e) {
      return null;
    }
  }

  @Override
  public Lease lease(String channelId) {
    return Lease.decode(call("lease", () -> redis.get(channelKey(channelId))));
  }

  private Lease granted(Long epoch, String nodeId) {
    return epoch == null || epoch < 1 ? null : new Lease(nodeId, epoch);
  }

  @Override
  public Lease claim(String channelId, String nodeId, long ttlMillis) {
    Long e = call("claim", () -> redis.eval(CLAIM, ScriptOutputType.INTEGER,
        new String[] {channelKey(channelId), epochKey(channelId)}, nodeId, Long.toString(ttlMillis),
        Long.toString(EPOCH_TTL_MILLIS)));
    return granted(e, nodeId);
  }

  @Override
  public Lease takeOver(String channelId, Lease dead, String nodeId, long ttlMillis) {
    Long e = call("take-over", () -> redis.eval(TAKE_OVER, ScriptOutputType.INTEGER,
        new String[] {channelKey(channelId), epochKey(channelId)}, dead.encode(), nodeId, Long.toString(ttlMillis),
        Long.toString(EPOCH_TTL_MILLIS)));
    return granted(e, nodeId);
  }

  @Override
  public boolean refresh(String channelId, Lease mine, long ttlMillis) {
    Long r = call("refresh", () -> redis.eval(REFRESH, ScriptOutputType.INTEGER,
        new String[] {channelKey(channelId)}, mine.encode(), Long.toString(ttlMillis)));
    return r != null && r == 1L;
  }

  @Override
  public void release(String channelId, Lease mine) {
    call("release", () -> redis.eval(RELEASE, ScriptOutputType.INTEGER, new String[] {channelKey(channelId)},
        mine.encode()));
  }

  @Override
  public boolean addRelay(String channelId, Lease owner, String relayNode, long ttlMillis) {
    Long r = call("add relay", () -> redis.eval(ADD_RELAY, ScriptOutputType.INTEGER,
        new String[] {channelKey(channelId), relaysKey(channelId)}, owner.encode(), relayNode,
        Long.toString(ttlMillis)));
    return r != null && r == 1L;
  }

  @Override
  public List<String> relays(String channelId) {
    List<String> r = call("relays", () -> redis.eval(RELAYS, ScriptOutputType.MULTI,
        new String[] {relaysKey(channelId)}));
    List<String> out = new ArrayList<>(r == null ? List.of() : r);
    java.util.Collections.sort(out);
    return out;
  }

  @Override
  public void removeRelay(String channelId, String relayNode) {
    call("remove relay", () -> redis.zrem(relaysKey(channelId), relayNode));
  }

  /** The remaining TTL of a channel claim in milliseconds (Redis PTTL: -2 no key, -1 no expiry); for tests. */
  long channelTtlMillis(String channelId) {
    return call("pttl", () -> redis.pttl(channelKey(channelId)));
  }

  /** The remaining TTL of a node entry in milliseconds (as {@link #channelTtlMillis}); for tests. */
  long nodeTtlMillis(String nodeId) {
    return call("pttl", () -> redis.pttl(nodeKey(nodeId)));
  }

  @Override
  public void close() {
    try {
      connection.close();
    } finally {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
  }
}
