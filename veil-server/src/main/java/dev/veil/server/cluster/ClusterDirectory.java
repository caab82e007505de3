package dev.veil.server.cluster;

import java.util.List;

/**
 * The cluster directory: which nodes are alive (with their address and load) and which node owns each channel.
 * Entries expire on their own: a node's after {@code ttlMillis} without a heartbeat, a channel's claim after
 * {@code ttlMillis} without a refresh, so a node that dies leaves nothing behind for long.
 *
 * <p>Two implementations: {@link InMemoryDirectory} (a manual clock; the routing tests) and {@link RedisDirectory}
 * (the shared directory of a real cluster). Every method may block on I/O (the Redis one does): call them from the
 * cluster's I/O thread, never the event loop. A directory that cannot be reached throws {@link DirectoryException}.
 */
public interface ClusterDirectory extends AutoCloseable {

  /** The directory could not be reached or answered nonsense. */
  final class DirectoryException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public DirectoryException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /** Registers {@code self} (or refreshes its entry, with its current load) for {@code ttlMillis}. */
  void heartbeat(NodeInfo self, long ttlMillis);

  /** Removes the node's entry now (a node that stops on purpose). */
  void deregister(String nodeId);

  /** Every node whose entry has not expired. */
  List<NodeInfo> liveNodes();

  /** The live lease on {@code channelId}, or {@code null} if nobody holds one. */
  Lease lease(String channelId);

  /** The node id owning {@code channelId}, or {@code null} if no lease is alive. */
  default String owner(String channelId) {
    Lease l = lease(channelId);
    return l == null ? null : l.nodeId();
  }

  /**
   * Claims {@code channelId} for {@code nodeId} if nobody holds it (atomic), with the channel's next epoch.
   * Returns the new lease, or {@code null} if another lease is alive.
   */
  Lease claim(String channelId, String nodeId, long ttlMillis);

  /**
   * Replaces the lease {@code dead} (of a node no longer live) with one of {@code nodeId}, atomically: only if the
   * channel's lease is still exactly {@code dead} or has expired meanwhile. Returns the new lease (next epoch), or
   * {@code null}.
   */
  Lease takeOver(String channelId, Lease dead, String nodeId, long ttlMillis);

  /** Extends {@code mine}; false if the channel's lease is no longer exactly {@code mine} (fenced off). */
  boolean refresh(String channelId, Lease mine, long ttlMillis);

  /** Drops {@code mine} (nothing if another lease replaced it). */
  void release(String channelId, Lease mine);

  /**
   * Records {@code relayNode} as a relay node of {@code channelId} (a cascade, docs/PROTOCOL.md §1.9.3) for
   * {@code ttlMillis}, or extends its record; only while the channel's lease is exactly {@code owner} (a fenced-off
   * owner cannot add relays). Returns whether it was recorded.
   */
  boolean addRelay(String channelId, Lease owner, String relayNode, long ttlMillis);

  /** The relay nodes of {@code channelId} whose records have not expired, in node id order. */
  List<String> relays(String channelId);

  /** Drops the record of {@code relayNode} for {@code channelId} (its last member left). */
  void removeRelay(String channelId, String relayNode);

  @Override
  void close();
}
