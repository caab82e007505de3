package dev.veil.server.cluster;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * The {@code cluster { ... }} block of the server configuration (docs/PROTOCOL.md §1.9). An empty
 * {@code redis_url} (the default) means no cluster: one process with nothing external, as before.
 *
 * @param redisUrl the directory's Redis ({@code redis://HOST:PORT}), or empty
 * @param nodeId this node's id (random if not configured)
 * @param publicSignalingUrl where clients reach this node ({@code ws(s)://HOST:PORT/signaling}); redirects name it;
 *     empty: {@code ws://<announced_address>:<bound http port>/signaling}
 * @param keyPrefix prefix of every Redis key
 * @param heartbeatMillis how often the node refreshes its entry and its channels' claims
 * @param nodeTtlMillis how long a node entry lives without a heartbeat (how soon a dead node is noticed)
 * @param channelTtlMillis how long a channel claim lives without a refresh
 * @param redisTimeoutMillis timeout of every Redis command
 */
public record ClusterConfig(String redisUrl, String nodeId, String publicSignalingUrl, String keyPrefix,
    long heartbeatMillis, long nodeTtlMillis, long channelTtlMillis, long redisTimeoutMillis) {

  /** No cluster. */
  public static ClusterConfig none() {
    return new ClusterConfig("", "", "", "veil:", 1000, 3000, 10_000, 1000);
  }

  public boolean enabled() {
    return !redisUrl.isEmpty();
  }

  /** This configuration for another node of the same cluster. */
  public ClusterConfig forNode(String id, String signalingUrl) {
    return new ClusterConfig(redisUrl, id, signalingUrl, keyPrefix, heartbeatMillis, nodeTtlMillis, channelTtlMillis,
        redisTimeoutMillis);
  }

  /** A cluster on {@code redisUrl} with the default timings. */
  public static ClusterConfig redis(String redisUrl, String nodeId, String signalingUrl) {
    ClusterConfig d = none();
    return new ClusterConfig(redisUrl, nodeId, signalingUrl, d.keyPrefix, d.heartbeatMillis, d.nodeTtlMillis,
        d.channelTtlMillis, d.redisTimeoutMillis);
  }

  /** This configuration with other timings. */
  public ClusterConfig withTimings(long heartbeat, long nodeTtl, long channelTtl) {
    return new ClusterConfig(redisUrl, nodeId, publicSignalingUrl, keyPrefix, heartbeat, nodeTtl, channelTtl,
        redisTimeoutMillis);
  }

  /** This configuration with another key prefix (several clusters, or tests, on one Redis). */
  public ClusterConfig withKeyPrefix(String prefix) {
    return new ClusterConfig(redisUrl, nodeId, publicSignalingUrl, prefix, heartbeatMillis, nodeTtlMillis,
        channelTtlMillis, redisTimeoutMillis);
  }

  /** The defaults overlaid with {@code file} (if not null): the {@code cluster} block of the server's config file. */
  public static ClusterConfig load(java.io.File file) {
    Config ref = com.typesafe.config.ConfigFactory.parseResources(ClusterConfig.class.getClassLoader(),
        "reference.conf");
    Config c = file == null ? ref : com.typesafe.config.ConfigFactory.parseFile(file).withFallback(ref).resolve();
    return from(c);
  }

  /** Reads {@code cluster { ... }} from a resolved configuration; throws IllegalArgumentException on a bad value. */
  public static ClusterConfig from(Config c) {
    if (!c.hasPath("cluster")) {
      return none();
    }
    try {
      Config k = c.getConfig("cluster");
      String redisUrl = k.hasPath("redis_url") ? k.getString("redis_url").trim() : "";
      ClusterConfig d = none();
      String nodeId = k.hasPath("node_id") ? k.getString("node_id").trim() : "";
      String url = k.hasPath("public_signaling_url") ? k.getString("public_signaling_url").trim() : "";
      String prefix = k.hasPath("key_prefix") ? k.getString("key_prefix") : d.keyPrefix;
      long hb = k.hasPath("heartbeat_millis") ? k.getLong("heartbeat_millis") : d.heartbeatMillis;
      long nodeTtl = k.hasPath("node_ttl_millis") ? k.getLong("node_ttl_millis") : d.nodeTtlMillis;
      long chTtl = k.hasPath("channel_ttl_millis") ? k.getLong("channel_ttl_millis") : d.channelTtlMillis;
      long timeout = k.hasPath("redis_timeout_millis") ? k.getLong("redis_timeout_millis") : d.redisTimeoutMillis;
      if (redisUrl.isEmpty()) {
        return none();
      }
      if (!redisUrl.startsWith("redis://") && !redisUrl.startsWith("rediss://")) {
        throw new IllegalArgumentException("cluster.redis_url must be redis://HOST:PORT or rediss://HOST:PORT");
      }
      if (!url.isEmpty() && !dev.veil.signaling.Redirect.valid(url)) {
        throw new IllegalArgumentException(
            "cluster.public_signaling_url must be ws(s)://HOST:PORT/signaling (clients are redirected to it)");
      }
      if (nodeId.isEmpty()) {
        byte[] b = new byte[6];
        new SecureRandom().nextBytes(b);
        nodeId = "node-" + HexFormat.of().formatHex(b);
      }
      if (!nodeId.matches("[A-Za-z0-9._-]{1,64}")) {
        throw new IllegalArgumentException("cluster.node_id must be 1-64 characters of A-Z a-z 0-9 . _ -");
      }
      if (hb < 100 || nodeTtl < 2 * hb || chTtl < 2 * hb || timeout < 100 || timeout >= nodeTtl) {
        throw new IllegalArgumentException("cluster timings: heartbeat_millis >= 100, node_ttl_millis and "
            + "channel_ttl_millis >= 2 x heartbeat_millis, 100 <= redis_timeout_millis < node_ttl_millis");
      }
      return new ClusterConfig(redisUrl, nodeId, url, prefix, hb, nodeTtl, chTtl, timeout);
    } catch (ConfigException e) {
      throw new IllegalArgumentException("bad cluster configuration: " + e.getMessage());
    }
  }

  @Override
  public String toString() {
    // the Redis URL may carry a password (redis://:secret@host): never printed
    return "ClusterConfig[node " + nodeId + ", " + publicSignalingUrl + ", redis " + (enabled() ? "set" : "none") + "]";
  }
}
