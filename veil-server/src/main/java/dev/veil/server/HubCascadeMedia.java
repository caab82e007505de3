package dev.veil.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.veil.server.cluster.CascadeSignaling;
import dev.veil.server.cluster.relay.CascadeBridge;
import dev.veil.server.cluster.relay.RelayBudget;
import dev.veil.server.cluster.relay.RelayTransport;
import dev.veil.webrtc.router.Producer;
import dev.veil.webrtc.rtp.RtpCodec;
import dev.veil.webrtc.sdp.MediaKind;
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
import java.util.concurrent.atomic.AtomicInteger;
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
  private static final ObjectMapper JSON = new ObjectMapper();
  /** Packets from one link queued for its lane at most (more are dropped: the lane is behind). */
  static final int MAX_INFLIGHT = 1024;

  /** Runs a task on the media lane of a channel, with the channel's router there (null if none). */
  @FunctionalInterface
  interface Lanes {
    void run(String channelId, BiConsumer<MediaLane, ChannelRouters.Channel> task);
  }

  /** A track as the other node announced it. */
  record Announced(String owner, String label, CascadeBridge.RemoteTrack track) { }

  /** One link of one channel to one other node. */
  static final class Link {
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
    RelayBudget budget;
    boolean overReported;

    Link(String channelId, String node, DatagramChannel socket, int localPort) {
      this.channelId = channelId;
      this.node = node;
      this.socket = socket;
      this.localPort = localPort;
    }
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
  private final Map<String, Map<String, Link>> links = new ConcurrentHashMap<>();
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
    Map<String, Link> m = links.get(channelId);
    Link l = m == null ? null : m.get(node);
    return l == null ? null : l.transport;
  }

  /** The tracks imported into {@code channelId} from other nodes, as its members are offered them. */
  List<Media.Track> remoteTracks(String channelId) {
    Map<String, Link> m = links.get(channelId);
    if (m == null) {
      return List.of();
    }
    List<Media.Track> out = new ArrayList<>();
    for (Link l : m.values()) {
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
  Link link(String channelId, String node) {
    Map<String, Link> m = links.get(channelId);
    return m == null ? null : m.get(node);
  }

  /** {@code node} hosts members of the channel: a socket for the link (a new ephemeral port), announced to it. */
  void nodeUp(String channelId, String node) {
    if (closed || channels.apply(channelId) == null || refused.contains(channelId + "\0" + node)) {
      return;
    }
    Map<String, Link> m = links.computeIfAbsent(channelId, k -> new ConcurrentHashMap<>());
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
    Link l = new Link(channelId, node, socket, port);
    m.put(node, l);
    announceLink(l);
  }

  /** {@code node} went silent, or the channel has no local member any more: its link closes. */
  void nodeDown(String channelId, String node) {
    Map<String, Link> m = links.get(channelId);
    Link l = m == null ? null : m.get(node);
    if (l != null) {
      close(l, null, false);
    }
  }

  /** The channel has no local member any more: everything of it goes. */
  void channelGone(String channelId) {
    Map<String, Link> m = links.get(channelId);
    if (m != null) {
      for (Link l : List.copyOf(m.values())) {
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
    Map<String, Link> m = links.get(channelId);
    Link l = m == null ? null : m.get(from);
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
      InetSocketAddress a = address(body);
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
        Announced a = announced(e);
        if (a == null || !from.equals(signaling.coordinator().remoteNodeOf(channelId, a.owner()))) {
          stats.inc("cascade.refused"); // malformed, or not a member that node hosts (yet: the next list repairs)
          continue;
        }
        tracks.add(a);
      }
      importTracks(l, tracks);
    }
  }

  static InetSocketAddress address(JsonNode body) {
    String host = body.path("host").asText("");
    int port = body.path("port").asInt(-1);
    // an IP literal only: a bus message never makes this node resolve a name
    if (port < 1 || port > 65535 || !(host.matches("[0-9.]{7,15}") || host.matches("[0-9a-fA-F:]{2,39}"))) {
      return null;
    }
    try {
      return new InetSocketAddress(InetAddress.getByName(host), port);
    } catch (IOException e) {
      return null;
    }
  }

  static Announced announced(JsonNode e) {
    String id = e.path("id").asText("");
    String owner = e.path("owner").asText("");
    String label = e.path("label").asText("");
    String kind = e.path("kind").asText("");
    int pt = e.path("pt").asInt(-1);
    int clock = e.path("clock").asInt(-1);
    long ssrc = e.path("ssrc").asLong(-1);
    if (id.isEmpty() || id.length() > 200 || owner.isEmpty() || !id.startsWith(owner + "-") || label.length() > 16
        || !(kind.equals("audio") || kind.equals("video")) || pt < 0 || pt > 127 || clock < 1 || ssrc < 0
        || ssrc > 0xFFFF_FFFFL) {
      return null;
    }
    return new Announced(owner, label, new CascadeBridge.RemoteTrack(id,
        kind.equals("audio") ? MediaKind.AUDIO : MediaKind.VIDEO, RtpCodec.fromName(e.path("codec").asText("")), pt,
        clock, ssrc));
  }

  private void announceLink(Link l) {
    ObjectNode b = JSON.createObjectNode().put("t", "link").put("to", l.node).put("host", advertisedHost)
        .put("port", l.localPort);
    signaling.publishMedia(l.channelId, b);
  }

  // ------------------------------------------------------------------------------------------ the link side

  private void start(Link l) {
    boolean initiator = selfNode.compareTo(l.node) < 0;
    RelayTransport.Listener listener = new RelayTransport.Listener() {
      @Override
      public void media(boolean rtcp, byte[] packet) {
        long now = System.nanoTime() / 1_000_000;
        if (l.budget == null) {
          l.budget = new RelayBudget(limits, now);
        }
        if (!l.budget.admit(packet.length, now)) {
          if (!l.overReported) {
            l.overReported = true;
            String why = l.budget.exceeded();
            loop.schedule(0, () -> close(l, why, true));
          }
          return;
        }
        MediaLane lane = l.lane;
        if (lane == null || l.inflight.incrementAndGet() > MAX_INFLIGHT) {
          if (lane != null) {
            l.inflight.decrementAndGet();
          }
          return;
        }
        lane.loop().execute(() -> {
          l.inflight.decrementAndGet();
          CascadeBridge b = l.bridge;
          if (b != null && !l.routerChannel.router.isClosed()) {
            b.deliver(rtcp, packet, lane.routers.nowMillis());
            lane.routers.drain(l.routerChannel);
          }
        });
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
    lanes.run(l.channelId, (lane, rch) -> {
      if (rch == null || rch.router.isClosed() || l.closedReason != null) {
        return;
      }
      CascadeBridge b = new CascadeBridge(rch.router, l.node, (rtcp, p, off, len, now) -> t.send(rtcp, p, off, len));
      l.routerChannel = rch;
      l.bridge = b;
      rch.bridges.put(b.linkPeer(), b);
      l.lane = lane;
    });
    syncExports(l.channelId);
  }

  /** Closes one link ({@code refuse}: over its budget, not opened again while the channel lives here). */
  private void close(Link l, String reason, boolean refuse) {
    Map<String, Link> m = links.get(l.channelId);
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
    MediaLane lane = l.lane;
    if (lane != null) {
      lane.loop().execute(() -> {
        CascadeBridge b = l.bridge;
        if (b == null) {
          return;
        }
        l.bridge = null;
        l.routerChannel.bridges.remove(b.linkPeer(), b);
        if (!l.routerChannel.router.isClosed()) {
          b.closeAll();
          lane.routers.drain(l.routerChannel);
        }
      });
    }
    if (!l.remoteTracks.isEmpty()) {
      l.remoteTracks = List.of();
      reofferAll(l.channelId);
    }
  }

  // ---------------------------------------------------------------------------------------------- tracks

  /** Exports the local members' tracks over every link of the channel that runs, and announces them. */
  void syncExports(String channelId) {
    Conn.Channel ch = channels.apply(channelId);
    Map<String, Link> m = links.get(channelId);
    if (ch == null || m == null) {
      return;
    }
    List<Media.Track> local = new ArrayList<>();
    for (Conn c : ch.active()) {
      local.addAll(c.published);
    }
    for (Link l : m.values()) {
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

  private void announceTracks(Link l, List<Announced> tracks) {
    if (l.closedReason != null) {
      return;
    }
    ArrayNode list = JSON.createArrayNode();
    for (Announced a : tracks) {
      CascadeBridge.RemoteTrack t = a.track();
      list.addObject().put("id", t.trackId()).put("owner", a.owner()).put("label", a.label())
          .put("kind", t.kind() == MediaKind.AUDIO ? "audio" : "video").put("codec", t.codec().name())
          .put("pt", t.payloadType()).put("clock", t.clockRate()).put("ssrc", t.ssrc());
    }
    ObjectNode b = JSON.createObjectNode().put("t", "tracks").put("to", l.node);
    b.set("tracks", list);
    signaling.publishMedia(l.channelId, b);
  }

  /** Makes the router's imports of {@code l} exactly {@code tracks}; the members are re-offered on a change. */
  private void importTracks(Link l, List<Announced> tracks) {
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
    Map<String, Link> m = links.get(channelId);
    if (m == null) {
      return;
    }
    for (Link l : m.values()) {
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
      MediaLane lane = l.lane;
      if (lane != null) {
        lane.loop().execute(() -> {
          CascadeBridge b = l.bridge;
          if (b != null && !l.routerChannel.router.isClosed()) {
            gone.forEach(b::dropTrack);
            lane.routers.drain(l.routerChannel);
          }
        });
      }
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
    for (Map.Entry<String, Map<String, Link>> e : links.entrySet()) {
      for (Link l : e.getValue().values()) {
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
    for (Map<String, Link> m : List.copyOf(links.values())) {
      for (Link l : List.copyOf(m.values())) {
        close(l, null, false);
      }
    }
  }
}
