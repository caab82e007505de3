package dev.veil.server.cluster;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The routing decision of a connect (docs/PROTOCOL.md §1.9), sans-IO apart from the directory it is handed:
 *
 * <ol>
 *   <li>the channel's owner is this node: {@link Route.Local};
 *   <li>the owner is another live node: {@link Route.Redirect} to it;
 *   <li>nobody owns the channel: the least-loaded live node (this one on a tie) claims it atomically (SET NX) and
 *       the connect goes there;
 *   <li>the owner's node entry has expired (the node died): the least-loaded live node takes the channel over with
 *       an atomic compare-and-set on the stale lease (the next epoch fences the old owner off, §1.9.4), and the
 *       connect goes there.
 * </ol>
 * A claim or take-over lost to another node's concurrent one is retried from the start, at most {@link #ATTEMPTS}
 * times in all.
 */
public final class ChannelRouter {
  /** Rounds of read-decide-claim before giving up ({@link Route.Unavailable}). */
  public static final int ATTEMPTS = 4;

  private ChannelRouter() { }

  /** Where a connect for {@code channelId} reaching {@code self} goes. */
  public static Route route(ClusterDirectory dir, NodeInfo self, String channelId, long channelTtlMillis) {
    for (int i = 0; i < ATTEMPTS; i++) {
      Lease lease = dir.lease(channelId);
      String owner = lease == null ? null : lease.nodeId();
      if (self.nodeId().equals(owner)) {
        return new Route.Local();
      }
      List<NodeInfo> live = dir.liveNodes();
      if (owner != null) {
        NodeInfo o = find(live, owner);
        if (o != null) {
          return new Route.Redirect(o);
        }
      }
      NodeInfo target = leastLoaded(live, self);
      Lease won = lease == null ? dir.claim(channelId, target.nodeId(), channelTtlMillis)
          : dir.takeOver(channelId, lease, target.nodeId(), channelTtlMillis);
      if (won != null) {
        return target.nodeId().equals(self.nodeId()) ? new Route.Local() : new Route.Redirect(target);
      }
    }
    return new Route.Unavailable("the channel's owner kept changing");
  }

  /**
   * {@link #route}, plus the cascade rule (docs/PROTOCOL.md §1.9.3): when the channel's owner is full (at its
   * connection budget), the connect goes to a relay node of the channel instead: the least-loaded live node that is
   * not full and relays the channel already, else the least-loaded live node that is not full, which becomes one
   * (recorded with {@link ClusterDirectory#addRelay} under the owner's lease, for {@code relayTtlMillis}). With no
   * such node the plain route stands (the owner refuses the connect as full).
   */
  public static Route routeCascading(ClusterDirectory dir, NodeInfo self, String channelId, long channelTtlMillis,
      long relayTtlMillis) {
    Route plain = route(dir, self, channelId, channelTtlMillis);
    NodeInfo owner = plain instanceof Route.Redirect r ? r.owner() : plain instanceof Route.Local ? self : null;
    if (owner == null || !owner.full()) {
      return plain;
    }
    Lease lease = dir.lease(channelId);
    if (lease == null || !lease.nodeId().equals(owner.nodeId())) {
      return plain; // the lease moved meanwhile: the next connect decides again
    }
    List<NodeInfo> candidates = new ArrayList<>();
    for (NodeInfo n : withSelf(dir.liveNodes(), self)) {
      if (!n.full() && !n.nodeId().equals(owner.nodeId())) {
        candidates.add(n);
      }
    }
    if (candidates.isEmpty()) {
      return plain;
    }
    List<String> relays = dir.relays(channelId);
    Comparator<NodeInfo> order = Comparator.comparing((NodeInfo n) -> !relays.contains(n.nodeId()))
        .thenComparingDouble(NodeInfo::load)
        .thenComparing(n -> !n.nodeId().equals(self.nodeId()))
        .thenComparing(NodeInfo::nodeId);
    NodeInfo relay = candidates.stream().min(order).orElseThrow();
    if (!dir.addRelay(channelId, lease, relay.nodeId(), relayTtlMillis)) {
      return new Route.Unavailable("the channel's owner changed while placing a relay");
    }
    return new Route.Relay(owner, relay, lease);
  }

  private static List<NodeInfo> withSelf(List<NodeInfo> live, NodeInfo self) {
    List<NodeInfo> all = new ArrayList<>(live.size() + 1);
    all.add(self);
    for (NodeInfo n : live) {
      if (!n.nodeId().equals(self.nodeId())) {
        all.add(n);
      }
    }
    return all;
  }

  /**
   * The live node with the lowest load, preferring nodes that are not full, then this node (no redirect), then the
   * lowest node id (every node decides alike). {@code self} counts as live even before its first heartbeat shows.
   */
  public static NodeInfo leastLoaded(List<NodeInfo> live, NodeInfo self) {
    List<NodeInfo> all = new ArrayList<>(live.size() + 1);
    all.add(self);
    for (NodeInfo n : live) {
      if (!n.nodeId().equals(self.nodeId())) {
        all.add(n);
      }
    }
    return all.stream().min(Comparator.comparing(NodeInfo::full)
        .thenComparingDouble(NodeInfo::load)
        .thenComparing(n -> !n.nodeId().equals(self.nodeId()))
        .thenComparing(NodeInfo::nodeId)).orElseThrow();
  }

  private static NodeInfo find(List<NodeInfo> nodes, String id) {
    for (NodeInfo n : nodes) {
      if (n.nodeId().equals(id)) {
        return n;
      }
    }
    return null;
  }
}
