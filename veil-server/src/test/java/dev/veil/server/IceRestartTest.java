package dev.veil.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.veil.webrtc.stun.StunAttribute;
import dev.veil.webrtc.stun.StunClass;
import dev.veil.webrtc.stun.StunMessage;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * ICE restart through a real server (ephemeral ports) with clients made of Veil's own engines: {@code ice-restart}
 * yields a re-offer with new ice-ufrag/ice-pwd and the same m-lines, checks with the new credentials are accepted
 * (and then the old ones are not), media keeps flowing, also after a client moves to a new address; requests
 * faster than one per 2 s, before the answer or before connect, and answers that change ICE credentials without
 * a restart are refused.
 */
class IceRestartTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private MediaTestServer fx;
  private final AudioFlow audio = new AudioFlow();

  @BeforeEach
  void start() throws Exception {
    fx = MediaTestServer.start();
  }

  @AfterEach
  void stop() throws Exception {
    fx.close();
  }

  /** Sends audio from {@code pub} until {@code sub} got {@code n} of those packets (with a deadline). */
  private void flow(MediaTestPeer pub, MediaTestPeer sub, int n) throws Exception {
    audio.send(pub, sub, n, false); // packets of an earlier flow() may still be on their way
  }

  /** The m= and a=mid lines of an SDP, in order. */
  private static List<String> mlines(String sdp) {
    List<String> out = new ArrayList<>();
    for (String l : sdp.split("\r\n")) {
      if (l.startsWith("m=") || l.startsWith("a=mid:")) {
        out.add(l);
      }
    }
    return out;
  }

  private static int errorCode(StunMessage m) {
    assertEquals(StunClass.ERROR_RESPONSE, m.messageClass());
    return m.get(StunAttribute.ErrorCode.class).orElseThrow().code();
  }

  private long counter(String name) {
    return fx.server.counters().getOrDefault(name, 0L);
  }

  @Test
  void iceRestart_reofferHasNewCredentials_newChecksAccepted_oldRetired_mediaKeepsFlowing() throws Exception {
    try (MediaTestPeer pub = fx.peer("ice", "sendonly", 21);
        MediaTestPeer sub = fx.peer("ice", "recvonly", 22)) {
      flow(pub, sub, 10);
      String oldUfrag = sub.serverUfrag();
      String oldPwd = sub.serverPwd();
      String oldLocal = sub.localUfrag();

      String reoffer = sub.restartIce();
      assertNotEquals(oldUfrag, sub.serverUfrag(), "new ice-ufrag");
      assertNotEquals(oldPwd, sub.serverPwd(), "new ice-pwd");
      assertEquals(mlines(sub.offerSdp), mlines(reoffer), "same m-lines");
      assertEquals(MediaTestPeer.ssrcs(sub.offerSdp), MediaTestPeer.ssrcs(reoffer));

      // until the client checks with the new credentials, the old path keeps working
      flow(pub, sub, 5);
      assertEquals(StunClass.SUCCESS_RESPONSE, sub.check(oldUfrag, oldPwd, oldLocal, false).messageClass());

      // the new credentials are accepted; from then on the old ones are not
      assertEquals(StunClass.SUCCESS_RESPONSE,
          sub.check(sub.serverUfrag(), sub.serverPwd(), sub.localUfrag(), true).messageClass());
      assertEquals(401, errorCode(sub.check(oldUfrag, oldPwd, oldLocal, false)));
      // the server took the client's new ufrag from the re-answer
      assertEquals(401, errorCode(sub.check(sub.serverUfrag(), sub.serverPwd(), oldLocal, false)));

      flow(pub, sub, 10);
      assertEquals(1, counter("signaling.ice_restarts"));
      assertEquals(1, counter("media.ice_restarts"));
      assertEquals(2, fx.server.stats().connections());
    }
  }

  @Test
  void iceRestart_afterANetworkChange_mediaFollowsBothClientsToTheirNewAddresses() throws Exception {
    try (MediaTestPeer pub = fx.peer("moving", "sendonly", 31);
        MediaTestPeer sub = fx.peer("moving", "recvonly", 32)) {
      flow(pub, sub, 10);

      int before = sub.localPort();
      sub.restartIce();
      sub.moveToNewPort();
      assertNotEquals(before, sub.localPort());
      assertEquals(StunClass.SUCCESS_RESPONSE,
          sub.check(sub.serverUfrag(), sub.serverPwd(), sub.localUfrag(), true).messageClass());
      flow(pub, sub, 10); // reaches the subscriber's new port

      pub.restartIce();
      pub.moveToNewPort();
      assertEquals(StunClass.SUCCESS_RESPONSE,
          pub.check(pub.serverUfrag(), pub.serverPwd(), pub.localUfrag(), true).messageClass());
      flow(pub, sub, 10); // sent from the publisher's new port

      assertEquals(2, counter("media.ice_restarts"));
      assertEquals(0L, counter("signaling.internal_errors"));
    }
  }

  @Test
  void iceRestart_twiceWithinTheInterval_secondIsAnsweredWithError_connectionStays() throws Exception {
    try (MediaTestPeer p = fx.peer("eager", "sendrecv", 41)) {
      p.ws.send("{\"type\":\"ice-restart\"}");
      p.ws.send("{\"type\":\"ice-restart\"}");
      String reoffer = p.ws.expectSkippingPings("re-offer").get("sdp").asText();
      String reason = p.ws.expectSkippingPings("error").get("reason").asText();
      assertTrue(reason.contains("at most one every 2000 ms"), reason);
      p.answerIceRestart(reoffer);
      assertEquals(StunClass.SUCCESS_RESPONSE,
          p.check(p.serverUfrag(), p.serverPwd(), p.localUfrag(), true).messageClass());
      assertEquals(1, counter("signaling.ice_restart.rejected.rate"));
      assertEquals(1, counter("media.ice_restarts"));
      assertEquals(1, fx.server.stats().connections());
    }
  }

  @Test
  void iceRestart_beforeConnect_isAViolation_beforeTheAnswer_isAnError() throws Exception {
    WsTestClient early = WsTestClient.connect(fx.client, fx.server.httpPort());
    early.send("{\"type\":\"ice-restart\"}");
    assertTrue(early.expect("error").get("reason").asText().contains("ice-restart before connect"));
    assertTrue(early.awaitClosed());

    WsTestClient w = WsTestClient.connect(fx.client, fx.server.httpPort());
    w.send("{\"type\":\"connect\",\"role\":\"sendrecv\",\"channel_id\":\"pending\"}");
    String offer = w.expect("offer").get("sdp").asText();
    w.send("{\"type\":\"ice-restart\"}");
    assertTrue(w.expect("error").get("reason").asText().contains("answer the offer first"));
    w.send("{\"type\":\"answer\",\"sdp\":" + JSON.writeValueAsString(new FakeBrowserSdp(5).answer(offer, true))
        + "}");
    assertEquals("connection.created", w.expect("notify").get("event_type").asText());
    assertEquals(1, fx.server.stats().connections());
    assertEquals(0, counter("media.ice_restarts"));
    w.close();
  }

  @Test
  void reAnswer_changingIceCredentialsWithoutARestart_isRefused() throws Exception {
    try (MediaTestPeer sub = fx.peer("sneaky", "recvonly", 51);
        MediaTestPeer pub = fx.peer("sneaky", "sendonly", 52)) {
      assertEquals("connection.created", sub.ws.expectSkippingPings("notify").get("event_type").asText());
      String reoffer = sub.ws.expectSkippingPings("re-offer").get("sdp").asText();
      String answer = new FakeBrowserSdp(53).answer(reoffer, false); // ice-ufrag "fake", not the client's
      sub.ws.send("{\"type\":\"re-answer\",\"sdp\":" + JSON.writeValueAsString(answer) + "}");
      String reason = sub.ws.expectSkippingPings("error").get("reason").asText();
      assertTrue(reason.contains("changes its ICE credentials without an ICE restart"), reason);
      assertTrue(sub.ws.awaitClosed());
    }
  }
}
