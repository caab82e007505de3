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

  /** The node id owning {@code channelId}, or {@code null} if no claim is alive. */
  String owner(String channelId);

  /** Claims {@code channelId} for {@code nodeId} if nobody owns it (atomic: SET NX with a TTL). */
  boolean claim(String channelId, String nodeId, long ttlMillis);

  /**
   * Moves {@code channelId} from {@code deadOwner} (a node no longer live) to {@code nodeId}, atomically: only if
   * the claim still names {@code deadOwner} or has expired meanwhile.
   */
  boolean takeOver(String channelId, String deadOwner, String nodeId, long ttlMillis);

  /** Extends the claim of {@code nodeId} on {@code channelId}; false if the claim is no longer its own. */
  boolean refresh(String channelId, String nodeId, long ttlMillis);

  /** Drops the claim of {@code nodeId} on {@code channelId} (nothing if another node owns it). */
  void release(String channelId, String nodeId);

  @Override
  void close();
}
