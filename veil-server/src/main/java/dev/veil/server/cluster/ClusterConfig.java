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
 * @param relaySecret the cascade's node-link secret ({@code cluster.relay_secret}, base64 of 32 bytes or more, the
 *     same on every node; docs/PROTOCOL.md §1.9.3), or empty: no cascade. Never printed; the accessor copies.
 */
public record ClusterConfig(String redisUrl, String nodeId, String publicSignalingUrl, String keyPrefix,
    long heartbeatMillis, long nodeTtlMillis, long channelTtlMillis, long redisTimeoutMillis, byte[] relaySecret) {

  /** Shortest relay secret accepted (bytes, after base64). */
  public static final int MIN_RELAY_SECRET_BYTES = 32;

  public ClusterConfig {
    relaySecret = relaySecret == null ? new byte[0] : relaySecret.clone();
  }

  /** Without a relay secret (no cascade). */
  public ClusterConfig(String redisUrl, String nodeId, String publicSignalingUrl, String keyPrefix,
      long heartbeatMillis, long nodeTtlMillis, long channelTtlMillis, long redisTimeoutMillis) {
    this(redisUrl, nodeId, publicSignalingUrl, keyPrefix, heartbeatMillis, nodeTtlMillis, channelTtlMillis,
        redisTimeoutMillis, null);
  }

  @Override
  public byte[] relaySecret() {
    return relaySecret.clone();
  }

  /** A cluster whose channels may cascade: it has Redis and a relay secret. */
  public boolean cascade() {
    return enabled() && relaySecret.length >= MIN_RELAY_SECRET_BYTES;
  }

  /** This configuration with {@code secret} as the relay secret (tests; a file sets {@code relay_secret}). */
  public ClusterConfig withRelaySecret(byte[] secret) {
    if (secret.length < MIN_RELAY_SECRET_BYTES) {
      throw new IllegalArgumentException("cluster.relay_secret must be at least " + MIN_RELAY_SECRET_BYTES + " bytes");
    }
    return new ClusterConfig(redisUrl, nodeId, publicSignalingUrl, keyPrefix, heartbeatMillis, nodeTtlMillis,
        channelTtlMillis, redisTimeoutMillis, secret);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ClusterConfig c && redisUrl.equals(c.redisUrl) && nodeId.equals(c.nodeId)
        && publicSignalingUrl.equals(c.publicSignalingUrl) && keyPrefix.equals(c.keyPrefix)
        && heartbeatMillis == c.heartbeatMillis && nodeTtlMillis == c.nodeTtlMillis
        && channelTtlMillis == c.channelTtlMillis && redisTimeoutMillis == c.redisTimeoutMillis
        && java.security.MessageDigest.isEqual(relaySecret, c.relaySecret);
  }

  @Override
  public int hashCode() {
    return java.util.Objects.hash(redisUrl, nodeId, publicSignalingUrl, keyPrefix, heartbeatMillis, nodeTtlMillis,
        channelTtlMillis, redisTimeoutMillis, relaySecret.length);
  }

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
        redisTimeoutMillis, relaySecret);
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
        redisTimeoutMillis, relaySecret);
  }

  /** This configuration with another key prefix (several clusters, or tests, on one Redis). */
  public ClusterConfig withKeyPrefix(String prefix) {
    return new ClusterConfig(redisUrl, nodeId, publicSignalingUrl, prefix, heartbeatMillis, nodeTtlMillis,
        channelTtlMillis, redisTimeoutMillis, relaySecret);
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
      byte[] secret = relaySecret(k.hasPath("relay_secret") ? k.getString("relay_secret").trim() : "");
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
      return new ClusterConfig(redisUrl, nodeId, url, prefix, hb, nodeTtl, chTtl, timeout, secret);
    } catch (ConfigException e) {
      throw new IllegalArgumentException("bad cluster configuration: " + e.getMessage());
    }
  }

  /** Decodes {@code relay_secret} (base64, at least 32 bytes); the message never quotes the value. */
  private static byte[] relaySecret(String b64) {
    if (b64.isEmpty()) {
      return new byte[0];
    }
    byte[] secret;
    try {
      secret = java.util.Base64.getDecoder().decode(b64);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("cluster.relay_secret must be base64 (its value is not shown)");
    }
    if (secret.length < MIN_RELAY_SECRET_BYTES) {
      throw new IllegalArgumentException("cluster.relay_secret must decode to at least " + MIN_RELAY_SECRET_BYTES
          + " bytes (openssl rand -base64 32)");
    }
    return secret;
  }

  @Override
  public String toString() {
    // the Redis URL may carry a password (redis://:secret@host): never printed
    return "ClusterConfig[node " + nodeId + ", " + publicSignalingUrl + ", redis " + (enabled() ? "set" : "none")
        + ", relay secret " + (relaySecret.length > 0 ? "set" : "none") + "]";
  }
}
