package dev.veil.signaling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.veil.signaling.SignalingException.Reason;
import org.junit.jupiter.api.Test;

/** connect's {@code token} field (docs/PROTOCOL.md §1.2, §1.7). */
class ConnectTokenCodecTest {
  private final SignalingCodec codec = new SignalingCodec();
  private static final String TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJjaGFubmVsIjoiYSJ9.c2lnbmF0dXJl";

  @Test
  void token_roundTrips_andIsAbsentWhenNull() throws Exception {
    Connect c = Connect.of(Role.SENDRECV, "a", false).withToken(TOKEN);
    String text = codec.encode(c);
    assertEquals(TOKEN, new ObjectMapper().readTree(text).get("token").asText());
    assertEquals(c, codec.decode(text));
    assertFalse(codec.encode(Connect.of(Role.SENDRECV, "a", false)).contains("token"));
    assertNull(((Connect) codec.decode("{\"type\":\"connect\",\"role\":\"sendrecv\",\"channel_id\":\"a\"}")).token());
  }

  @Test
  void token_isBounded_andMustBeAString() {
    SignalingException big = assertThrows(SignalingException.class, () -> codec.decode(
        "{\"type\":\"connect\",\"role\":\"sendrecv\",\"channel_id\":\"a\",\"token\":\""
            + "x".repeat(Connect.MAX_TOKEN_CHARS + 1) + "\"}"));
    assertEquals(Reason.TOO_LARGE, big.reason());
    assertFalse(big.getMessage().contains("xxxx"), "the token is not quoted back");
    SignalingException num = assertThrows(SignalingException.class, () -> codec.decode(
        "{\"type\":\"connect\",\"role\":\"sendrecv\",\"channel_id\":\"a\",\"token\":5}"));
    assertEquals(Reason.INVALID_FIELD, num.reason());
    assertThrows(IllegalArgumentException.class,
        () -> Connect.of(Role.SENDRECV, "a", false).withToken("x".repeat(Connect.MAX_TOKEN_CHARS + 1)));
  }

  @Test
  void toString_neverShowsTheToken() {
    String s = Connect.of(Role.SENDRECV, "a", false).withToken(TOKEN).toString();
    assertFalse(s.contains(TOKEN) || s.contains("eyJ"), s);
    assertTrue(s.contains("token=present"), s);
  }
}
