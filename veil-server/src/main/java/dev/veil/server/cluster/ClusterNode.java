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
  /** The lease of each hosted channel this node holds, and when its last refresh was sent (io thread only). */
  private final java.util.Map<String, Held> leases = new java.util.HashMap<>();
  private final java.util.function.LongSupplier clock;
  private volatile LeaseListener leaseListener = (ch, owner) -> { };
  private volatile java.util.function.BiConsumer<String, Lease> leaseHeld = (ch, lease) -> { };
  /** Channels this node relays (a cascade), with the owner's lease they were placed under. */
  private final java.util.Map<String, Lease> relayed = new ConcurrentHashMap<>();
  private final AtomicLong lostClaims = new AtomicLong();
  private final AtomicLong directoryErrors = new AtomicLong();
  private volatile boolean stopped;
  /** When the last heartbeat that got through was sent (io thread). */
  private long lastBeatSent;

  /** A lease this node holds: valid locally until {@code sentAt + channelTtl} (sentAt: before the command left). */
  private record Held(Lease lease, long sentAt) { }

  /**
   * Told (on the hub's thread) when this node no longer holds the lease of a channel it hosts: another node took the
   * channel over (split-brain after missed heartbeats or a partition), or the lease could not be refreshed before it
   * ran out. {@code owner} is the node now holding it, or null if unknown. The hub sends the channel's members away
   * (they reconnect and are routed to the owner) instead of keeping a second copy of the channel.
   */
  @FunctionalInterface
  public interface LeaseListener {
    void leaseLost(String channelId, NodeInfo owner);
  }

  public ClusterNode(ClusterConfig cfg, ClusterDirectory dir, String mediaAddress, int capacity,
      IntSupplier connections, Executor io, Executor deliver) {
    this(cfg, dir, mediaAddress, capacity, connections, io, deliver, () -> System.nanoTime() / 1_000_000);
  }

  /** As above, with the clock (milliseconds, monotonic) that times the leases locally; tests pass a manual one. */
  public ClusterNode(ClusterConfig cfg, ClusterDirectory dir, String mediaAddress, int capacity,
      IntSupplier connections, Executor io, Executor deliver, java.util.function.LongSupplier clockMillis) {
    this.clock = clockMillis;
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
        long sent = clock.getAsLong();
        dir.heartbeat(self(), cfg.nodeTtlMillis());
        lastBeatSent = sent;
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
            : cfg.cascade() ? ChannelRouter.routeCascading(dir, self(), channelId, cfg.channelTtlMillis(),
                cfg.channelTtlMillis())
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

  /** Who hears about lost leases (the hub); set before the first channel opens. */
  public void onLeaseLost(LeaseListener l) {
    this.leaseListener = java.util.Objects.requireNonNull(l, "listener");
  }

  /** Who hears (on the hub's thread) the lease this node holds on a hosted channel, each time it gets a new one. */
  public void onLeaseHeld(java.util.function.BiConsumer<String, Lease> l) {
    this.leaseHeld = java.util.Objects.requireNonNull(l, "listener");
  }

  @Override
  public String nodeId() {
    return cfg.nodeId();
  }

  @Override
  public void relayOpened(String channelId, Lease ownerLease) {
    relayed.put(channelId, ownerLease);
  }

  @Override
  public void relayClosed(String channelId) {
    if (relayed.remove(channelId) != null) {
      onIo(() -> {
        if (!relayed.containsKey(channelId)) {
          try {
            dir.removeRelay(channelId, cfg.nodeId());
          } catch (RuntimeException e) {
            directoryErrors.incrementAndGet(); // the record expires on its own
          }
        }
      });
    }
  }

  /** The channels this node relays for their owners. */
  public Set<String> relayedChannels() {
    return Set.copyOf(relayed.keySet());
  }

  /**
   * Keeps the relay record of a relayed channel while the owner's lease is the one it was placed under; a changed or
   * gone lease (the owner moved, lost it, or its last member left) is a lost channel here too: its members are sent
   * away and placed again.
   */
  private void refreshRelay(String channelId) {
    Lease placed = relayed.get(channelId);
    if (placed == null) {
      return;
    }
    Lease now = dir.lease(channelId);
    if (now != null && now.equals(placed) && dir.addRelay(channelId, now, cfg.nodeId(), cfg.channelTtlMillis())) {
      return;
    }
    if (relayed.remove(channelId, placed)) {
      LOG.warn("cluster: the owner's lease of relayed channel {} is now {} (was {}): its members are sent away",
          channelId, now, placed);
      lostClaims.incrementAndGet();
      LeaseListener l = leaseListener;
      deliver.execute(() -> l.leaseLost(channelId, null));
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
        Held h = leases.remove(channelId);
        if (h == null) {
          return;
        }
        try {
          dir.release(channelId, h.lease());
        } catch (RuntimeException e) {
          directoryErrors.incrementAndGet(); // the lease expires on its own
        }
      }
    });
  }

  /**
   * The heartbeat: refreshes this node's entry (with its load) and the lease of every channel it hosts. While the
   * directory cannot be reached, a lease is given up one heartbeat before another node could take it: before this
   * node's entry can have expired ({@code node_ttl_millis} after the last heartbeat that got through, when the
   * router may take its channels over) and before the lease itself can have ({@code channel_ttl_millis} after its
   * last refresh). Times are taken before each command leaves, so Redis's own expiry is never earlier.
   */
  public void tick() {
    onIo(() -> {
      if (stopped) {
        return;
      }
      long sent = clock.getAsLong();
      try {
        dir.heartbeat(self(), cfg.nodeTtlMillis());
        lastBeatSent = sent;
      } catch (RuntimeException e) {
        directoryErrors.incrementAndGet();
        LOG.warn("cluster: heartbeat failed: {}", e.toString());
      }
      for (String ch : List.copyOf(hosted)) {
        try {
          refresh(ch);
        } catch (RuntimeException e) {
          directoryErrors.incrementAndGet();
          LOG.warn("cluster: refreshing the lease of channel {} failed: {}", ch, e.toString());
        }
        if (hosted.contains(ch) && !validLocally(ch)) {
          LOG.warn("cluster: the lease of channel {} may have run out (the directory is unreachable)", ch);
          lost(ch, null);
        }
      }
      for (String ch : List.copyOf(relayed.keySet())) {
        try {
          refreshRelay(ch);
        } catch (RuntimeException e) {
          directoryErrors.incrementAndGet();
          LOG.warn("cluster: refreshing the relay record of channel {} failed: {}", ch, e.toString());
        }
      }
    });
  }

  /** Whether this node may still count on its lease of {@code ch} without having heard from the directory. */
  private boolean validLocally(String ch) {
    Held h = leases.get(ch);
    long now = clock.getAsLong();
    long margin = cfg.heartbeatMillis();
    return h != null && now - h.sentAt() < cfg.channelTtlMillis() - margin
        && now - lastBeatSent < cfg.nodeTtlMillis() - margin;
  }

  /**
   * Keeps this node's lease on a hosted channel: refreshes the one it holds, adopts the one the router granted it
   * (the directory names this node), or claims a free channel. A lease now held by another node is lost.
   */
  private void refresh(String channelId) {
    if (stopped || !hosted.contains(channelId)) {
      return;
    }
    long sentAt = clock.getAsLong();
    Held h = leases.get(channelId);
    if (h != null && dir.refresh(channelId, h.lease(), cfg.channelTtlMillis())) {
      leases.put(channelId, new Held(h.lease(), sentAt));
      return;
    }
    Lease now = dir.lease(channelId);
    Lease mine = null;
    if (now == null) {
      mine = dir.claim(channelId, cfg.nodeId(), cfg.channelTtlMillis()); // free (expired, nobody took it): again
    } else if (now.nodeId().equals(cfg.nodeId()) && dir.refresh(channelId, now, cfg.channelTtlMillis())) {
      // the lease the router granted this node (for the channel's first connect, or a re-claim on its behalf):
      // every connect for the channel comes here, so it is this node's to adopt
      mine = now;
    }
    if (mine != null) {
      leases.put(channelId, new Held(mine, sentAt));
      Lease held = mine;
      java.util.function.BiConsumer<String, Lease> l = leaseHeld;
      deliver.execute(() -> l.accept(channelId, held));
      return;
    }
    Lease other = dir.lease(channelId);
    NodeInfo owner = null;
    if (other != null && !other.nodeId().equals(cfg.nodeId())) {
      for (NodeInfo n : dir.liveNodes()) {
        if (n.nodeId().equals(other.nodeId())) {
          owner = n;
        }
      }
    }
    LOG.warn("cluster: channel {} is leased to {} while this node hosts it (missed heartbeats or a partition): "
        + "its members are sent away", channelId, other);
    lost(channelId, owner);
  }

  /** Forgets the lease of {@code channelId} and tells the hub (its members leave and reconnect to the owner). */
  private void lost(String channelId, NodeInfo owner) {
    leases.remove(channelId);
    hosted.remove(channelId);
    lostClaims.incrementAndGet();
    LeaseListener l = leaseListener;
    deliver.execute(() -> l.leaseLost(channelId, owner));
  }

  /** The lease this node holds on {@code channelId}, or null (for tests; call on the io thread or after it). */
  public Lease leaseOf(String channelId) {
    Held h = leases.get(channelId);
    return h == null ? null : h.lease();
  }

  /**
   * Leases of hosted channels this node lost (another node took the channel after missed heartbeats or a partition,
   * or the lease ran out unrefreshed); each time the channel's members were sent away.
   */
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
        for (java.util.Map.Entry<String, Held> e : List.copyOf(leases.entrySet())) {
          dir.release(e.getKey(), e.getValue().lease());
        }
        leases.clear();
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
