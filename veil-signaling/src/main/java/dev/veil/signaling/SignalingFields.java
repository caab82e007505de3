package dev.veil.signaling;

import static dev.veil.signaling.SignalingCodec.CONNECTION_ID;
import static dev.veil.signaling.SignalingCodec.MAX_DATA_ENTRIES;
import static dev.veil.signaling.SignalingCodec.MAX_METADATA_CHARS;
import static dev.veil.signaling.SignalingCodec.MAX_SDP_CHARS;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.veil.signaling.SignalingException.Reason;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/** Field access that records which names were read, so that the rest can be refused. */
final class SignalingFields {
  private final ObjectNode o;
  private final ObjectMapper mapper;
  private final Set<String> seen = new HashSet<>();

  SignalingFields(ObjectNode o, ObjectMapper mapper) {
    this.o = o;
    this.mapper = mapper;
  }

  boolean has(String name) {
    return o.has(name);
  }

  private JsonNode get(String name) {
    seen.add(name);
    JsonNode n = o.get(name);
    return n == null || n.isNull() ? null : n;
  }

  String string(String name, int max) throws SignalingException {
    String s = optString(name, max);
    if (s == null) {
      throw new SignalingException(Reason.MISSING_FIELD, "missing field '" + name + "'");
    }
    return s;
  }

  String optString(String name, int max) throws SignalingException {
    JsonNode n = get(name);
    if (n == null) {
      return null;
    }
    if (!n.isTextual()) {
      throw new SignalingException(Reason.INVALID_FIELD, "'" + name + "' must be a string");
    }
    String s = n.textValue();
    if (s.length() > max) {
      throw new SignalingException(Reason.TOO_LARGE,
          "'" + name + "' of " + s.length() + " characters exceeds " + max);
    }
    return s;
  }

  long optLong(String name, long dflt) throws SignalingException {
    JsonNode n = get(name);
    if (n == null) {
      return dflt;
    }
    if (!n.isIntegralNumber() || !n.canConvertToLong() || n.longValue() < 0) {
      throw new SignalingException(Reason.INVALID_FIELD, "'" + name + "' must be a non-negative integer");
    }
    return n.longValue();
  }

  List<String> optConnectionIds(String name, int max) throws SignalingException {
    JsonNode n = get(name);
    if (n == null) {
      return null;
    }
    if (!n.isArray() || n.size() > max) {
      throw new SignalingException(Reason.INVALID_FIELD, "'" + name + "' must be an array of at most " + max
          + " connection ids");
    }
    List<String> out = new ArrayList<>();
    for (JsonNode e : n) {
      if (!e.isTextual() || !CONNECTION_ID.matcher(e.textValue()).matches()) {
        throw new SignalingException(Reason.INVALID_FIELD, "'" + name + "' holds something not a connection id");
      }
      out.add(e.textValue());
    }
    return out;
  }

  /** An array of connection ids or "" (blank leaves), as {@code mls.leaves}. */
  List<String> optLeaves(String name, int max) throws SignalingException {
    JsonNode n = get(name);
    if (n == null) {
      return null;
    }
    if (!n.isArray() || n.size() > max) {
      throw new SignalingException(Reason.INVALID_FIELD, "'" + name + "' must be an array of at most " + max
          + " entries");
    }
    List<String> out = new ArrayList<>();
    for (JsonNode e : n) {
      if (!e.isTextual() || !(e.textValue().isEmpty() || CONNECTION_ID.matcher(e.textValue()).matches())) {
        throw new SignalingException(Reason.INVALID_FIELD, "'" + name + "' holds something not a connection id");
      }
      out.add(e.textValue());
    }
    return out;
  }

  String connectionId(String name) throws SignalingException {
    String s = string(name, 64);
    if (!CONNECTION_ID.matcher(s).matches()) {
      throw new SignalingException(Reason.INVALID_FIELD, "'" + name + "' is not a connection id");
    }
    return s;
  }

