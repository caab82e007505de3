package dev.veil.signaling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.veil.signaling.SignalingException.Reason;
import java.util.List;
import org.junit.jupiter.api.Test;

class SignalingCodecTest {
  private static final String CID_A = "0123456789ABCDEFGHJKMNPQRS";
  private static final String CID_B = "ZYXWVTSRQPNMKJHGFEDCBA9876";
  private static final String SDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";

  private final SignalingCodec codec = new SignalingCodec();
  private final ObjectMapper json = new ObjectMapper();

  private JsonNode node(String s) throws Exception {
    return json.readTree(s);
  }

  private SignalingException reject(String text) {
    return assertThrows(SignalingException.class, () -> codec.decode(text));
  }

  private void roundTrip(SignalingMessage m) throws Exception {
    String text = codec.encode(m);
    assertEquals(m, codec.decode(text), text);
  }

  @Test
  void roundTrip_everyMessageType() throws Exception {
    JsonNode meta = node("{\"name\":\"alice\",\"pre_key_bundle\":{\"ik\":\"AAAA\"}}");
    roundTrip(new Connect(Role.SENDRECV, "room-1", node("{\"token\":\"x\"}"), meta, true, true, false));
    roundTrip(Connect.of(Role.RECVONLY, "r", false));
    roundTrip(new Offer(CID_A, "room-1", SDP, true, 5));
    roundTrip(new Offer(CID_A, "room-1", SDP, true, 5, java.util.List.of(
        new IceServer(java.util.List.of("turn:198.18.0.1:3478?transport=tcp", "turn:198.18.0.1:3478"),
            "1767225600:" + CID_A, "c2VjcmV0LWNyZWRlbnRpYWw="),
        new IceServer(java.util.List.of("stun:198.18.0.1:3478"), null, null))));
    roundTrip(new Answer(SDP));
    roundTrip(new ReOffer(SDP));
    roundTrip(new ReAnswer(SDP));
    roundTrip(new IceRestart());
    roundTrip(new Notify(Notify.EventType.CONNECTION_CREATED, CID_A, Role.SENDONLY, meta,
        List.of(new ConnectionInfo(CID_B, Role.SENDRECV, meta), new ConnectionInfo(CID_A, Role.RECVONLY, null)), 3));
    roundTrip(new Notify(Notify.EventType.CONNECTION_DESTROYED, CID_B, Role.SENDRECV, null, null, 1));
    roundTrip(new Ping());
    roundTrip(new Pong());
    roundTrip(new Disconnect(null));
    roundTrip(new Disconnect("bye"));
    roundTrip(E2ee.to(CID_A, "AAEC"));
    roundTrip(E2ee.from(CID_B, "AAECAw=="));
    roundTrip(new Connect(Role.SENDRECV, "room-1", null, null, true, true, true, 480, true));
    roundTrip(Data.send(null, "AAEC"));
    roundTrip(Data.send(CID_A, "AAECAw=="));
    roundTrip(Data.send(CID_A, "AAEC").stampedFrom(CID_B));
    roundTrip(Data.send(null, "AAEC").stampedFrom(CID_B));
    roundTrip(new ErrorMessage("nope"));
    roundTrip(new Redirect("ws://127.0.0.1:5001/signaling"));
    roundTrip(new Redirect("wss://node-2.example:443/signaling?x=1"));
  }

  @Test
  void encode_connect_usesSnakeCaseWireNames() throws Exception {
    String text = codec.encode(new Connect(Role.SENDONLY, "c", null, node("{\"n\":1}"), true, true, true));
    JsonNode n = node(text);
    assertEquals("connect", n.get("type").asText());
    assertEquals("sendonly", n.get("role").asText());
    assertEquals("c", n.get("channel_id").asText());
    assertEquals(1, n.get("signaling_notify_metadata").get("n").asInt());
    assertTrue(n.get("e2ee").asBoolean());
  }

