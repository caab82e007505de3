package dev.veil.signaling;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The MLS key mode on the wire: {@code e2ee_key_mode}, {@code mls}, {@code mls_event}, and the public framing. */
class MlsSignalingTest {
  private static final String CID_A = "0123456789ABCDEFGHJKMNPQRS";
  private static final String CID_B = "ZYXWVTSRQPNMKJHGFEDCBA9876";
  private final SignalingCodec codec = new SignalingCodec();

  private void roundTrip(SignalingMessage m) throws Exception {
    String text = codec.encode(m);
    assertEquals(m, codec.decode(text), text);
  }

  @Test
  void roundTrips() throws Exception {
    roundTrip(Connect.of(Role.SENDRECV, "room", true).withKeyMode(Connect.KEY_MODE_MLS));
    roundTrip(Connect.of(Role.SENDRECV, "room", true).withKeyMode(Connect.KEY_MODE_SENDER_KEYS));
    roundTrip(Mls.of(new byte[] {0, 1, 0, 5}));
    roundTrip(Mls.commit(new byte[] {0, 1, 0, 1}, new byte[] {0, 1, 0, 3}, List.of(CID_A, CID_B)));
    roundTrip(Mls.from(CID_A, "AAEC"));
    roundTrip(MlsEvent.create(new byte[] {1, 2}));
    roundTrip(MlsEvent.join(new byte[] {1, 2}));
    roundTrip(MlsEvent.refused(7, "stale epoch 7"));
    // docs/PROTOCOL.md §4.8 (additive): the server's external sender, a commit's leaves, a proposal without from
    roundTrip(MlsEvent.create(new byte[] {1, 2}, new byte[] {32, 9}));
    roundTrip(Mls.commit(new byte[] {0, 1, 0, 1}, null, null, List.of(CID_A, "", CID_B)));
    roundTrip(Mls.external(new byte[] {0, 1, 0, 1}));
    assertEquals(List.of(CID_A, "", CID_B), ((Mls) codec.decode("{\"type\":\"mls\",\"payload\":\"AAEC\","
        + "\"leaves\":[\"" + CID_A + "\",\"\",\"" + CID_B + "\"]}")).leaves());
    assertEquals(null, ((MlsEvent) codec.decode("{\"type\":\"mls_event\",\"event\":\"create\","
        + "\"group_id\":\"AQI=\"}")).externalSender(), "an old server's create still decodes");
    assertEquals("mls", codec.decode(codec.encode(Connect.of(Role.SENDRECV, "r", true)
        .withKeyMode("mls"))) instanceof Connect c ? c.effectiveKeyMode() : null);
    assertEquals("sender-keys", Connect.of(Role.SENDRECV, "r", true).effectiveKeyMode());
  }

  @Test
  void unknownKeyModeIsRefusedNeverReplaced() {
    SignalingException e = assertThrows(SignalingException.class, () -> codec.decode(
        "{\"type\":\"connect\",\"role\":\"sendrecv\",\"channel_id\":\"r\",\"e2ee\":true,\"e2ee_key_mode\":\"olm\"}"));
    assertEquals("unknown e2ee_key_mode 'olm' (expected 'sender-keys' or 'mls')", e.getMessage());
    SignalingException e2 = assertThrows(SignalingException.class, () -> codec.decode(
        "{\"type\":\"connect\",\"role\":\"sendrecv\",\"channel_id\":\"r\",\"e2ee_key_mode\":\"mls\"}"));
    assertEquals("'e2ee_key_mode' needs 'e2ee': true", e2.getMessage());
    assertThrows(IllegalArgumentException.class, () -> Connect.of(Role.SENDRECV, "r", true).withKeyMode("x"));
  }

  @Test
  void malformedMlsMessagesAreRefused() {
    assertThrows(SignalingException.class, () -> codec.decode("{\"type\":\"mls\",\"payload\":\"\"}"));
    assertThrows(SignalingException.class, () -> codec.decode("{\"type\":\"mls\",\"payload\":\"AAEC\","
        + "\"welcome\":\"AAEC\"}"));
    assertThrows(SignalingException.class, () -> codec.decode("{\"type\":\"mls\",\"payload\":\"AAEC\","
        + "\"welcome_to\":[\"" + CID_A + "\"]}"));
    assertThrows(SignalingException.class, () -> codec.decode("{\"type\":\"mls\",\"payload\":\"AAEC\","
        + "\"welcome\":\"AAEC\",\"welcome_to\":[\"nope\"]}"));
    assertThrows(SignalingException.class, () -> codec.decode("{\"type\":\"mls_event\",\"event\":\"boom\"}"));
    assertThrows(SignalingException.class, () -> codec.decode("{\"type\":\"mls\",\"payload\":\"AAEC\","
        + "\"leaves\":[\"no pe\"]}"));
    assertThrows(SignalingException.class, () -> codec.decode("{\"type\":\"mls_event\",\"event\":\"create\","
        + "\"external_sender\":\"!!\"}"));
  }

  @Test
  void publicFraming() {
    byte[] pub = {0, 1, 0, 1, 2, 'g', 'i', 0, 0, 0, 0, 0, 0, 1, 2, 1, 0, 0, 0, 5, 1, 9, 3, 99};
    MlsFraming f = MlsFraming.parse(pub);
    assertEquals(MlsFraming.PUBLIC_MESSAGE, f.wireFormat());
    assertArrayEquals(new byte[] {'g', 'i'}, f.groupId());
    assertEquals(0x102, f.epoch());
    assertEquals(MlsFraming.COMMIT, f.contentType());
    assertEquals(1, f.senderType());
    byte[] priv = {0, 1, 0, 2, 1, 'g', 0, 0, 0, 0, 0, 0, 0, 7, 2, 0};
    MlsFraming p = MlsFraming.parse(priv);
    assertEquals(7, p.epoch());
    assertEquals(MlsFraming.PROPOSAL, p.contentType());
    // a two-byte varint length (0x40 | hi, lo)
    byte[] longGid = new byte[4 + 2 + 70 + 8 + 1];
    longGid[1] = 1;
    longGid[3] = 2;
    longGid[4] = 0x40;
    longGid[5] = 70;
    longGid[longGid.length - 1] = 1;
    assertEquals(70, MlsFraming.parse(longGid).groupId().length);
    assertEquals(2, MlsFraming.parse(new byte[] {0, 1, 0, 5, 0, 1, 0, 2}).cipherSuite());
    for (byte[] bad : new byte[][] {{}, {0, 1}, {0, 1, 0, 1, 5, 'a'}, {0, 1, 0, 1, (byte) 0xC0, 0, 0, 0, 0, 0, 0, 0},
        {0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9}, {0, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4},
        {0, 1, 0, 6}, {0, 2, 0, 1}}) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MlsFraming.parse(bad));
      assertTrue(e.getMessage().length() > 5);
    }
  }
}
