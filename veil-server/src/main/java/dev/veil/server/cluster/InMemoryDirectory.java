package dev.veil.server.cluster;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * A {@link ClusterDirectory} in memory, on the clock it is given (milliseconds; a manual one in tests): the same
 * semantics as {@link RedisDirectory}, for routing tests without Redis and for a single-JVM cluster. Thread-safe.
 */
public final class InMemoryDirectory implements ClusterDirectory {
  private record Entry<V>(V value, long expiresAt) { }

  private final LongSupplier clock;
  private final Map<String, Entry<NodeInfo>> nodes = new HashMap<>();
  private final Map<String, Entry<Lease>> channels = new HashMap<>();
  /** The last epoch given out per channel (the fencing tokens keep increasing across expiries). */
  private final Map<String, Long> epochs = new HashMap<>();
  /** Per channel: relay node id -> expiry. */
  private final Map<String, Map<String, Long>> relays = new HashMap<>();

  public InMemoryDirectory(LongSupplier clockMillis) {
    this.clock = clockMillis;
  }

  private <V> V live(Map<String, Entry<V>> m, String key) {
    Entry<V> e = m.get(key);
    if (e == null) {
      return null;
    }
    if (clock.getAsLong() >= e.expiresAt()) {
      m.remove(key);
      return null;
    }
    return e.value();
  }

  @Override
  public synchronized void heartbeat(NodeInfo self, long ttlMillis) {
    nodes.put(self.nodeId(), new Entry<>(self, clock.getAsLong() + ttlMillis));
  }

  @Override
  public synchronized void deregister(String nodeId) {
    nodes.remove(nodeId);
  }

  @Override
  public synchronized List<NodeInfo> liveNodes() {
    List<NodeInfo> out = new ArrayList<>();
    for (String id : List.copyOf(nodes.keySet())) {
      NodeInfo n = live(nodes, id);
      if (n != null) {
        out.add(n);
      }
    }
    return out;
  }

  @Override
  public synchronized Lease lease(String channelId) {
    return live(channels, channelId);
  }

  private Lease grant(String channelId, String nodeId, long ttlMillis) {
    Lease l = new Lease(nodeId, epochs.merge(channelId, 1L, Long::sum));
    channels.put(channelId, new Entry<>(l, clock.getAsLong() + ttlMillis));
    return l;
  }

  @Override
  public synchronized Lease claim(String channelId, String nodeId, long ttlMillis) {
    if (live(channels, channelId) != null) {
      return null;
    }
    return grant(channelId, nodeId, ttlMillis);
  }

  @Override
  public synchronized Lease takeOver(String channelId, Lease dead, String nodeId, long ttlMillis) {
    Lease now = live(channels, channelId);
    if (now != null && !now.equals(dead)) {
      return null;
    }
    return grant(channelId, nodeId, ttlMillis);
  }

  @Override
  public synchronized boolean refresh(String channelId, Lease mine, long ttlMillis) {
    if (!mine.equals(live(channels, channelId))) {
      return false;
    }
    channels.put(channelId, new Entry<>(mine, clock.getAsLong() + ttlMillis));
    return true;
  }

  @Override
  public synchronized void release(String channelId, Lease mine) {
    if (mine.equals(live(channels, channelId))) {
      channels.remove(channelId);
    }
  }

  @Override
  public synchronized boolean addRelay(String channelId, Lease owner, String relayNode, long ttlMillis) {
    if (!owner.equals(live(channels, channelId))) {
      return false;
    }
    relays.computeIfAbsent(channelId, k -> new java.util.TreeMap<>()).put(relayNode, clock.getAsLong() + ttlMillis);
    return true;
  }

  @Override
  public synchronized List<String> relays(String channelId) {
    Map<String, Long> m = relays.get(channelId);
    if (m == null) {
      return List.of();
    }
    long now = clock.getAsLong();
    m.values().removeIf(exp -> now >= exp);
    if (m.isEmpty()) {
      relays.remove(channelId);
    }
    return List.copyOf(m.keySet());
  }

  @Override
  public synchronized void removeRelay(String channelId, String relayNode) {
    Map<String, Long> m = relays.get(channelId);
    if (m != null) {
      m.remove(relayNode);
    }
  }

  @Override
  public void close() {
  }
}