  @Test
  void connect_receiveMaxHeight_roundTripsAndIsBounded() throws Exception {
    roundTrip(new Connect(Role.RECVONLY, "r", null, null, false, true, true, 360));
    String text = codec.encode(new Connect(Role.RECVONLY, "r", null, null, false, true, true, 360));
    assertEquals(360, node(text).get("receive_max_height").asInt());
    assertEquals(null, node(codec.encode(Connect.of(Role.RECVONLY, "r", false))).get("receive_max_height"),
        "no limit: not on the wire");
    Connect c = (Connect) codec.decode("{\"type\":\"connect\",\"role\":\"recvonly\",\"channel_id\":\"a\","
        + "\"receive_max_height\":720}");
    assertEquals(720, c.receiveMaxHeight());
    assertEquals(Reason.INVALID_FIELD, reject("{\"type\":\"connect\",\"role\":\"recvonly\",\"channel_id\":\"a\","
        + "\"receive_max_height\":9000}").reason());
    assertEquals(Reason.INVALID_FIELD, reject("{\"type\":\"connect\",\"role\":\"recvonly\",\"channel_id\":\"a\","
        + "\"receive_max_height\":-1}").reason());
  }

  @Test
  void draining_roundTripsAndIsChecked() throws Exception {
    roundTrip(new Draining(30_000));
    roundTrip(new Draining(0));
    assertEquals(30_000, node(codec.encode(new Draining(30_000))).get("deadline_ms").asLong());
    assertEquals(new Draining(5), codec.decode("{\"type\":\"draining\",\"deadline_ms\":5}"));
    assertEquals(Reason.MISSING_FIELD, reject("{\"type\":\"draining\"}").reason());
    assertEquals(Reason.INVALID_FIELD, reject("{\"type\":\"draining\",\"deadline_ms\":-1}").reason());
    assertEquals(Reason.INVALID_FIELD, reject("{\"type\":\"draining\",\"deadline_ms\":86400001}").reason());
    assertEquals(Reason.UNKNOWN_FIELD, reject("{\"type\":\"draining\",\"deadline_ms\":1,\"x\":1}").reason());
  }

  @Test
  void receive_roundTripsAndIsChecked() throws Exception {
    roundTrip(Receive.all(360));
    roundTrip(new Receive(0, "CID-video"));
    Receive r = (Receive) codec.decode("{\"type\":\"receive\",\"max_height\":180,\"track_id\":\"t1\"}");
    assertEquals(new Receive(180, "t1"), r);
    assertEquals(Reason.MISSING_FIELD, reject("{\"type\":\"receive\"}").reason());
    assertEquals(Reason.INVALID_FIELD, reject("{\"type\":\"receive\",\"max_height\":9999}").reason());
    assertEquals(Reason.INVALID_FIELD, reject("{\"type\":\"receive\",\"max_height\":1,\"track_id\":\"\"}").reason());
    assertEquals(Reason.TOO_LARGE, reject("{\"type\":\"receive\",\"max_height\":1,\"track_id\":\""
        + "x".repeat(65) + "\"}").reason());
  }

  @Test
  void decode_connect_defaultsOptionalFields() throws Exception {
    Connect c = (Connect) codec.decode("{\"type\":\"connect\",\"role\":\"sendrecv\",\"channel_id\":\"a\"}");
    assertEquals(Role.SENDRECV, c.role());
    assertEquals(false, c.e2ee());
    assertTrue(c.audio() && c.video());
    assertNull(c.metadata());
    assertNull(c.signalingNotifyMetadata());
  }

  @Test
  void decode_e2ee_payloadLengthMatchesDecodedBytes() throws Exception {
    for (String p : new String[] {"AAAA", "AAE=", "AA==", "AAECAwQFBgc="}) {
      E2ee e = (E2ee) codec.decode("{\"type\":\"e2ee\",\"to\":\"" + CID_A + "\",\"payload\":\"" + p + "\"}");
      assertEquals(e.payloadBytes().length, e.payloadLength(), p);
    }
  }

  @Test
  void decode_notJson_throwsMalformed() {
    assertEquals(Reason.MALFORMED_JSON, reject("{\"type\":").reason());
    assertEquals(Reason.MALFORMED_JSON, reject("not json").reason());
    assertEquals(Reason.MALFORMED_JSON, reject("").reason());
    assertEquals(Reason.MALFORMED_JSON, reject(null).reason());
    assertEquals(Reason.MALFORMED_JSON, reject("[1,2]").reason());
    assertEquals(Reason.MALFORMED_JSON, reject("\"ping\"").reason());
    assertEquals(Reason.MALFORMED_JSON, reject("{\"type\":\"ping\"} {\"type\":\"ping\"}").reason());
    assertEquals(Reason.MALFORMED_JSON, reject("{\"type\":\"ping\" /* c */}").reason());
    assertEquals(Reason.MALFORMED_JSON, reject("{'type':'ping'}").reason());
  }

