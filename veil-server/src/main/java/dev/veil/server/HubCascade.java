package dev.veil.server;

import dev.veil.server.cluster.CascadeCoordinator;
import dev.veil.server.cluster.CascadeCoordinator.Output;
import dev.veil.server.cluster.CascadeSignaling;
import dev.veil.server.cluster.ChannelBus;
import dev.veil.signaling.ConnectionInfo;
import dev.veil.signaling.Notify;
import dev.veil.signaling.Role;
import dev.veil.signaling.SignalingCodec;
import dev.veil.signaling.SignalingException;
import dev.veil.signaling.SignalingMessage;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * The hub's side of a cascaded channel (docs/PROTOCOL.md §1.9.3): its members' joins and leaves and their
 * {@code e2ee}/{@code data} messages to members of other nodes go out on the {@link ChannelBus}; the other nodes'
 * members appear in {@code notify} and their messages reach the addressed local member. Runs on the hub's loop. Off
 * unless the hub is given one ({@code Hub.cascade}); the messages stay opaque (E2EE payloads are ciphertext for
 * their recipient), so no node ever holds a key.
 */
final class HubCascade {
  /** Most members of other nodes kept per channel. */
  static final int MAX_REMOTE_MEMBERS = 1024;

  private final Scheduler loop;
  private final Wire wire;
  private final Stats stats;
  private final Function<String, Conn.Channel> channels;
  private final Function<String, Conn> byId;
  private final SignalingCodec codec = new SignalingCodec();
  private final CascadeSignaling signaling;
  private Scheduler.Cancellable timer;
  private long timerAt = Long.MAX_VALUE;
  /** The media side (node links), or null: signaling only (the in-memory tests). */
  private HubCascadeMedia media;

  HubCascade(Scheduler loop, Wire wire, Stats stats, ChannelBus bus, Function<String, Conn.Channel> channels,
      Function<String, Conn> byId, int maxRemoteMembers) {
    this.loop = loop;
    this.wire = wire;
    this.stats = stats;
    this.channels = channels;
    this.byId = byId;
    this.signaling = new CascadeSignaling(new CascadeCoordinator(1000, 3000, maxRemoteMembers), bus,
        r -> loop.schedule(0, () -> {
          r.run();
          arm();
        }), this::nowMillis, this::onOutput);
  }

  /** Adds the media side: node links carrying the channel's media between the nodes. Before the first member. */
  void enableMedia(HubCascadeMedia m) {
    this.media = m;
    m.start(signaling);
  }

  HubCascadeMedia media() {
    return media;
  }

  /** The tracks of other nodes' members imported into the channel (offered to its members). */
  List<dev.veil.server.Media.Track> remoteTracks(String channelId) {
    return media == null ? List.of() : media.remoteTracks(channelId);
  }

  /** The channel's lease epoch (the owner's lease, docs/PROTOCOL.md §1.9.4), carried by everything published. */
  void setEpoch(String channelId, long epoch) {
    signaling.setEpoch(channelId, epoch);
  }

  /** A local member's published tracks changed (it answered, or left): exports follow. */
  void tracksChanged(String channelId) {
    if (media != null) {
      media.syncExports(channelId);
    }
  }

  void close() {
    if (media != null) {
      media.close();
    }
  }

  private long nowMillis() {
    return TimeUnit.NANOSECONDS.toMillis(loop.nowNanos());
  }

  /** The members of other nodes, for a newcomer's own {@code connection.created}. */
  List<ConnectionInfo> remoteMembers(String channelId) {
    return signaling.coordinator().remoteMembers(channelId).stream()
        .map(r -> new ConnectionInfo(r.connectionId(), Role.fromWire(r.role()), r.metadata())).toList();
  }

  int remoteCount(String channelId) {
    return signaling.coordinator().remoteCount(channelId);
  }

  void joined(Conn c) {
    signaling.localJoined(c.channel.id, c.channel.epoch, c.id, c.connect.role().wire(),
        c.connect.signalingNotifyMetadata());
    tracksChanged(c.channel.id);
    arm();
  }

