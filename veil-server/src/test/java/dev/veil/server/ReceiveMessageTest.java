package dev.veil.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The {@code receive} message (a subscriber's simulcast height limit) through a real server: before {@code connect}
 * it is a protocol violation; after it, for all tracks or for a track it does not receive, it is taken without a
 * reply and the connection carries on; out of range it is a bad message.
 */
class ReceiveMessageTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private MediaTestServer fx;

  @BeforeEach
  void start() throws Exception {
    fx = MediaTestServer.start();
  }

  @AfterEach
  void stop() throws Exception {
    fx.close();
  }

  @Test
  void receive_beforeConnectIsAViolation_afterItIsTaken() throws Exception {
    WsTestClient early = WsTestClient.connect(fx.client, fx.server.httpPort());
    early.send("{\"type\":\"receive\",\"max_height\":360}");
    assertTrue(early.expect("error").get("reason").asText().contains("receive before connect"));
    assertTrue(early.awaitClosed());

    WsTestClient w = WsTestClient.connect(fx.client, fx.server.httpPort());
    w.send("{\"type\":\"connect\",\"role\":\"recvonly\",\"channel_id\":\"r\",\"receive_max_height\":180}");
    String offer = w.expect("offer").get("sdp").asText();
    w.send("{\"type\":\"receive\",\"max_height\":360}"); // before the answer: remembered for later tracks
    w.send("{\"type\":\"answer\",\"sdp\":" + JSON.writeValueAsString(new FakeBrowserSdp(5).answer(offer, true))
        + "}");
    assertEquals("connection.created", w.expect("notify").get("event_type").asText());
    w.send("{\"type\":\"receive\",\"max_height\":0,\"track_id\":\"no-such-track\"}");
    w.send("{\"type\":\"ping\"}");
    w.expect("pong"); // still connected, nothing said about it
    assertEquals(1, fx.server.stats().connections());

    w.send("{\"type\":\"receive\",\"max_height\":99999}");
    assertTrue(w.expect("error").get("reason").asText().contains("max_height"));
    assertTrue(w.awaitClosed());
  }
}