  @Test
  void decode_duplicateKey_throwsMalformed() {
    SignalingException e = reject("{\"type\":\"e2ee\",\"to\":\"" + CID_A + "\",\"to\":\"" + CID_B
        + "\",\"payload\":\"AAAA\"}");
    assertEquals(Reason.MALFORMED_JSON, e.reason());
  }

  @Test
  void decode_deepNesting_throwsMalformed() {
    String deep = "[".repeat(1000) + "]".repeat(1000);
    SignalingException e = reject("{\"type\":\"connect\",\"role\":\"sendrecv\",\"channel_id\":\"a\",\"metadata\":"
        + deep + "}");
    assertEquals(Reason.MALFORMED_JSON, e.reason());
  }

  @Test
  void decode_hugeMessage_throwsTooLarge() {
    String big = "{\"type\":\"answer\",\"sdp\":\"v=0" + "a".repeat(SignalingCodec.MAX_MESSAGE_CHARS) + "\"}";
    assertEquals(Reason.TOO_LARGE, reject(big).reason());
  }

  @Test
  void decode_oversizedSdp_throwsTooLarge() {
    String sdp = "v=0" + "x".repeat(SignalingCodec.MAX_SDP_CHARS);
    assertEquals(Reason.TOO_LARGE, reject("{\"type\":\"answer\",\"sdp\":\"" + sdp + "\"}").reason());
  }

  @Test
  void decode_oversizedMetadata_throwsTooLarge() {
    String meta = "{\"k\":\"" + "m".repeat(SignalingCodec.MAX_METADATA_CHARS) + "\"}";
    assertEquals(Reason.TOO_LARGE, reject("{\"type\":\"connect\",\"role\":\"sendrecv\",\"channel_id\":\"a\","
        + "\"signaling_notify_metadata\":" + meta + "}").reason());
  }

  @Test
  void decode_unknownOrMissingType_throwsUnknownType() {
    assertEquals(Reason.UNKNOWN_TYPE, reject("{\"type\":\"update\"}").reason());
    assertEquals(Reason.UNKNOWN_TYPE, reject("{}").reason());
    assertEquals(Reason.UNKNOWN_TYPE, reject("{\"type\":\"PING\"}").reason());
    assertEquals(Reason.INVALID_FIELD, reject("{\"type\":7}").reason());
  }

  @Test
  void decode_iceRestart_hasOnlyTheType() throws Exception {
    assertEquals(new IceRestart(), codec.decode("{\"type\":\"ice-restart\"}"));
    assertEquals("{\"type\":\"ice-restart\"}", codec.encode(new IceRestart()));
    assertEquals(Reason.UNKNOWN_FIELD, reject("{\"type\":\"ice-restart\",\"sdp\":\"v=0\"}").reason());
    assertEquals(Reason.UNKNOWN_TYPE, reject("{\"type\":\"ice_restart\"}").reason());
    assertEquals(Reason.MALFORMED_JSON, reject("{\"type\":\"ice-restart\",\"type\":\"ice-restart\"}").reason());
  }

  @Test
  void decode_unknownField_throwsUnknownField() {
    SignalingException e = reject("{\"type\":\"ping\",\"extra\":1}");
    assertEquals(Reason.UNKNOWN_FIELD, e.reason());
    assertTrue(e.getMessage().contains("extra"));
  }

  @Test
  void decode_connectMissingFields_throwsMissingField() {
    assertEquals(Reason.MISSING_FIELD, reject("{\"type\":\"connect\",\"channel_id\":\"a\"}").reason());
    assertEquals(Reason.MISSING_FIELD, reject("{\"type\":\"connect\",\"role\":\"sendrecv\"}").reason());
    assertEquals(Reason.MISSING_FIELD, reject("{\"type\":\"answer\"}").reason());
    assertEquals(Reason.MISSING_FIELD, reject("{\"type\":\"error\"}").reason());
  }

  @Test
  void decode_connectBadValues_throwsInvalidField() {
    assertEquals(Reason.INVALID_FIELD,
        reject("{\"type\":\"connect\",\"role\":\"publisher\",\"channel_id\":\"a\"}").reason());
    assertEquals(Reason.INVALID_FIELD,
        reject("{\"type\":\"connect\",\"role\":\"sendrecv\",\"channel_id\":\"a b\"}").reason());
    assertEquals(Reason.INVALID_FIELD,
        reject("{\"type\":\"connect\",\"role\":\"sendrecv\",\"channel_id\":\"\"}").reason());
    assertEquals(Reason.INVALID_FIELD,
        reject("{\"type\":\"connect\",\"role\":\"sendrecv\",\"channel_id\":\"a\",\"e2ee\":\"true\"}").reason());
    assertEquals(Reason.INVALID_FIELD,
        reject("{\"type\":\"connect\",\"role\":\"sendrecv\",\"channel_id\":[\"a\"]}").reason());
    assertEquals(Reason.TOO_LARGE, reject("{\"type\":\"connect\",\"role\":\"sendrecv\",\"channel_id\":\""
        + "a".repeat(256) + "\"}").reason());
  }