  void left(Conn c) {
    signaling.localLeft(c.channel.id, c.id);
    if (media != null) {
      if (signaling.coordinator().active(c.channel.id)) {
        media.syncExports(c.channel.id);
      } else {
        media.channelGone(c.channel.id);
      }
    }
    arm();
  }

  /** Relays {@code stamped} (from {@code from}) to {@code to} on another node; false if no node hosts it. */
  boolean relayTo(Conn from, String to, SignalingMessage stamped) {
    return signaling.relayTo(from.channel.id, to, codec.encode(stamped));
  }

  /** Relays a stamped broadcast {@code data} to the channel's other nodes. */
  void relayToAll(Conn from, SignalingMessage stamped) {
    signaling.relayToAll(from.channel.id, codec.encode(stamped));
  }

  private void arm() {
    long next = signaling.nextTimeoutMillis();
    if (next == timerAt) {
      return;
    }
    if (timer != null) {
      timer.cancel();
      timer = null;
    }
    timerAt = next;
    if (next != Long.MAX_VALUE) {
      long delay = Math.max(0, next - nowMillis());
      timer = loop.schedule(TimeUnit.MILLISECONDS.toNanos(delay), () -> {
        timer = null;
        timerAt = Long.MAX_VALUE;
        signaling.tick();
        arm();
      });
    }
  }

  private void onOutput(Output o) {
    if (o instanceof Output.NodeDown d) {
      if (media != null) {
        media.nodeDown(d.channelId(), d.node());
      }
      return;
    }
    Conn.Channel ch = channels.apply(channelOf(o));
    if (ch == null) {
      return;
    }
    if (o instanceof Output.NodeUp u) {
      if (media != null) {
        media.nodeUp(u.channelId(), u.node());
      }
      return;
    }
    if (o instanceof Output.Media m) {
      if (media != null) {
        media.onMedia(m.channelId(), m.fromNode(), m.body());
      }
      return;
    }
    if (o instanceof Output.Deliver d) {
      Conn to = byId.apply(d.to());
      if (to == null || to.channel != ch || to.state != Conn.State.ACTIVE) {
        return;
      }
      SignalingMessage m;
      try {
        m = codec.decode(d.message());
      } catch (SignalingException e) {
        stats.inc("cascade.dropped");
        return;
      }
      if (m instanceof dev.veil.signaling.E2ee || m instanceof dev.veil.signaling.Data) {
        stats.inc("cascade.delivered");
        wire.send(to, m);
      } else {
        stats.inc("cascade.dropped"); // only the members' relay messages cross nodes this way
      }
      return;
    }
    Role role;
    String id;
    com.fasterxml.jackson.databind.JsonNode meta;
    Notify.EventType type;
    if (o instanceof Output.RemoteJoined j) {
      role = Role.fromWire(j.role());
      id = j.connectionId();
      meta = j.metadata();
      type = Notify.EventType.CONNECTION_CREATED;
    } else if (o instanceof Output.RemoteLeft l) {
      if (media != null) {
        media.memberLeft(l.channelId(), l.connectionId());
      }
      role = Role.fromWire(l.role());
      id = l.connectionId();
      meta = null;
      type = Notify.EventType.CONNECTION_DESTROYED;
    } else {
      return;
    }
    if (role == null) {
      stats.inc("cascade.dropped");
      return;
    }
    List<Conn> active = ch.active();
    Notify n = new Notify(type, id, role, meta, null, active.size() + remoteCount(ch.id));
    for (Conn c : active) {
      wire.send(c, n);
    }
  }

  private static String channelOf(Output o) {
    if (o instanceof Output.Deliver d) {
      return d.channelId();
    } else if (o instanceof Output.RemoteJoined j) {
      return j.channelId();
    } else if (o instanceof Output.RemoteLeft l) {
      return l.channelId();
    } else if (o instanceof Output.NodeUp u) {
      return u.channelId();
    } else if (o instanceof Output.Media m) {
      return m.channelId();
    }
    return "";
  }
}
