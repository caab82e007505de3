package dev.veil.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The SFU's DTLS role over real UDP: a peer that answers {@code a=setup:passive} (as Pion does to an ICE-lite
 * offer) gets the SFU's ClientHello after its ICE check, and SRTP then flows both ways; {@code active} peers are
 * unaffected in the same channel; an answer with another role is refused and closes only that connection.
 */
class DtlsRoleTest {
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
  void passiveAnswer_sfuIsDtlsClient_srtpFlowsBothWays() throws Exception {
    try (MediaTestPeer pub = fx.passivePeer("roles", "sendonly", 31);
        MediaTestPeer sub = fx.peer("roles", "recvonly", 32);
        MediaTestPeer passiveSub = fx.passivePeer("roles", "recvonly", 33)) {
      long pubSsrc = MediaTestPeer.ssrcs(pub.answerSdp).get(0);
      long subSsrc = MediaTestPeer.ssrcs(sub.offerSdp).get(0);
      long passiveSubSsrc = MediaTestPeer.ssrcs(passiveSub.offerSdp).get(0);
      int gotActive = 0;
      int gotPassive = 0;
      long deadline = System.currentTimeMillis() + 15_000;
      for (int seq = 1; gotActive < 10 || gotPassive < 10; seq++) {
        assertTrue(System.currentTimeMillis() < deadline, "forwarded: active " + gotActive + ", passive " + gotPassive);
        // uplink: SRTP from a passive (DTLS server) publisher, decrypted by the SFU with client-side keys
        pub.sendOpus(pubSsrc, seq, seq * 960L, ("frame " + seq).getBytes(StandardCharsets.US_ASCII));
        for (MediaTestPeer.Rtp r; (r = sub.pollRtp()) != null; ) {
          assertEquals(subSsrc, r.ssrc());
          assertTrue(new String(r.payload(), StandardCharsets.US_ASCII).startsWith("frame "));
          gotActive++;
        }
        // downlink: SRTP to a passive subscriber, protected with the SFU's client-side keys
        for (MediaTestPeer.Rtp r; (r = passiveSub.pollRtp()) != null; ) {
          assertEquals(passiveSubSsrc, r.ssrc());
          assertTrue(new String(r.payload(), StandardCharsets.US_ASCII).startsWith("frame "));
          gotPassive++;
        }
      }
      Map<String, Long> c = fx.server.counters();
      assertEquals(2L, c.getOrDefault("media.dtls_client_role", 0L), c.toString());
      assertEquals(3L, c.getOrDefault("media.transports_connected", 0L), c.toString());
      assertEquals(0L, c.getOrDefault("media.transports_failed", 0L), c.toString());
      assertEquals(0L, c.getOrDefault("signaling.internal_errors", 0L));
    }
  }

  @Test
  void actpassAnswer_refusedWithAClearError_othersUnaffected() throws Exception {
    try (MediaTestPeer ok = fx.peer("roles", "sendrecv", 34)) {
      WsTestClient bad = WsTestClient.connect(fx.client, fx.server.httpPort());
      bad.send("{\"type\":\"connect\",\"role\":\"sendrecv\",\"channel_id\":\"roles\"}");
      JsonNode offer = bad.expect("offer");
      String answer = new FakeBrowserSdp(35, "abcd", "0123456789abcdefghijklmn",
          ok.answerSdp.lines().filter(l -> l.startsWith("a=fingerprint:")).findFirst().orElseThrow().substring(14))
          .answer(offer.get("sdp").asText(), true).replace("a=setup:active", "a=setup:actpass");
      bad.send("{\"type\":\"answer\",\"sdp\":" + new com.fasterxml.jackson.databind.ObjectMapper()
          .writeValueAsString(answer) + "}");
      String reason = bad.expect("error").get("reason").asText();
      assertTrue(reason.contains("setup") && reason.contains("active or passive"), reason);
      assertTrue(bad.awaitClosed());
      assertEquals(1, fx.server.stats().connections(), "only the offender was closed");
      Map<String, Long> c = fx.server.counters();
      assertEquals(1L, c.getOrDefault("signaling.rejected.answer", 0L), c.toString());
    }
  }
}
