package dev.veil.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.veil.server.cluster.relay.CascadeBridge;
import dev.veil.webrtc.rtp.RtpCodec;
import dev.veil.webrtc.sdp.MediaKind;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;

/**
 * The media bodies a cascaded channel's nodes exchange over the channel's bus (docs/PROTOCOL.md §1.9.3), for {@link
 * HubCascadeMedia}: {@code link} (the address of a node link's socket) and {@code tracks} (the tracks a node exports
 * over a link). What comes from the bus is checked field by field: a bad body or entry reads as null.
 */
final class CascadeMediaWire {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** A track as the other node announced it. */
  record Announced(String owner, String label, CascadeBridge.RemoteTrack track) { }

  private CascadeMediaWire() { }

  /** {@code link}: node {@code to} may reach this node's link socket at {@code host:port}. */
  static ObjectNode link(String to, String host, int port) {
    return JSON.createObjectNode().put("t", "link").put("to", to).put("host", host).put("port", port);
  }

  /** {@code tracks}: the full list of tracks this node exports to node {@code to}. */
  static ObjectNode tracks(String to, List<Announced> tracks) {
    ArrayNode list = JSON.createArrayNode();
    for (Announced a : tracks) {
      CascadeBridge.RemoteTrack t = a.track();
      list.addObject().put("id", t.trackId()).put("owner", a.owner()).put("label", a.label())
          .put("kind", t.kind() == MediaKind.AUDIO ? "audio" : "video").put("codec", t.codec().name())
          .put("pt", t.payloadType()).put("clock", t.clockRate()).put("ssrc", t.ssrc());
    }
    ObjectNode b = JSON.createObjectNode().put("t", "tracks").put("to", to);
    b.set("tracks", list);
    return b;
  }

  /** The address of a {@code link} body, or null (an IP literal and a port only). */
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

  /** One entry of a {@code tracks} list, or null if malformed. */
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
}
