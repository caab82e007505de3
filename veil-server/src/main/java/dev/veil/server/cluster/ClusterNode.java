package dev.veil.server.cluster;

import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.IntSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This node's membership of the cluster: its heartbeat (entry + load), the claims of the channels it hosts, and the
 * routing of connects ({@link ChannelRouter}) against the directory. Directory calls run on {@code io} (one thread
 * in the server: they block on Redis), answers are handed to {@code deliver} (the hub's event loop). {@link #tick()}
 * (every {@code heartbeat_millis}) refreshes the entry and the claims; the server's timer calls it, a test calls it
 * after moving its manual clock.
 */
public final class ClusterNode implements ChannelPlacement {
  private static final Logger LOG = LoggerFactory.getLogger(ClusterNode.class);
  /** Tries of the first heartbeat before the server's start fails. */
  static final int REGISTER_ATTEMPTS = 5;

  private final ClusterConfig cfg;
  private final ClusterDirectory dir;
  private final String mediaAddress;
  private final int capacity;
  private final IntSupplier connections;
  private final Executor io;
  private final Executor deliver;
  private final Set<String> hosted = ConcurrentHashMap.newKeySet();
  private final AtomicLong lostClaims = new AtomicLong();
  private final AtomicLong directoryErrors = new AtomicLong();
  private volatile boolean stopped;

  public ClusterNode(ClusterConfig cfg, ClusterDirectory dir, String mediaAddress, int capacity,
      IntSupplier connections, Executor io, Executor deliver) {
    this.cfg = cfg;
    this.dir = dir;
    this.mediaAddress = mediaAddress;
    this.capacity = capacity;
    this.connections = connections;
    this.io = io;
    this.deliver = deliver;
  }

  /** This node as the directory should list it now. */
  public NodeInfo self() {
    return new NodeInfo(cfg.nodeId(), cfg.publicSignalingUrl(), mediaAddress, connections.getAsInt(), capacity);
  }

  /** Registers this node, on the calling thread (the server's start): throws if the directory is unreachable. */
  public void register() {
    for (int attempt = 1; ; attempt++) {
      try {
        dir.heartbeat(self(), cfg.nodeTtlMillis());
        break;
      } catch (ClusterDirectory.DirectoryException e) {
        if (attempt >= REGISTER_ATTEMPTS) {
          throw e;
        }
        // a command timing out at start (a loaded machine, a cold JVM) is worth another try; a refused one fails
        // earlier, when the directory connects
        LOG.warn("cluster: registering failed ({}), trying again", e.getMessage());
      }
    }
    LOG.info("cluster: node {} registered ({}, media {})", cfg.nodeId(), cfg.publicSignalingUrl(), mediaAddress);
  }

  /** Runs {@code task} on the I/O thread; after it stopped (the server is closing) the task is dropped. */
  private boolean onIo(Runnable task) {
    try {
      io.execute(task);
      return true;
    } catch (java.util.concurrent.RejectedExecutionException e) {
      return false;
    }
  }

  @Override
  public void place(String channelId, Consumer<Route> done) {
    boolean queued = onIo(() -> {
      Route r;
      try {
        r = stopped ? new Route.Unavailable("this node is stopping")
            : ChannelRouter.route(dir, self(), channelId, cfg.channelTtlMillis());
      } catch (RuntimeException e) {
        directoryErrors.incrementAndGet();
        LOG.warn("cluster: routing channel {} failed: {}", channelId, e.toString());
        r = new Route.Unavailable("the cluster directory is unreachable");
      }
      Route route = r;
      deliver.execute(() -> done.accept(route));
    });
    if (!queued) {
      deliver.execute(() -> done.accept(new Route.Unavailable("this node is stopping")));
    }
  }

  @Override
  public void channelOpened(String channelId) {
    hosted.add(channelId);
    onIo(() -> refresh(channelId));
  }

  @Override
  public void channelClosed(String channelId) {
    hosted.remove(channelId);
    onIo(() -> {
      if (!hosted.contains(channelId)) {
        try {
          dir.release(channelId, cfg.nodeId());
        } catch (RuntimeException e) {
          directoryErrors.incrementAndGet(); // the claim expires on its own
        }
      }
    });
  }

  /** The heartbeat: refreshes this node's entry (with its load) and the claim of every channel it hosts. */
  public void tick() {
    onIo(() -> {
      if (stopped) {
        return;
      }
      try {
        dir.heartbeat(self(), cfg.nodeTtlMillis());
        for (String ch : List.copyOf(hosted)) {
          refresh(ch);
        }
      } catch (RuntimeException e) {
        directoryErrors.incrementAndGet();
        LOG.warn("cluster: heartbeat failed: {}", e.toString());
      }
    });
  }

  private void refresh(String channelId) {
    if (stopped || !hosted.contains(channelId)) {
      return;
    }
    boolean mine = dir.refresh(channelId, cfg.nodeId(), cfg.channelTtlMillis())
        || dir.claim(channelId, cfg.nodeId(), cfg.channelTtlMillis());
    if (!mine) {
      lostClaims.incrementAndGet();
      LOG.warn("cluster: channel {} is claimed by node {} while this node hosts it (it missed heartbeats?)",
          channelId, dir.owner(channelId));
    }
  }

  /** Channels whose claim another node holds while this one hosts them (split after missed heartbeats). */
  public long lostClaims() {
    return lostClaims.get();
  }

  /** Directory calls that failed. */
  public long directoryErrors() {
    return directoryErrors.get();
  }

  /** The channels this node hosts. */
  public Set<String> hosted() {
    return Set.copyOf(hosted);
  }

  public ClusterConfig config() {
    return cfg;
  }

  /**
   * Leaves on purpose (on {@code io}): the entry and every claim of this node are removed at once, so the next
   * connects go to the other nodes without waiting for the TTLs.
   */
  public void leave() {
    onIo(() -> {
      stopped = true;
      try {
        dir.deregister(cfg.nodeId());
        for (String ch : List.copyOf(hosted)) {
          dir.release(ch, cfg.nodeId());
        }
      } catch (RuntimeException e) {
        LOG.warn("cluster: could not deregister (the entries expire on their own): {}", e.toString());
      }
      hosted.clear();
    });
  }

  /** Stops touching the directory without deregistering (a crash, as the other nodes see it: the TTLs expire). */
  public void abandon() {
    stopped = true;
  }
}