  @Test
  void decode_answerNotSdp_throwsInvalidField() {
    assertEquals(Reason.INVALID_FIELD, reject("{\"type\":\"answer\",\"sdp\":\"hello\"}").reason());
    assertEquals(Reason.INVALID_FIELD, reject("{\"type\":\"re-answer\",\"sdp\":42}").reason());
  }

  @Test
  void decode_dataEnvelope_strict() throws Exception {
    assertEquals(Reason.MISSING_FIELD, reject("{\"type\":\"data\"}").reason());
    assertEquals(Reason.INVALID_FIELD, reject("{\"type\":\"data\",\"payload\":\"\"}").reason());
    assertEquals(Reason.INVALID_FIELD, reject("{\"type\":\"data\",\"payload\":\"A*==\"}").reason());
    assertEquals(Reason.INVALID_FIELD, reject("{\"type\":\"data\",\"to\":\"short\",\"payload\":\"AAAA\"}").reason());
    Data d = (Data) codec.decode("{\"type\":\"data\",\"payload\":\"AAECAw==\"}");
    assertEquals(4, d.payloadLength());
    assertEquals(null, d.to());
  }

  @Test
  void decode_e2eeEnvelope_strict() {
    String p = ",\"payload\":\"AAAA\"}";
    assertEquals(Reason.MISSING_FIELD, reject("{\"type\":\"e2ee\"" + p).reason());
    assertEquals(Reason.INVALID_FIELD,
        reject("{\"type\":\"e2ee\",\"to\":\"" + CID_A + "\",\"from\":\"" + CID_B + "\"" + p).reason());
    assertEquals(Reason.INVALID_FIELD, reject("{\"type\":\"e2ee\",\"to\":\"short\"" + p).reason());
    assertEquals(Reason.INVALID_FIELD,
        reject("{\"type\":\"e2ee\",\"to\":\"" + CID_A.toLowerCase() + "\"" + p).reason());
    assertEquals(Reason.INVALID_FIELD,
        reject("{\"type\":\"e2ee\",\"to\":\"" + CID_A + "\",\"payload\":\"AAA\"}").reason());
    assertEquals(Reason.INVALID_FIELD,
        reject("{\"type\":\"e2ee\",\"to\":\"" + CID_A + "\",\"payload\":\"AA-_\"}").reason());
    assertEquals(Reason.INVALID_FIELD,
        reject("{\"type\":\"e2ee\",\"to\":\"" + CID_A + "\",\"payload\":\"\"}").reason());
    assertEquals(Reason.MISSING_FIELD, reject("{\"type\":\"e2ee\",\"to\":\"" + CID_A + "\"}").reason());
    assertEquals(Reason.TOO_LARGE, reject("{\"type\":\"e2ee\",\"to\":\"" + CID_A + "\",\"payload\":\""
        + "A".repeat(SignalingCodec.MAX_E2EE_PAYLOAD_CHARS + 4) + "\"}").reason());
  }

  @Test
  void decode_notifyBadData_throws() {
    String head = "{\"type\":\"notify\",\"event_type\":\"connection.created\",\"connection_id\":\"" + CID_A
        + "\",\"role\":\"sendrecv\",";
    assertEquals(Reason.INVALID_FIELD, reject(head + "\"data\":{}}").reason());
    assertEquals(Reason.INVALID_FIELD, reject(head + "\"data\":[1]}").reason());
    assertEquals(Reason.MISSING_FIELD, reject(head + "\"data\":[{\"role\":\"sendrecv\"}]}").reason());
    assertEquals(Reason.UNKNOWN_FIELD,
        reject(head + "\"data\":[{\"connection_id\":\"" + CID_B + "\",\"role\":\"sendrecv\",\"x\":1}]}").reason());
    assertEquals(Reason.INVALID_FIELD, reject(head.replace("connection.created", "connection.updated")
        + "\"channel_connections\":1}").reason());
    assertEquals(Reason.INVALID_FIELD, reject(head + "\"channel_connections\":-1}").reason());
    assertEquals(Reason.INVALID_FIELD, reject(head + "\"channel_connections\":1.5}").reason());
    assertEquals(Reason.INVALID_FIELD, reject(head + "\"channel_connections\":99999999999999}").reason());
  }

