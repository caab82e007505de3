package dev.veil.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.veil.server.CascadeMediaWire.Announced;
import dev.veil.server.cluster.CascadeSignaling;
import dev.veil.server.cluster.relay.CascadeBridge;
import dev.veil.server.cluster.relay.RelayBudget;
import dev.veil.server.cluster.relay.RelayTransport;
import dev.veil.webrtc.router.Producer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.DatagramChannel;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The media side of a cascaded channel (docs/PROTOCOL.md §1.9.3), on the hub's loop: one node link per other node
 * hosting members of the channel (a {@link RelayTransport} on a UDP socket of its own, keyed by the cluster's relay
 * secret), announced over the channel's bus ({@code link}: the socket's address), and a {@link CascadeBridge} on the
 * channel's router (on its media lane) that exports this node's published tracks to the other node and imports the
 * other node's ({@code tracks}: the full list each node exports to the other, every second and on every change, so
 * a lost message is repaired by the next). Imported tracks are offered to the local members like their own channel's.
 * The link of the lower node id initiates the handshake. Each link has a {@link RelayBudget}: a link that goes over
 * it (or announces too many tracks) is closed, that link only, and not opened again while the channel lives here.
 * Packets cross untouched: the payloads are the members' E2EE ciphertext, and no key is on any node.
 */
final class HubCascadeMedia {
  private static final Logger LOG = LoggerFactory.getLogger(HubCascadeMedia.class);

  /** Runs a task on the media lane of a channel, with the channel's router there (null if none). */
  @FunctionalInterface
  interface Lanes {
    void run(String channelId, BiConsumer<MediaLane, ChannelRouters.Channel> task);
  }

  private final Scheduler loop;
  private final Stats stats;
  private final String selfNode;
  private final byte[] secret;
  private final InetAddress bindAddress;
  private final String advertisedHost;
  private final Lanes lanes;
  private final RelayBudget.Limits limits;
  private final Function<String, Conn.Channel> channels;
  private final Consumer<Conn> reoffer;
  private CascadeSignaling signaling;
  private final Map<String, Map<String, CascadeLink>> links = new ConcurrentHashMap<>();
  /** {@code channel \0 node} of links closed over their budget while the channel lives here. */
  private final Set<String> refused = new HashSet<>();
  private Scheduler.Cancellable ticker;
  private boolean closed;

  HubCascadeMedia(Scheduler loop, Stats stats, String selfNode, byte[] secret, InetAddress bindAddress,
      String advertisedHost, Lanes lanes, RelayBudget.Limits limits, Function<String, Conn.Channel> channels,
      Consumer<Conn> reoffer) {
    this.loop = loop;
    this.stats = stats;
    this.selfNode = selfNode;
    this.secret = secret.clone();
    this.bindAddress = bindAddress;
    this.advertisedHost = advertisedHost;
    this.lanes = lanes;
    this.limits = limits;
    this.channels = channels;
    this.reoffer = reoffer;
  }

  /** Starts (hub thread): the bus it announces on, and the one-second repair tick. */
  void start(CascadeSignaling signaling) {
    this.signaling = signaling;
    ticker = loop.schedule(TimeUnit.SECONDS.toNanos(1), this::tick);
  }

  /** The link of {@code channelId} to {@code node}, or null (any thread: tests and metrics). */
  RelayTransport transport(String channelId, String node) {
    Map<String, CascadeLink> m = links.get(channelId);
    CascadeLink l = m == null ? null : m.get(node);
    return l == null ? null : l.transport;
  }

  /** The tracks imported into {@code channelId} from other nodes, as its members are offered them. */
  List<Media.Track> remoteTracks(String channelId) {
    Map<String, CascadeLink> m = links.get(channelId);
    if (m == null) {
      return List.of();
    }
    List<Media.Track> out = new ArrayList<>();
    for (CascadeLink l : m.values()) {
      out.addAll(l.remoteTracks);
    }
    return out;
  }

  // ------------------------------------------------------------------------------------------- the bus side