  String sdp() throws SignalingException {
    String s = string("sdp", MAX_SDP_CHARS);
    if (!s.startsWith("v=0")) {
      throw new SignalingException(Reason.INVALID_FIELD, "'sdp' must be an SDP starting with v=0");
    }
    return s;
  }

  Role role() throws SignalingException {
    String s = string("role", 16);
    Role r = Role.fromWire(s);
    if (r == null) {
      throw new SignalingException(Reason.INVALID_FIELD, "unknown role '" + clip(s) + "'");
    }
    return r;
  }

  boolean optBool(String name, boolean dflt) throws SignalingException {
    JsonNode n = get(name);
    if (n == null) {
      return dflt;
    }
    if (!n.isBoolean()) {
      throw new SignalingException(Reason.INVALID_FIELD, "'" + name + "' must be true or false");
    }
    return n.booleanValue();
  }

  int optInt(String name, int dflt, int min, int max) throws SignalingException {
    JsonNode n = get(name);
    if (n == null) {
      return dflt;
    }
    if (!n.isIntegralNumber() || !n.canConvertToInt() || n.intValue() < min || n.intValue() > max) {
      throw new SignalingException(Reason.INVALID_FIELD,
          "'" + name + "' must be an integer from " + min + " to " + max);
    }
    return n.intValue();
  }

  /** A required integer 0..2^53-1. */
  long long0(String name) throws SignalingException {
    JsonNode n = get(name);
    if (n == null) {
      throw new SignalingException(Reason.MISSING_FIELD, "missing field '" + name + "'");
    }
    if (!n.isIntegralNumber() || !n.canConvertToLong() || n.longValue() < 0
        || n.longValue() > DownlinkStats.MAX_COUNTER) {
      throw new SignalingException(Reason.INVALID_FIELD, "'" + name + "' must be an integer from 0 to 2^53-1");
    }
    return n.longValue();
  }

  List<DownlinkStats.Track> downlinkTracks() throws SignalingException {
    JsonNode n = get("tracks");
    if (n == null) {
      throw new SignalingException(Reason.MISSING_FIELD, "missing field 'tracks'");
    }
    if (!n.isArray()) {
      throw new SignalingException(Reason.INVALID_FIELD, "'tracks' must be an array");
    }
    if (n.size() > DownlinkStats.MAX_TRACKS) {
      throw new SignalingException(Reason.TOO_LARGE, "'tracks' has more than " + DownlinkStats.MAX_TRACKS
          + " entries");
    }
    List<DownlinkStats.Track> out = new ArrayList<>(n.size());
    for (JsonNode e : n) {
      if (!e.isObject()) {
        throw new SignalingException(Reason.INVALID_FIELD, "'tracks' entries must be objects");
      }
      SignalingFields ef = new SignalingFields((ObjectNode) e, mapper);
      String id = ef.string("track_id", 64);
      if (id.isEmpty()) {
        throw new SignalingException(Reason.INVALID_FIELD, "'track_id' must not be empty");
      }
      int layer = ef.optInt("layer", -2, -1, 7);
      if (layer == -2) {
        throw new SignalingException(Reason.MISSING_FIELD, "missing field 'layer'");
      }
      out.add(new DownlinkStats.Track(id, layer, ef.long0("switches"), ef.long0("rtx_sent"),
          ef.long0("nacks_received"), ef.long0("plis_sent")));
      ef.rejectUnknown("downlink-stats track");
    }
    return out;
  }

  JsonNode optMetadata(String name) throws SignalingException {
    JsonNode n = get(name);
    if (n == null) {
      return null;
    }
    String compact;
    try {
      compact = mapper.writeValueAsString(n);
    } catch (JsonProcessingException ex) {
      throw new SignalingException(Reason.INVALID_FIELD, "'" + name + "' cannot be serialised");
    }
    if (compact.length() > MAX_METADATA_CHARS) {
      throw new SignalingException(Reason.TOO_LARGE,
          "'" + name + "' of " + compact.length() + " characters exceeds " + MAX_METADATA_CHARS);
    }
    return n;
  }

