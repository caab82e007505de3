package dev.veil.signaling;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.veil.signaling.SignalingException.Reason;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The JSON codec of the signaling protocol: one JSON object per WebSocket text frame, with a string {@code type}
 * and snake_case fields (docs/PROTOCOL.md §1).
 *
 * <pre>
 *   {"type":"connect","role":"sendrecv","channel_id":"room-1","e2ee":true,
 *    "metadata":{...},"signaling_notify_metadata":{...}}
 * </pre>
 *
 * <p>Decoding is strict and fails closed: the text must be at most {@link #MAX_MESSAGE_CHARS} characters of one
 * JSON object without duplicate keys, nested at most {@link #MAX_DEPTH} deep; the type must be known; every
 * required field must be present with the right JSON type and within its size limit; a field the type does not
 * have is refused. Every failure is a {@link SignalingException} with a {@link Reason}. Encoding never fails.
 * Instances are immutable and thread-safe.
 */
public final class SignalingCodec {

  /** Largest accepted message, in UTF-16 characters. */
  public static final int MAX_MESSAGE_CHARS = 256 * 1024;
  /** Largest SDP, in characters. */
  public static final int MAX_SDP_CHARS = 192 * 1024;
  /** Largest {@code metadata} or {@code signaling_notify_metadata}, as compact JSON, in characters. */
  public static final int MAX_METADATA_CHARS = 16 * 1024;
  /** Largest {@code e2ee} payload in base64 characters (the server's own limit is usually smaller). */
  public static final int MAX_E2EE_PAYLOAD_CHARS = 64 * 1024;
  /** Largest {@code mls} payload or welcome, in base64 characters. */
  public static final int MAX_MLS_PAYLOAD_CHARS = 96 * 1024;
  /** Largest {@code reason}, in characters. */
  public static final int MAX_REASON_CHARS = 1024;
  /** Most entries in a notify's {@code data}. */
  public static final int MAX_DATA_ENTRIES = 10_000;
  /** Deepest JSON nesting accepted. */
  public static final int MAX_DEPTH = 32;

  /** Channel ids: 1 to 255 characters of {@code A-Z a-z 0-9 . _ ~ : @ + -}. */
  public static final Pattern CHANNEL_ID = Pattern.compile("[A-Za-z0-9._~:@+\\-]{1,255}");
  /** Connection ids: 26 characters of Crockford base32 (upper case). */
  public static final Pattern CONNECTION_ID = Pattern.compile("[0-9A-HJKMNP-TV-Z]{26}");
  private static final Pattern BASE64 =
      Pattern.compile("(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?");

  private final ObjectMapper mapper;

  public SignalingCodec() {
    JsonFactory factory = JsonFactory.builder()
        .streamReadConstraints(StreamReadConstraints.builder()
            .maxNestingDepth(MAX_DEPTH)
            .maxStringLength(MAX_MESSAGE_CHARS)
            .maxNumberLength(20)
            .build())
        .enable(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION)
        .build();
    this.mapper = new ObjectMapper(factory)
        .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
  }

  // ------------------------------------------------------------------------------------------------ encoding

  /** The JSON text of {@code m}. */
  public String encode(SignalingMessage m) {
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
    try {
      return mapper.writeValueAsString(o);
    } catch (JsonProcessingException ex) {
      throw new IllegalStateException("a tree of plain nodes always serialises", ex);
    }
  }

  // ------------------------------------------------------------------------------------------------ decoding

  /** Parses and validates one message. */
  public SignalingMessage decode(String text) throws SignalingException {
    if (text == null) {
      throw new SignalingException(Reason.MALFORMED_JSON, "no message");
    }
    if (text.length() > MAX_MESSAGE_CHARS) {
      throw new SignalingException(Reason.TOO_LARGE,
          "message of " + text.length() + " characters exceeds " + MAX_MESSAGE_CHARS);
    }
    JsonNode root;
    try {
      root = mapper.readTree(text);
    } catch (JsonProcessingException ex) {
      throw new SignalingException(Reason.MALFORMED_JSON, "not valid JSON: " + firstLine(ex.getOriginalMessage()));
    } catch (RuntimeException ex) {
      throw new SignalingException(Reason.MALFORMED_JSON, "not valid JSON");
    }
    if (root == null || !root.isObject()) {
      throw new SignalingException(Reason.MALFORMED_JSON, "a message must be a JSON object");
    }
    Fields f = new Fields((ObjectNode) root);
    String type = f.optString("type", 64);
    if (type == null) {
      throw new SignalingException(Reason.UNKNOWN_TYPE, "missing field 'type'");
    }
    SignalingMessage m;
    switch (type) {
      case "connect": {
        String roleText = f.string("role", 16);
        Role role = Role.fromWire(roleText);
        if (role == null) {
          throw new SignalingException(Reason.INVALID_FIELD,
              "'role' must be sendrecv, sendonly or recvonly, not '" + clip(roleText) + "'");
        }
        String channel = f.string("channel_id", 255);
        if (!CHANNEL_ID.matcher(channel).matches()) {
          throw new SignalingException(Reason.INVALID_FIELD,
              "'channel_id' must be 1-255 characters of A-Z a-z 0-9 . _ ~ : @ + -");
        }
        JsonNode metadata = f.optMetadata("metadata");
        JsonNode notifyMetadata = f.optMetadata("signaling_notify_metadata");
        boolean e2ee = f.optBool("e2ee", false);
        boolean audio = f.optBool("audio", true);
        boolean video = f.optBool("video", true);
        boolean screen = f.optBool("screen", false);
        int maxHeight = f.optInt("receive_max_height", 0, 0, Connect.MAX_RECEIVE_HEIGHT);
        String token = f.optString("token", Connect.MAX_TOKEN_CHARS);
        String keyMode = f.optString("e2ee_key_mode", 32);
        if (keyMode != null && !Connect.isKnownKeyMode(keyMode)) {
          throw new SignalingException(Reason.INVALID_FIELD, "unknown e2ee_key_mode '" + clip(keyMode)
              + "' (expected '" + Connect.KEY_MODE_SENDER_KEYS + "' or '" + Connect.KEY_MODE_MLS + "')");
        }
        if (keyMode != null && !e2ee) {
          throw new SignalingException(Reason.INVALID_FIELD, "'e2ee_key_mode' needs 'e2ee': true");
        }
        m = new Connect(role, channel, metadata, notifyMetadata, e2ee, audio, video, maxHeight, screen, token,
            keyMode);
        break;
      }
      case "offer": {
        String cid = f.connectionId("connection_id");
        String channel = f.string("channel_id", 255);
        if (!CHANNEL_ID.matcher(channel).matches()) {
          throw new SignalingException(Reason.INVALID_FIELD, "'channel_id' is not a valid channel id");
        }
        String sdp = f.sdp();
        boolean e2ee = f.optBool("e2ee", false);
        int ping = f.optInt("ping_interval", 5, 1, 3600);
        m = new Offer(cid, channel, sdp, e2ee, ping, f.optIceServers());
        break;
      }
      case "answer":
        m = new Answer(f.sdp());
        break;
      case "re-offer":
        m = new ReOffer(f.sdp());
        break;
      case "re-answer":
        m = new ReAnswer(f.sdp());
        break;
      case "notify": {
        String ev = f.string("event_type", 64);
        Notify.EventType eventType = Notify.EventType.fromWire(ev);
        if (eventType == null) {
          throw new SignalingException(Reason.INVALID_FIELD, "unknown notify event_type '" + clip(ev) + "'");
        }
        String cid = f.connectionId("connection_id");
        Role role = f.role();
        JsonNode meta = f.optMetadata("signaling_notify_metadata");
        List<ConnectionInfo> data = f.optData();
        int count = f.optInt("channel_connections", 0, 0, Integer.MAX_VALUE);
        m = new Notify(eventType, cid, role, meta, data, count);
        break;
      }
      case "ice-restart":
        m = new IceRestart();
        break;
      case "receive": {
        int maxHeight = f.optInt("max_height", -1, 0, Connect.MAX_RECEIVE_HEIGHT);
        if (maxHeight < 0) {
          throw new SignalingException(Reason.MISSING_FIELD, "missing field 'max_height'");
        }
        String track = f.optString("track_id", 64);
        if (track != null && track.isEmpty()) {
          throw new SignalingException(Reason.INVALID_FIELD, "'track_id' must not be empty");
        }
        m = new Receive(maxHeight, track);
        break;
      }
      case "ping":
        m = new Ping();
        break;
      case "pong":
        m = new Pong();
        break;
      case "disconnect":
        m = new Disconnect(f.optString("reason", MAX_REASON_CHARS));
        break;
      case "e2ee": {
        boolean hasTo = f.has("to");
        boolean hasFrom = f.has("from");
        if (hasTo == hasFrom) {
          throw new SignalingException(hasTo ? Reason.INVALID_FIELD : Reason.MISSING_FIELD,
              "an e2ee message has exactly one of 'to' and 'from'");
        }
        String peer = f.connectionId(hasTo ? "to" : "from");
        String payload = f.string("payload", MAX_E2EE_PAYLOAD_CHARS);
        if (payload.isEmpty() || !BASE64.matcher(payload).matches()) {
          throw new SignalingException(Reason.INVALID_FIELD, "'payload' must be non-empty standard base64");
        }
        m = hasTo ? E2ee.to(peer, payload) : E2ee.from(peer, payload);
        break;
      }
      case "data": {
        String to = f.has("to") ? f.connectionId("to") : null;
        String from = f.has("from") ? f.connectionId("from") : null;
        String payload = f.string("payload", MAX_E2EE_PAYLOAD_CHARS);
        if (payload.isEmpty() || !BASE64.matcher(payload).matches()) {
          throw new SignalingException(Reason.INVALID_FIELD, "'payload' must be non-empty standard base64");
        }
        m = new Data(to, from, payload);
        break;
      }
      case "mls": {
        String from = f.has("from") ? f.connectionId("from") : null;
        String payload = f.string("payload", MAX_MLS_PAYLOAD_CHARS);
        if (payload.isEmpty() || !BASE64.matcher(payload).matches()) {
          throw new SignalingException(Reason.INVALID_FIELD, "'payload' must be non-empty standard base64");
        }
        String welcome = f.optString("welcome", MAX_MLS_PAYLOAD_CHARS);
        if (welcome != null && (welcome.isEmpty() || !BASE64.matcher(welcome).matches())) {
          throw new SignalingException(Reason.INVALID_FIELD, "'welcome' must be non-empty standard base64");
        }
        List<String> welcomeTo = f.optConnectionIds("welcome_to", Mls.MAX_WELCOME_TO);
        if ((welcome == null) != (welcomeTo == null || welcomeTo.isEmpty())) {
          throw new SignalingException(Reason.INVALID_FIELD, "'welcome' and a non-empty 'welcome_to' go together");
        }
        if (from != null && welcome != null) {
          throw new SignalingException(Reason.INVALID_FIELD, "an mls message with 'from' carries no 'welcome'");
        }
        m = new Mls(from, payload, welcome, welcomeTo, f.optLeaves("leaves", Mls.MAX_LEAVES));
        break;
      }
      case "mls_event": {
        String ev = f.string("event", 16);
        if (!ev.equals(MlsEvent.CREATE) && !ev.equals(MlsEvent.JOIN) && !ev.equals(MlsEvent.REFUSED)) {
          throw new SignalingException(Reason.INVALID_FIELD, "unknown mls_event '" + clip(ev) + "'");
        }
        String gid = f.optString("group_id", 512);
        if (gid != null && !BASE64.matcher(gid).matches()) {
          throw new SignalingException(Reason.INVALID_FIELD, "'group_id' must be standard base64");
        }
        long epoch = f.optLong("epoch", -1);
        String es = f.optString("external_sender", 512);
        if (es != null && (es.isEmpty() || !BASE64.matcher(es).matches())) {
          throw new SignalingException(Reason.INVALID_FIELD, "'external_sender' must be non-empty standard base64");
        }
        m = new MlsEvent(ev, gid, epoch, f.optString("reason", MAX_REASON_CHARS), es);
        break;
      }
      case "error":
        m = new ErrorMessage(f.string("reason", MAX_REASON_CHARS));
        break;
      case "downlink-stats":
        m = new DownlinkStats(f.long0("estimate_bps"), f.downlinkTracks());
        break;
      case "draining": {
        int deadline = f.optInt("deadline_ms", -1, 0, (int) Draining.MAX_DEADLINE_MS);
        if (deadline < 0) {
          throw new SignalingException(Reason.MISSING_FIELD, "missing field 'deadline_ms'");
        }
        m = new Draining(deadline);
        break;
      }
      case "redirect": {
        String location = f.string("location", Redirect.MAX_LOCATION_CHARS);
        if (!Redirect.valid(location)) {
          throw new SignalingException(Reason.INVALID_FIELD, "'location' must be a ws:// or wss:// URL with a host");
        }
        m = new Redirect(location);
        break;
      }
      default:
        throw new SignalingException(Reason.UNKNOWN_TYPE, "unknown message type '" + clip(type) + "'");
    }
    f.rejectUnknown(type);
    return m;
  }

  private static String clip(String s) {
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

  private static String firstLine(String s) {
    if (s == null) {
      return "";
    }
    int nl = s.indexOf('\n');
    return clip(nl < 0 ? s : s.substring(0, nl));
  }

  /** Field access that records which names were read, so that the rest can be refused. */
  private final class Fields {
    private final ObjectNode o;
    private final Set<String> seen = new HashSet<>();

    Fields(ObjectNode o) {
      this.o = o;
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
        Fields ef = new Fields((ObjectNode) e);
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
        Fields ef = new Fields((ObjectNode) e);
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
        Fields ef = new Fields((ObjectNode) e);
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
  }
}