  /** Binds a link's socket ({@link RelayTransport#bind}; tests: a port another socket took meanwhile). */
  @FunctionalInterface
  interface Binder {
    DatagramChannel bind(InetSocketAddress address) throws IOException;
  }

  /** How link sockets are bound (hub thread; tests replace it). */
  Binder binder = RelayTransport::bind;

  /** The link of {@code channelId} to {@code node}, or null (hub thread: tests). */
  CascadeLink link(String channelId, String node) {
    Map<String, CascadeLink> m = links.get(channelId);
    return m == null ? null : m.get(node);
  }

  /** {@code node} hosts members of the channel: a socket for the link (a new ephemeral port), announced to it. */
  void nodeUp(String channelId, String node) {
    if (closed || channels.apply(channelId) == null || refused.contains(channelId + "\0" + node)) {
      return;
    }
    Map<String, CascadeLink> m = links.computeIfAbsent(channelId, k -> new ConcurrentHashMap<>());
    if (m.containsKey(node)) {
      return;
    }
    DatagramChannel socket;
    int port;
    try {
      socket = binder.bind(new InetSocketAddress(bindAddress, 0));
      port = ((InetSocketAddress) socket.getLocalAddress()).getPort();
    } catch (IOException e) {
      stats.inc("cascade.link_errors");
      LOG.warn("cascade {}: cannot bind a relay socket for node {}: {}", channelId, node, e.toString());
      return;
    }
    CascadeLink l = new CascadeLink(channelId, node, socket, port);
    m.put(node, l);
    announceLink(l);
  }

  /** {@code node} went silent, or the channel has no local member any more: its link closes. */
  void nodeDown(String channelId, String node) {
    Map<String, CascadeLink> m = links.get(channelId);
    CascadeLink l = m == null ? null : m.get(node);
    if (l != null) {
      close(l, null, false);
    }
  }

  /** The channel has no local member any more: everything of it goes. */
  void channelGone(String channelId) {
    Map<String, CascadeLink> m = links.get(channelId);
    if (m != null) {
      for (CascadeLink l : List.copyOf(m.values())) {
        close(l, null, false);
      }
    }
    refused.removeIf(k -> k.startsWith(channelId + "\0"));
  }

  /** A {@code link} or {@code tracks} body of {@code from} (the bus dropped older epochs and this node's own). */
  void onMedia(String channelId, String from, JsonNode body) {
    if (closed || !selfNode.equals(body.path("to").asText(""))) {
      return; // for a third node
    }
    Map<String, CascadeLink> m = links.get(channelId);
    CascadeLink l = m == null ? null : m.get(from);
    if (l == null) {
      nodeUp(channelId, from);
      m = links.get(channelId);
      l = m == null ? null : m.get(from);
      if (l == null) {
        return;
      }
    }
    String t = body.path("t").asText("");
    if (t.equals("link")) {
      InetSocketAddress a = CascadeMediaWire.address(body);
      if (a == null) {
        stats.inc("cascade.refused");
        return;
      }
      if (a.equals(l.peer)) {
        return;
      }
      if (l.peer != null) {
        // the other node made a new socket (its link restarted, dropping its side): this end follows it on the SAME
        // socket (a new session; what came over the old one is dropped, the next list imports it again), so this
        // node's address never changes because of the other's and a restart never bounces back: two nodes that
        // restart at once converge
        l.peer = a;
        l.transport.retarget(a);
        stats.inc("cascade.links_retargeted");
        importTracks(l, List.of());
        return;
      }
      l.peer = a;
      start(l);
    } else if (t.equals("tracks") && l.transport != null && l.transport.up()) {
      // (tracks are imported only over a link whose peer has authenticated: a node without the relay secret can
      // announce tracks on the bus, but never get one offered to a member)
      JsonNode list = body.get("tracks");
      if (list == null || !list.isArray()) {
        stats.inc("cascade.refused");
        return;
      }
      if (list.size() > limits.maxTracks()) {
        close(l, list.size() + " tracks announced, at most " + limits.maxTracks(), true);
        return;
      }
      List<Announced> tracks = new ArrayList<>();
      for (JsonNode e : list) {
        Announced a = CascadeMediaWire.announced(e);
        if (a == null || !from.equals(signaling.coordinator().remoteNodeOf(channelId, a.owner()))) {
          stats.inc("cascade.refused"); // malformed, or not a member that node hosts (yet: the next list repairs)
          continue;
        }
        tracks.add(a);
      }
      importTracks(l, tracks);
    }
  }

