package dev.veil.signaling;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** Builds the JSON object of each message type for {@link SignalingCodec#encode}; never fails. */
final class SignalingEncoder {

  private SignalingEncoder() {}

  /** The JSON object of {@code m}, with its fields in wire order. */
  static ObjectNode tree(SignalingMessage m) {
    ObjectNode o = JsonNodeFactory.instance.objectNode();
    o.put("type", m.type());
    if (m instanceof Connect c) {
      o.put("role", c.role().wire());
      o.put("channel_id", c.channelId());
      if (c.metadata() != null) {
        o.set("metadata", c.metadata());
      }
      if (c.signalingNotifyMetadata() != null) {
        o.set("signaling_notify_metadata", c.signalingNotifyMetadata());
      }
      o.put("e2ee", c.e2ee());
      o.put("audio", c.audio());
      o.put("video", c.video());
      if (c.screen()) {
        o.put("screen", true);
      }
      if (c.receiveMaxHeight() > 0) {
        o.put("receive_max_height", c.receiveMaxHeight());
      }
      if (c.token() != null) {
        o.put("token", c.token());
      }
      if (c.e2eeKeyMode() != null) {
        o.put("e2ee_key_mode", c.e2eeKeyMode());
      }
    } else if (m instanceof Offer of) {
      o.put("connection_id", of.connectionId());
      o.put("channel_id", of.channelId());
      o.put("sdp", of.sdp());
      o.put("e2ee", of.e2ee());
      o.put("ping_interval", of.pingIntervalSeconds());
      if (!of.iceServers().isEmpty()) {
        com.fasterxml.jackson.databind.node.ArrayNode list = o.putArray("ice_servers");
        for (IceServer s : of.iceServers()) {
          ObjectNode e = list.addObject();
          com.fasterxml.jackson.databind.node.ArrayNode urls = e.putArray("urls");
          s.urls().forEach(urls::add);
          if (s.username() != null) {
            e.put("username", s.username());
            e.put("credential", s.credential());
          }
        }
      }
    } else if (m instanceof Answer a) {
      o.put("sdp", a.sdp());
    } else if (m instanceof ReOffer r) {
      o.put("sdp", r.sdp());
    } else if (m instanceof ReAnswer r) {
      o.put("sdp", r.sdp());
    } else if (m instanceof Notify n) {
      o.put("event_type", n.eventType().wire());
      o.put("connection_id", n.connectionId());
      o.put("role", n.role().wire());
      if (n.signalingNotifyMetadata() != null) {
        o.set("signaling_notify_metadata", n.signalingNotifyMetadata());
      }
      if (n.data() != null) {
        ArrayNode arr = o.putArray("data");
        for (ConnectionInfo ci : n.data()) {
          ObjectNode e = arr.addObject();
          e.put("connection_id", ci.connectionId());
          e.put("role", ci.role().wire());
          if (ci.signalingNotifyMetadata() != null) {
            e.set("signaling_notify_metadata", ci.signalingNotifyMetadata());
          }
        }
      }
      o.put("channel_connections", n.channelConnections());
    } else if (m instanceof Disconnect d) {
      if (d.reason() != null) {
        o.put("reason", d.reason());
      }
    } else if (m instanceof E2ee e) {
      if (e.to() != null) {
        o.put("to", e.to());
      } else {
        o.put("from", e.from());
      }
      o.put("payload", e.payload());
    } else if (m instanceof Data d) {
      if (d.to() != null) {
        o.put("to", d.to());
      }
      if (d.from() != null) {
        o.put("from", d.from());
      }
      o.put("payload", d.payload());
    } else if (m instanceof Mls ml) {
      if (ml.from() != null) {
        o.put("from", ml.from());
      }
      o.put("payload", ml.payload());
      if (ml.welcome() != null) {
        o.put("welcome", ml.welcome());
        ArrayNode to = o.putArray("welcome_to");
        for (String t : ml.welcomeTo()) {
          to.add(t);
        }
      }
      if (!ml.leaves().isEmpty()) {
        ArrayNode lv = o.putArray("leaves");
        for (String t : ml.leaves()) {
          lv.add(t);
        }
      }
    } else if (m instanceof MlsEvent ev) {
      o.put("event", ev.event());
      if (ev.groupId() != null) {
        o.put("group_id", ev.groupId());
      }
      if (ev.epoch() >= 0) {
        o.put("epoch", ev.epoch());
      }
      if (ev.reason() != null) {
        o.put("reason", ev.reason());
      }
      if (ev.externalSender() != null) {
        o.put("external_sender", ev.externalSender());
      }
    } else if (m instanceof ErrorMessage er) {
      o.put("reason", er.reason());
    } else if (m instanceof DownlinkStats d) {
      o.put("estimate_bps", d.estimateBps());
      ArrayNode arr = o.putArray("tracks");
      for (DownlinkStats.Track t : d.tracks()) {
        arr.addObject().put("track_id", t.trackId()).put("layer", t.layer()).put("switches", t.switches())
            .put("rtx_sent", t.rtxSent()).put("nacks_received", t.nacksReceived()).put("plis_sent", t.plisSent());
      }
    } else if (m instanceof Draining dr) {
      o.put("deadline_ms", dr.deadlineMs());
    } else if (m instanceof Redirect r) {
      o.put("location", r.location());
    } else if (m instanceof Receive r) {
      o.put("max_height", r.maxHeight());
      if (r.trackId() != null) {
        o.put("track_id", r.trackId());
      }
    }
    // Ping, Pong and IceRestart have only the type.
    return o;
  }
}