  List<ConnectionInfo> optData() throws SignalingException {
    JsonNode n = get("data");
    if (n == null) {
      return null;
    }
    if (!n.isArray()) {
      throw new SignalingException(Reason.INVALID_FIELD, "'data' must be an array");
    }
    if (n.size() > MAX_DATA_ENTRIES) {
      throw new SignalingException(Reason.TOO_LARGE, "'data' has more than " + MAX_DATA_ENTRIES + " entries");
    }
    List<ConnectionInfo> out = new ArrayList<>(n.size());
    for (JsonNode e : n) {
      if (!e.isObject()) {
        throw new SignalingException(Reason.INVALID_FIELD, "'data' entries must be objects");
      }
      SignalingFields ef = new SignalingFields((ObjectNode) e, mapper);
      out.add(new ConnectionInfo(ef.connectionId("connection_id"), ef.role(),
          ef.optMetadata("signaling_notify_metadata")));
      ef.rejectUnknown("notify data entry");
    }
    return out;
  }

  List<IceServer> optIceServers() throws SignalingException {
    JsonNode n = get("ice_servers");
    if (n == null) {
      return List.of();
    }
    if (!n.isArray()) {
      throw new SignalingException(Reason.INVALID_FIELD, "'ice_servers' must be an array");
    }
    if (n.size() > Offer.MAX_ICE_SERVERS) {
      throw new SignalingException(Reason.TOO_LARGE, "'ice_servers' has more than " + Offer.MAX_ICE_SERVERS
          + " entries");
    }
    List<IceServer> out = new ArrayList<>(n.size());
    for (JsonNode e : n) {
      if (!e.isObject()) {
        throw new SignalingException(Reason.INVALID_FIELD, "'ice_servers' entries must be objects");
      }
      SignalingFields ef = new SignalingFields((ObjectNode) e, mapper);
      JsonNode urls = ef.get("urls");
      if (urls == null || !urls.isArray() || urls.isEmpty() || urls.size() > IceServer.MAX_URLS) {
        throw new SignalingException(Reason.INVALID_FIELD,
            "'ice_servers' entries need 'urls', an array of 1.." + IceServer.MAX_URLS + " strings");
      }
      List<String> us = new ArrayList<>(urls.size());
      for (JsonNode u : urls) {
        if (!u.isTextual() || !IceServer.validUrl(u.textValue())) {
          throw new SignalingException(Reason.INVALID_FIELD,
              "'ice_servers' urls must be stun:, turn: or turns: URIs of at most " + IceServer.MAX_URL_CHARS
                  + " characters");
        }
        us.add(u.textValue());
      }
      String user = ef.optString("username", IceServer.MAX_CREDENTIAL_CHARS);
      String cred = ef.optString("credential", IceServer.MAX_CREDENTIAL_CHARS);
      if ((user == null) != (cred == null)) {
        throw new SignalingException(Reason.INVALID_FIELD, "'ice_servers' username and credential go together");
      }
      ef.rejectUnknown("ice_servers entry");
      out.add(new IceServer(us, user, cred));
    }
    return out;
  }

  void rejectUnknown(String where) throws SignalingException {
    for (Iterator<String> it = o.fieldNames(); it.hasNext(); ) {
      String name = it.next();
      if (!seen.contains(name)) {
        throw new SignalingException(Reason.UNKNOWN_FIELD, "unknown field '" + clip(name) + "' in " + where);
      }
    }
  }

  /** {@code s} cut to 40 characters with control characters replaced, for error messages. */
  static String clip(String s) {
    if (s == null) {
      return "null";
    }
    String t = s.length() > 40 ? s.substring(0, 40) + "…" : s;
    StringBuilder b = new StringBuilder(t.length());
    for (int i = 0; i < t.length(); i++) {
      char ch = t.charAt(i);
      b.append(ch < 0x20 || ch == 0x7f ? '?' : ch);
    }
    return b.toString();
  }
}
