package dev.veil.server.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The signaling side of a cascaded channel on one node (docs/PROTOCOL.md §1.9.3), sans-IO: what the hub must tell
 * the channel's other nodes, and what they told it, carried as {@link ChannelBus} bodies. The hub reports its own
 * members' joins and leaves ({@link #localJoined}, {@link #localLeft}), hands over a member's {@code e2ee}/{@code data}
 * message addressed to a connection id it does not host ({@link #relayTo}), feeds what the bus delivers
 * ({@link #onBus}) and calls {@link #tick} when {@link #nextTimeoutMillis} is due; it drains {@link #pollOutput}: bus
 * messages to publish and the remote members' joins, leaves and messages to deliver locally.
 *
 * <p>Every node publishes its channel's local roster every {@code rosterMillis} (and at once to a node it hears from
 * for the first time), so a join or leave lost by at-most-once pub/sub is repaired by the next roster, and a node
 * silent for {@code expiryMillis} (it died, or lost Redis) has its members leave. Remote members are bounded per
 * channel ({@code maxRemoteMembers}) before anything is stored; a remote id that collides with a local member is
 * ignored. The relayed messages are opaque JSON text (E2EE payloads are ciphertext for their recipient): this class
 * never parses them. Not thread-safe: run it on the hub's loop.
 */
public final class CascadeCoordinator {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** What the hub does next. */
  public sealed interface Output {
    /** Publish {@code body} on the channel's bus under lease epoch {@code epoch}. */
    record Publish(String channelId, long epoch, String body) implements Output { }

    /** A member of another node joined (or was first heard of): notify the local members. */
    record RemoteJoined(String channelId, String connectionId, String node, String role, JsonNode metadata)
        implements Output { }

    /** A member of another node left (or its node went silent): notify the local members. */
    record RemoteLeft(String channelId, String connectionId, String node, String role) implements Output { }

    /** Deliver {@code message} (a signaling JSON text, stamped with its sender) to the local member {@code to}. */
    record Deliver(String channelId, String to, String message) implements Output { }

    /** Another node was first heard of in the channel (it hosts members there): the media side may link to it. */
    record NodeUp(String channelId, String node) implements Output { }

    /** A node went silent or this node's last member left: the media side drops its link to that node. */
    record NodeDown(String channelId, String node) implements Output { }

    /**
     * A media-side body of another node ({@code t}: {@code link} or {@code tracks}), for the cascade's media
     * (docs/PROTOCOL.md §1.9.3); the coordinator does not interpret it.
     */
    record Media(String channelId, String fromNode, JsonNode body) implements Output { }
  }

  /** A member as the other nodes know it. */
  private record Member(String id, String role, JsonNode metadata) { }

  private static final class Remote {
    final String node;
    final Map<String, Member> members = new LinkedHashMap<>();
    long heardAt;

    Remote(String node, long heardAt) {
      this.node = node;
      this.heardAt = heardAt;
    }
  }

  private static final class Channel {
    long epoch;
    final Map<String, Member> local = new LinkedHashMap<>();
    final Map<String, Remote> nodes = new HashMap<>();
    long nextRoster;

    int remoteCount() {
      int n = 0;
      for (Remote r : nodes.values()) {
        n += r.members.size();
      }
      return n;
    }
  }

  private final long rosterMillis;
  private final long expiryMillis;
  private final int maxRemoteMembers;
  private final Map<String, Channel> channels = new HashMap<>();
  private final ArrayDeque<Output> out = new ArrayDeque<>();
  private long refused;

  public CascadeCoordinator(long rosterMillis, long expiryMillis, int maxRemoteMembers) {
    if (rosterMillis <= 0 || expiryMillis < 2 * rosterMillis || maxRemoteMembers <= 0) {
      throw new IllegalArgumentException("rosterMillis > 0, expiryMillis >= 2 x rosterMillis, maxRemoteMembers > 0");
    }
    this.rosterMillis = rosterMillis;
    this.expiryMillis = expiryMillis;
    this.maxRemoteMembers = maxRemoteMembers;
  }

  /** A local member became active in a cascaded channel (lease epoch {@code epoch}). */
  public void localJoined(String channelId, long epoch, String connectionId, String role, JsonNode metadata,
      long nowMillis) {
    Channel ch = channels.computeIfAbsent(channelId, k -> new Channel());
    ch.epoch = Math.max(ch.epoch, epoch);
    Member m = new Member(Objects.requireNonNull(connectionId), Objects.requireNonNull(role),
        metadata == null ? null : metadata.deepCopy());
    ch.local.put(connectionId, m);
    ObjectNode b = JSON.createObjectNode().put("t", "join");
    b.set("m", member(m));
    publish(channelId, ch, b);
    if (ch.local.size() == 1) {
      ch.nextRoster = nowMillis; // a node new to the channel introduces itself (the others answer with theirs)
      sendRoster(channelId, ch, nowMillis);
    }
  }

  /** A local member left; the channel is forgotten (and its remote members with it) when it was the last. */
  public void localLeft(String channelId, String connectionId) {
    Channel ch = channels.get(channelId);
    if (ch == null || ch.local.remove(connectionId) == null) {
      return;
    }
    publish(channelId, ch, JSON.createObjectNode().put("t", "leave").put("id", connectionId));
    if (ch.local.isEmpty()) {
      for (Remote r : ch.nodes.values()) {
        for (Member m : r.members.values()) {
          out.add(new Output.RemoteLeft(channelId, m.id(), r.node, m.role()));
        }
        out.add(new Output.NodeDown(channelId, r.node));
      }
      channels.remove(channelId);
    }
  }

  /**
   * Relays {@code message} (signaling JSON, already stamped with its local sender) to the remote member {@code to};
   * false if no other node hosts {@code to} in the channel or the message is too long for the bus.
   */
  public boolean relayTo(String channelId, String to, String message) {
    Channel ch = channels.get(channelId);
    if (ch == null || hostOf(ch, to) == null) {
      return false;
    }
    ObjectNode b = JSON.createObjectNode().put("t", "to").put("id", to).put("msg", message);
    return publish(channelId, ch, b);
  }

  /** Relays a broadcast {@code message} (a {@code data} to every member) to the channel's other nodes. */
  public boolean relayToAll(String channelId, String message) {
    Channel ch = channels.get(channelId);
    if (ch == null || ch.remoteCount() == 0) {
      return false;
    }
    return publish(channelId, ch, JSON.createObjectNode().put("t", "all").put("msg", message));
  }

  /**
   * The channel's lease epoch as this node knows it (the owner's lease, §1.9.4): every later publish carries it.
   * Never lowered. Ignored for a channel without a local member.
   */
  public void setEpoch(String channelId, long epoch) {
    Channel ch = channels.get(channelId);
    if (ch != null) {
      ch.epoch = Math.max(ch.epoch, epoch);
    }
  }

  /** The channel's lease epoch as known here (0: not known yet; the bus refuses to publish under it). */
  public long epoch(String channelId) {
    Channel ch = channels.get(channelId);
    return ch == null ? 0 : ch.epoch;
  }

  /** The nodes heard from in the channel. */
  public java.util.Set<String> nodes(String channelId) {
    Channel ch = channels.get(channelId);
    return ch == null ? java.util.Set.of() : java.util.Set.copyOf(ch.nodes.keySet());
  }

  /** Publishes a media-side body ({@code t}: {@code link} or {@code tracks}) on the channel's bus; false if refused. */
  public boolean publishMedia(String channelId, ObjectNode body) {
    Channel ch = channels.get(channelId);
    String t = body.path("t").asText("");
    if (ch == null || !(t.equals("link") || t.equals("tracks"))) {
      return false;
    }
    return publish(channelId, ch, body);
  }

  /** The node hosting remote member {@code connectionId} of the channel, or null. */
  public String remoteNodeOf(String channelId, String connectionId) {
    Channel ch = channels.get(channelId);
    return ch == null ? null : hostOf(ch, connectionId);
  }

  /** Whether this node has a local member in the channel (the node listens to the channel's bus while so). */
  public boolean active(String channelId) {
    return channels.containsKey(channelId);
  }

  /** The members other nodes host in the channel (for a newcomer's {@code notify}), as join records. */
  public java.util.List<Output.RemoteJoined> remoteMembers(String channelId) {
    Channel ch = channels.get(channelId);
    java.util.List<Output.RemoteJoined> list = new java.util.ArrayList<>();
    if (ch != null) {
      for (Remote r : ch.nodes.values()) {
        for (Member m : r.members.values()) {
          list.add(new Output.RemoteJoined(channelId, m.id(), r.node, m.role(),
              m.metadata() == null ? null : m.metadata().deepCopy()));
        }
      }
    }
    return list;
  }

  /** How many members other nodes host in the channel (for {@code channel_connections}). */
  public int remoteCount(String channelId) {
    Channel ch = channels.get(channelId);
    return ch == null ? 0 : ch.remoteCount();
  }

  /** Bus messages ignored: malformed, unknown type, over the remote-member bound, or colliding with a local id. */
  public long refused() {
    return refused;
  }

  /** A message of another node (the bus has dropped older epochs and this node's own). */
  public void onBus(ChannelBus.Message m, long nowMillis) {
    Channel ch = channels.get(m.channelId());
    if (ch == null) {
      return; // no local member: nothing to tell anyone here
    }
    ch.epoch = Math.max(ch.epoch, m.epoch());
    JsonNode b;
    try {
      b = JSON.readTree(m.body());
    } catch (java.io.IOException e) {
      refused++;
      return;
    }
    if (b == null || !b.isObject()) {
      refused++;
      return;
    }
    Remote r = ch.nodes.get(m.fromNode());
    boolean firstHeard = r == null;
    if (firstHeard) {
      r = new Remote(m.fromNode(), nowMillis);
      ch.nodes.put(m.fromNode(), r);
      out.add(new Output.NodeUp(m.channelId(), r.node));
    }
    r.heardAt = nowMillis;
    switch (b.path("t").asText()) {
      case "join" -> addRemote(m.channelId(), ch, r, b.get("m"));
      case "leave" -> {
        Member gone = r.members.remove(b.path("id").asText(""));
        if (gone != null) {
          out.add(new Output.RemoteLeft(m.channelId(), gone.id(), r.node, gone.role()));
        }
      }
      case "roster" -> {
        JsonNode list = b.get("members");
        if (list == null || !list.isArray()) {
          refused++;
          break;
        }
        Set<String> listed = new HashSet<>();
        for (JsonNode e : list) {
          listed.add(e.path("id").asText(""));
          addRemote(m.channelId(), ch, r, e);
        }
        for (Iterator<Member> it = r.members.values().iterator(); it.hasNext(); ) {
          Member gone = it.next();
          if (!listed.contains(gone.id())) {
            it.remove();
            out.add(new Output.RemoteLeft(m.channelId(), gone.id(), r.node, gone.role()));
          }
        }
      }
      case "to" -> {
        String to = b.path("id").asText("");
        JsonNode msg = b.get("msg");
        if (msg == null || !msg.isTextual()) {
          refused++;
        } else if (ch.local.containsKey(to)) {
          out.add(new Output.Deliver(m.channelId(), to, msg.asText()));
        } // else: addressed to a member of a third node, which delivers it
      }
      case "all" -> {
        JsonNode msg = b.get("msg");
        if (msg == null || !msg.isTextual()) {
          refused++;
          break;
        }
        for (String to : ch.local.keySet()) {
          out.add(new Output.Deliver(m.channelId(), to, msg.asText()));
        }
      }
      case "link", "tracks" -> out.add(new Output.Media(m.channelId(), r.node, b));
      default -> refused++;
    }
    if (firstHeard) {
      sendRoster(m.channelId(), ch, nowMillis); // introduce this node's members to the newcomer at once
    }
  }

  /** Publishes due rosters and lets the members of silent nodes leave. */
  public void tick(long nowMillis) {
    for (Map.Entry<String, Channel> e : channels.entrySet()) {
      Channel ch = e.getValue();
      if (nowMillis >= ch.nextRoster) {
        sendRoster(e.getKey(), ch, nowMillis);
      }
      for (Iterator<Remote> it = ch.nodes.values().iterator(); it.hasNext(); ) {
        Remote r = it.next();
        if (nowMillis - r.heardAt >= expiryMillis) {
          for (Member gone : r.members.values()) {
            out.add(new Output.RemoteLeft(e.getKey(), gone.id(), r.node, gone.role()));
          }
          out.add(new Output.NodeDown(e.getKey(), r.node));
          it.remove();
        }
      }
    }
  }

  /** When {@link #tick} is next due, or {@link Long#MAX_VALUE} with no cascaded channel. */
  public long nextTimeoutMillis() {
    long next = Long.MAX_VALUE;
    for (Channel ch : channels.values()) {
      next = Math.min(next, ch.nextRoster);
      for (Remote r : ch.nodes.values()) {
        next = Math.min(next, r.heardAt + expiryMillis);
      }
    }
    return next;
  }

  /** The next thing to do, or null. */
  public Output pollOutput() {
    return out.poll();
  }

  private void addRemote(String channelId, Channel ch, Remote r, JsonNode m) {
    String id = m == null ? "" : m.path("id").asText("");
    String role = m == null ? "" : m.path("role").asText("");
    if (id.isEmpty() || role.isEmpty() || ch.local.containsKey(id)) {
      refused++;
      return;
    }
    if (r.members.containsKey(id)) {
      return;
    }
    String other = hostOf(ch, id);
    if (other != null || ch.remoteCount() >= maxRemoteMembers) {
      refused++;
      return;
    }
    JsonNode meta = m.get("meta");
    Member member = new Member(id, role, meta == null || meta.isNull() ? null : meta.deepCopy());
    r.members.put(id, member);
    out.add(new Output.RemoteJoined(channelId, id, r.node, role, member.metadata()));
  }

  private static String hostOf(Channel ch, String id) {
    for (Remote r : ch.nodes.values()) {
      if (r.members.containsKey(id)) {
        return r.node;
      }
    }
    return null;
  }

  private void sendRoster(String channelId, Channel ch, long nowMillis) {
    ArrayNode list = JSON.createArrayNode();
    for (Member m : ch.local.values()) {
      list.add(member(m));
    }
    ObjectNode b = JSON.createObjectNode().put("t", "roster");
    b.set("members", list);
    publish(channelId, ch, b);
    ch.nextRoster = nowMillis + rosterMillis;
  }

  private static ObjectNode member(Member m) {
    ObjectNode n = JSON.createObjectNode().put("id", m.id()).put("role", m.role());
    if (m.metadata() != null) {
      n.set("meta", m.metadata().deepCopy());
    }
    return n;
  }

  private boolean publish(String channelId, Channel ch, ObjectNode body) {
    String text = body.toString();
    if (text.length() > ChannelBus.MAX_BODY_CHARS) {
      return false;
    }
    out.add(new Output.Publish(channelId, ch.epoch, text));
    return true;
  }
}
