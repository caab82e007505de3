package dev.veil.server;

import dev.veil.server.cluster.relay.CascadeBridge;
import dev.veil.server.cluster.relay.RelayBudget;
import dev.veil.server.cluster.relay.RelayTransport;
import java.net.InetSocketAddress;
import java.nio.channels.DatagramChannel;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One node link of one cascaded channel to one other node ({@link HubCascadeMedia}): its socket and {@link
 * RelayTransport}, and on the channel's media lane the {@link CascadeBridge} on the channel's router that the packets
 * from the other node go to, within the link's {@link RelayBudget}.
 */
final class CascadeLink {
  /** Packets from one link queued for its lane at most (more are dropped: the lane is behind). */
  static final int MAX_INFLIGHT = 1024;

  final String channelId;
  final String node;
  final DatagramChannel socket;
  final int localPort;
  InetSocketAddress peer;
  volatile RelayTransport transport;
  /** Tracks imported over the link as the hub offers them (hub thread). */
  List<Media.Track> remoteTracks = List.of();
  volatile String closedReason;
  volatile MediaLane lane;
  /** Lane only. */
  CascadeBridge bridge;
  ChannelRouters.Channel routerChannel;
  final AtomicInteger inflight = new AtomicInteger();
  /** Link thread only. */
  private RelayBudget budget;
  private boolean overReported;

  CascadeLink(String channelId, String node, DatagramChannel socket, int localPort) {
    this.channelId = channelId;
    this.node = node;
    this.socket = socket;
    this.localPort = localPort;
  }

  /**
   * A packet from the other node (link thread): within the budget, delivered to the router on the lane (dropped if
   * the lane is behind). Returns why, the first time the link goes over its budget (the link is to close), else null.
   */
  String receive(boolean rtcp, byte[] packet, RelayBudget.Limits limits) {
    long now = System.nanoTime() / 1_000_000;
    if (budget == null) {
      budget = new RelayBudget(limits, now);
    }
    if (!budget.admit(packet.length, now)) {
      if (!overReported) {
        overReported = true;
        return budget.exceeded();
      }
      return null;
    }
    MediaLane lane = this.lane;
    if (lane == null || inflight.incrementAndGet() > MAX_INFLIGHT) {
      if (lane != null) {
        inflight.decrementAndGet();
      }
      return null;
    }
    lane.loop().execute(() -> {
      inflight.decrementAndGet();
      CascadeBridge b = bridge;
      if (b != null && !routerChannel.router.isClosed()) {
        b.deliver(rtcp, packet, lane.routers.nowMillis());
        lane.routers.drain(routerChannel);
      }
    });
    return null;
  }

  /** Lane: the link's bridge on {@code rch}'s router, sending over {@code t}; unless the link closed meanwhile. */
  void attach(MediaLane lane, ChannelRouters.Channel rch, RelayTransport t) {
    if (rch == null || rch.router.isClosed() || closedReason != null) {
      return;
    }
    CascadeBridge b = new CascadeBridge(rch.router, node, (rtcp, p, off, len, now) -> t.send(rtcp, p, off, len));
    routerChannel = rch;
    bridge = b;
    rch.bridges.put(b.linkPeer(), b);
    this.lane = lane;
  }

  /** The link closed: its bridge leaves the router (on the lane), with every track it imported. */
  void detach() {
    MediaLane lane = this.lane;
    if (lane == null) {
      return;
    }
    lane.loop().execute(() -> {
      CascadeBridge b = bridge;
      if (b == null) {
        return;
      }
      bridge = null;
      routerChannel.bridges.remove(b.linkPeer(), b);
      if (!routerChannel.router.isClosed()) {
        b.closeAll();
        lane.routers.drain(routerChannel);
      }
    });
  }

  /** The imported tracks {@code ids} end (on the lane). */
  void dropTracks(List<String> ids) {
    MediaLane lane = this.lane;
    if (lane == null) {
      return;
    }
    lane.loop().execute(() -> {
      CascadeBridge b = bridge;
      if (b != null && !routerChannel.router.isClosed()) {
        ids.forEach(b::dropTrack);
        lane.routers.drain(routerChannel);
      }
    });
  }
}
