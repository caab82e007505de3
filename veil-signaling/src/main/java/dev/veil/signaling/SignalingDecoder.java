package dev.veil.signaling;

import static dev.veil.signaling.SignalingCodec.CHANNEL_ID;
import static dev.veil.signaling.SignalingCodec.MAX_E2EE_PAYLOAD_CHARS;
import static dev.veil.signaling.SignalingCodec.MAX_MLS_PAYLOAD_CHARS;
import static dev.veil.signaling.SignalingCodec.MAX_REASON_CHARS;
import static dev.veil.signaling.SignalingFields.clip;

import com.fasterxml.jackson.databind.JsonNode;
import dev.veil.signaling.SignalingException.Reason;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Reads each message type from the fields of a parsed object, for {@link SignalingCodec#decode}: required fields,
 * JSON types, size limits and value checks, then refuses any field the type does not have.
 */
final class SignalingDecoder {

  private static final Pattern BASE64 =
      Pattern.compile("(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?");

  private SignalingDecoder() {}

  /** The message of type {@code type} whose fields {@code f} holds. */
  static SignalingMessage decode(String type, SignalingFields f) throws SignalingException {
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
}
