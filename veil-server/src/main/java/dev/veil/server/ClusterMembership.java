package dev.veil.server;

import dev.veil.server.cluster.ClusterConfig;
import dev.veil.server.cluster.ClusterDirectory;
import dev.veil.server.cluster.ClusterNode;
import dev.veil.server.cluster.RedisDirectory;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * {@link VeilServer}'s membership of a cluster (docs/PROTOCOL.md §1.9): the node's entry in the Redis directory, the
 * {@code veil-cluster} thread that keeps it alive, and the hub's placement of channels through it.
 */
final class ClusterMembership {
  private final ClusterNode node;
  private final ClusterDirectory directory;
  private final ScheduledExecutorService io;

  /**
   * The node (not yet registered) and its directory connection and thread. Without a public signaling URL in
   * {@code cc}, the node's is {@code ws://announced:httpPort/signaling}.
   */
  ClusterMembership(ClusterConfig cc, ServerConfig cfg, int httpPort, int mediaPort, Stats stats, EventLoop loop) {
    if (cc.publicSignalingUrl().isEmpty()) {
      cc = cc.forNode(cc.nodeId(), "ws://" + cfg.announcedAddress() + ":" + httpPort + "/signaling");
    }
    directory = new RedisDirectory(cc.redisUrl(), cc.keyPrefix(), Duration.ofMillis(cc.redisTimeoutMillis()));
    io = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "veil-cluster");
      t.setDaemon(true);
      return t;
    });
    node = new ClusterNode(cc, directory, cfg.announcedAddress() + ":" + mediaPort, cfg.maxConnections(),
        stats::connections, io, loop);
  }

  /**
   * Registers this node in the cluster directory (before HTTP accepts anything), starts its heartbeats and makes it
   * the hub's placement; throws if Redis is unreachable.
   */
  void register(Hub hub) {
    node.register();
    long beat = node.config().heartbeatMillis();
    io.scheduleWithFixedDelay(node::tick, beat, beat, TimeUnit.MILLISECONDS);
    hub.placement = node;
    node.onLeaseLost(hub::leaseLost);
    node.onLeaseHeld(hub::leaseHeld);
  }

  ClusterNode node() {
    return node;
  }

  /**
   * Stops the heartbeats and closes the directory; with {@code leave} the node's entry and claims are removed first
   * (members that reconnect now go to the other nodes), without (a crash) they expire on their own.
   */
  void close(boolean leave) {
    if (leave) {
      node.leave();
    }
    io.shutdown();
    try {
      if (!io.awaitTermination(3, TimeUnit.SECONDS)) {
        io.shutdownNow();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    directory.close();
  }
}