  private void announceLink(CascadeLink l) {
    signaling.publishMedia(l.channelId, CascadeMediaWire.link(l.node, advertisedHost, l.localPort));
  }

  // ------------------------------------------------------------------------------------------ the link side

  private void start(CascadeLink l) {
    boolean initiator = selfNode.compareTo(l.node) < 0;
    RelayTransport.Listener listener = new RelayTransport.Listener() {
      @Override
      public void media(boolean rtcp, byte[] packet) {
        String overBudget = l.receive(rtcp, packet, limits);
        if (overBudget != null) {
          loop.schedule(0, () -> close(l, overBudget, true));
        }
      }

      @Override
      public void up() {
        loop.schedule(0, () -> {
          LOG.info("cascade {}: link to node {} up", l.channelId, l.node);
          syncExports(l.channelId);
        });
      }

      @Override
      public void down(String reason) {
        LOG.info("cascade {}: link to node {} down: {}", l.channelId, l.node, reason);
      }
    };
    RelayTransport t = initiator
        ? RelayTransport.toOwner(secret, selfNode, l.node, l.socket, l.peer, listener)
        : RelayTransport.fromRelay(secret, selfNode, l.node, l.socket, l.peer, listener);
    l.transport = t;
    stats.inc("cascade.links_opened");
    lanes.run(l.channelId, (lane, rch) -> l.attach(lane, rch, t));
    syncExports(l.channelId);
  }

  /** Closes one link ({@code refuse}: over its budget, not opened again while the channel lives here). */
  private void close(CascadeLink l, String reason, boolean refuse) {
    Map<String, CascadeLink> m = links.get(l.channelId);
    if (m == null || m.get(l.node) != l) {
      return;
    }
    m.remove(l.node);
    if (m.isEmpty()) {
      links.remove(l.channelId, m);
    }
    l.closedReason = reason == null ? "closed" : reason;
    if (refuse) {
      refused.add(l.channelId + "\0" + l.node);
      stats.inc("cascade.links_closed_budget");
      LOG.warn("cascade {}: link to node {} closed: {}", l.channelId, l.node, reason);
    }
    RelayTransport t = l.transport;
    if (t != null) {
      t.close();
    } else {
      try {
        l.socket.close();
      } catch (IOException e) {
        // closing
      }
    }
    l.detach();
    if (!l.remoteTracks.isEmpty()) {
      l.remoteTracks = List.of();
      reofferAll(l.channelId);
    }
  }

  // ---------------------------------------------------------------------------------------------- tracks

  /** Exports the local members' tracks over every link of the channel that runs, and announces them. */
  void syncExports(String channelId) {
    Conn.Channel ch = channels.apply(channelId);
    Map<String, CascadeLink> m = links.get(channelId);
    if (ch == null || m == null) {
      return;
    }
    List<Media.Track> local = new ArrayList<>();
    for (Conn c : ch.active()) {
      local.addAll(c.published);
    }
    for (CascadeLink l : m.values()) {
      RelayTransport lt = l.transport;
      if (lt == null || !lt.up()) {
        continue; // nothing is announced over a link that has not authenticated its peer
      }
      lanes.run(channelId, (lane, rch) -> {
        CascadeBridge b = l.bridge;
        if (b == null || rch != l.routerChannel || rch.router.isClosed()) {
          return;
        }
        long now = lane.routers.nowMillis();
        Set<String> want = new HashSet<>();
        for (Media.Track t : local) {
          want.add(t.id());
        }
        for (String id : b.exportedTracks()) {
          if (!want.contains(id) || rch.router.findProducer(id) == null) {
            b.unexport(id);
          }
        }
        List<Announced> out = new ArrayList<>();
        for (Media.Track t : local) {
          Producer p = rch.router.findProducer(t.id());
          if (p == null || p.closed()) {
            continue;
          }
          out.add(new Announced(t.ownerConnectionId(), t.kind(), b.export(t.id(), now)));
        }
        lane.routers.drain(rch);
        loop.schedule(0, () -> announceTracks(l, out));
      });
    }
  }