  @Test
  void decode_hostileStrings_reasonIsPrintable() {
    SignalingException e = reject("{\"type\":\"x\\u0000\\n\\u001b[31m\"}");
    assertEquals(Reason.UNKNOWN_TYPE, e.reason());
    for (char ch : e.getMessage().toCharArray()) {
      assertTrue(ch >= 0x20, "control character in reason");
    }
  }

  @Test
  void decode_nullsCountAsAbsent() throws Exception {
    SignalingMessage m = codec.decode("{\"type\":\"disconnect\",\"reason\":null}");
    assertInstanceOf(Disconnect.class, m);
    assertNull(((Disconnect) m).reason());
  }

  @Test
  void connect_metadataIsDefensivelyCopied() throws Exception {
    ObjectNode meta = (ObjectNode) node("{\"a\":1}");
    Connect c = new Connect(Role.SENDRECV, "a", null, meta, false, true, true);
    meta.put("a", 2);
    ((ObjectNode) c.signalingNotifyMetadata()).put("a", 3);
    assertEquals(1, c.signalingNotifyMetadata().get("a").asInt());
  }

  @Test
  void offer_iceServers_wireFormatAndRefusals() throws Exception {
    String head = "{\"type\":\"offer\",\"connection_id\":\"" + CID_A + "\",\"channel_id\":\"r\",\"sdp\":\"v=0\\r\\n\"";
    Offer o = (Offer) codec.decode(head + ",\"ice_servers\":[{\"urls\":[\"turn:a.example:3478?transport=tcp\"],"
        + "\"username\":\"1:x\",\"credential\":\"y\"}]}");
    assertEquals(java.util.List.of(new IceServer(java.util.List.of("turn:a.example:3478?transport=tcp"), "1:x", "y")),
        o.iceServers());
    assertEquals(java.util.List.of(), ((Offer) codec.decode(head + "}")).iceServers());
    String wire = codec.encode(o);
    assertTrue(wire.contains("\"ice_servers\":[{\"urls\":[\"turn:a.example:3478?transport=tcp\"],\"username\":\"1:x\","
        + "\"credential\":\"y\"}]"), wire);
    assertFalse(codec.encode(new Offer(CID_A, "r", SDP, false, 5)).contains("ice_servers"));
    assertFalse(o.iceServers().get(0).toString().contains("\"y\"") || o.iceServers().get(0).toString().contains("=y"));
    reject(head + ",\"ice_servers\":{}}");
    reject(head + ",\"ice_servers\":[{\"urls\":[\"http://x\"]}]}");
    reject(head + ",\"ice_servers\":[{\"urls\":[]}]}");
    reject(head + ",\"ice_servers\":[{\"urls\":[\"turn:x:1\"],\"username\":\"u\"}]}");
    reject(head + ",\"ice_servers\":[{\"urls\":[\"turn:x:1\"],\"extra\":1}]}");
    reject(head + ",\"ice_servers\":[" + "{\"urls\":[\"stun:x:1\"]},".repeat(8) + "{\"urls\":[\"stun:x:1\"]}]}");
  }

  @Test
  void redirect_locationMustBeAWebSocketUrlWithAHost() {
    assertEquals(SignalingException.Reason.MISSING_FIELD, reject("{\"type\":\"redirect\"}").reason());
    for (String bad : new String[] {"http://h/signaling", "ws:///nohost", "javascript:alert(1)", "",
        "ws://user:pw@h/signaling", "ws://h/s#frag", "ws://h/" + "x".repeat(Redirect.MAX_LOCATION_CHARS)}) {
      SignalingException e = reject("{\"type\":\"redirect\",\"location\":\"" + bad + "\"}");
      assertTrue(e.reason() == SignalingException.Reason.INVALID_FIELD
          || e.reason() == SignalingException.Reason.TOO_LARGE, bad + " " + e.reason());
    }
    assertEquals(SignalingException.Reason.UNKNOWN_FIELD,
        reject("{\"type\":\"redirect\",\"location\":\"ws://h/s\",\"x\":1}").reason());
  }
}