  private void announceTracks(CascadeLink l, List<Announced> tracks) {
    if (l.closedReason != null) {
      return;
    }
    signaling.publishMedia(l.channelId, CascadeMediaWire.tracks(l.node, tracks));
  }

  /** Makes the router's imports of {@code l} exactly {@code tracks}; the members are re-offered on a change. */
  private void importTracks(CascadeLink l, List<Announced> tracks) {
    lanes.run(l.channelId, (lane, rch) -> {
      CascadeBridge b = l.bridge;
      if (b == null || rch != l.routerChannel || rch.router.isClosed()) {
        return;
      }
      Map<String, Announced> want = new HashMap<>();
      for (Announced a : tracks) {
        want.put(a.track().trackId(), a);
      }
      boolean changed = false;
      for (String id : b.importedTracks()) {
        Announced a = want.get(id);
        Producer p = rch.router.findProducer(id);
        if (a == null || p == null || p.ssrc() != a.track().ssrc()) {
          b.dropTrack(id);
          changed = true;
        }
      }
      List<Media.Track> now = new ArrayList<>();
      Set<String> have = b.importedTracks();
      for (Announced a : want.values()) {
        if (!have.contains(a.track().trackId())) {
          try {
            b.importTrack(a.track());
            changed = true;
          } catch (IllegalArgumentException | IllegalStateException e) {
            continue; // an id of a local track, or an SSRC taken: never shadows a local producer
          }
        }
        now.add(new Media.Track(a.owner(), a.track().trackId(), a.label()));
      }
      lane.routers.drain(rch);
      if (changed) {
        loop.schedule(0, () -> {
          if (l.closedReason == null) {
            l.remoteTracks = List.copyOf(now);
            reofferAll(l.channelId);
          }
        });
      }
    });
  }

  /** A member of another node left: its imported tracks end here at once (the next list confirms it). */
  void memberLeft(String channelId, String connectionId) {
    Map<String, CascadeLink> m = links.get(channelId);
    if (m == null) {
      return;
    }
    for (CascadeLink l : m.values()) {
      List<Media.Track> keep = new ArrayList<>();
      List<String> gone = new ArrayList<>();
      for (Media.Track t : l.remoteTracks) {
        if (t.ownerConnectionId().equals(connectionId)) {
          gone.add(t.id());
        } else {
          keep.add(t);
        }
      }
      if (gone.isEmpty()) {
        continue;
      }
      l.remoteTracks = List.copyOf(keep);
      l.dropTracks(gone);
      reofferAll(channelId);
    }
  }

  private void reofferAll(String channelId) {
    Conn.Channel ch = channels.apply(channelId);
    if (ch == null) {
      return;
    }
    for (Conn c : ch.active()) {
      if (c.connect.role().receives()) {
        reoffer.accept(c);
      }
    }
  }

  /** Every second: links not up yet are announced again, and every channel's exports re-announced. */
  private void tick() {
    if (closed) {
      return;
    }
    for (Map.Entry<String, Map<String, CascadeLink>> e : links.entrySet()) {
      for (CascadeLink l : e.getValue().values()) {
        RelayTransport t = l.transport;
        if (t == null || !t.up()) {
          announceLink(l);
        }
      }
      syncExports(e.getKey());
    }
    ticker = loop.schedule(TimeUnit.SECONDS.toNanos(1), this::tick);
  }

  /** Server shutdown: every link closes. */
  void close() {
    closed = true;
    Hub.cancel(ticker);
    for (Map<String, CascadeLink> m : List.copyOf(links.values())) {
      for (CascadeLink l : List.copyOf(m.values())) {
        close(l, null, false);
      }
    }
  }
}
