package dev.veil.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.veil.webrtc.stun.StunAttribute;
import dev.veil.webrtc.stun.StunClass;
import dev.veil.webrtc.stun.StunMessage;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.eclipse.jetty.websocket.client.WebSocketClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Hostile datagrams on the shared media port of a real server (ephemeral ports): malformed STUN, DTLS, RTP and
 * RTCP, unknown sources and ufrags, wrong ICE passwords. They are dropped and counted, a bad ICE password gets a
 * 401, and the server stays up: the member's signaling still works and a valid ICE check is still answered.
 */
class UdpHostileInputTest {
  private VeilServer server;
  private WebSocketClient client;
  private WsTestClient member;
  private String serverUfrag;
  private String serverPwd;
  private DatagramSocket socket;
  private final Random random = new Random(42);

  @BeforeEach
  void start() throws Exception {
    server = new VeilServer(ServerConfig.defaults().withPorts(0, 0));
    server.start();
    client = new WebSocketClient();
    client.start();
    member = WsTestClient.connect(client, server.httpPort());
    member.send("{\"type\":\"connect\",\"role\":\"sendrecv\",\"channel_id\":\"udp\"}");
    JsonNode offer = member.expect("offer");
    String sdp = offer.get("sdp").asText();
    for (String l : sdp.split("\r\n")) {
      if (l.startsWith("a=ice-ufrag:")) {
        serverUfrag = l.substring(12);
      } else if (l.startsWith("a=ice-pwd:")) {
        serverPwd = l.substring(10);
      }
    }
    member.send("{\"type\":\"answer\",\"sdp\":" + new com.fasterxml.jackson.databind.ObjectMapper()
        .writeValueAsString(new FakeBrowserSdp(1).answer(sdp, true)) + "}");
    member.expect("notify");
    socket = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    socket.setSoTimeout((int) (WsTestClient.WAIT_SECONDS * 1000));
  }

  @AfterEach
  void stop() throws Exception {
    if (socket != null) {
      socket.close();
    }
    client.stop();
    server.close();
  }

  private void send(byte[] b) throws Exception {
    socket.send(new DatagramPacket(b, b.length, InetAddress.getLoopbackAddress(), server.rtcPort()));
  }

  private byte[] randomBytes(int n, int first) {
    byte[] b = new byte[n];
    random.nextBytes(b);
    b[0] = (byte) first;
    return b;
  }

  private byte[] bindingRequest(String username, String password) {
    byte[] tid = new byte[12];
    random.nextBytes(tid);
    return StunMessage.builder(StunClass.REQUEST, StunMessage.METHOD_BINDING, tid)
        .add(new StunAttribute.Username(username))
        .add(new StunAttribute.IceControlling(random.nextLong()))
        .add(new StunAttribute.Priority(0x6e7f00ffL))
        .add(new StunAttribute.UseCandidate())
        .encode(password.getBytes(StandardCharsets.UTF_8), true);
  }

  /** Sends a datagram and waits for the STUN response to it (the loop handles datagrams in order). */
  private StunMessage exchange(byte[] request) throws Exception {
    send(request);
    byte[] buf = new byte[1500];
    DatagramPacket p = new DatagramPacket(buf, buf.length);
    socket.receive(p);
    return StunMessage.decode(buf, 0, p.getLength());
  }

  private Map<String, Long> counters() {
    return server.counters();
  }

  private long counter(String name) {
    return counters().getOrDefault(name, 0L);
  }

  @Test
  void garbageFromUnknownSources_isDroppedAndCounted() throws Exception {
    send(randomBytes(100, 0xFF));                       // no RFC 7983 kind
    send(randomBytes(100, 0x00));                       // STUN-ish, malformed
    send(bindingRequest("nobody:fake", "fakefakefakefakefakefake")); // unknown ufrag
    send(randomBytes(120, 0x16));                       // DTLS record from an address that passed no ICE check
    byte[] rtp = randomBytes(200, 0x80);
    rtp[1] = 0x60;
    send(rtp);
    byte[] rtcp = randomBytes(60, 0x80);
    rtcp[1] = (byte) 200;
    send(rtcp);
    send(randomBytes(1800, 0x80));                      // larger than any media datagram
    int barriers = 0;
    for (int i = 0; i < 500; i++) {                     // a flood of every kind, in batches that fit the buffers
      send(randomBytes(1 + random.nextInt(1200), random.nextInt(256)));
      if (i % 25 == 24) {
        assertEquals(StunClass.SUCCESS_RESPONSE, exchange(bindingRequest(serverUfrag + ":fake", serverPwd))
            .messageClass());
        barriers++;
      }
    }
    // barrier: a valid check is answered after all of the above was handled
    StunMessage ok = exchange(bindingRequest(serverUfrag + ":fake", serverPwd));
    barriers++;
    assertEquals(StunClass.SUCCESS_RESPONSE, ok.messageClass());
    assertTrue(ok.verifyIntegrity(serverPwd.getBytes(StandardCharsets.UTF_8)));
    assertEquals(socket.getLocalSocketAddress(), ok.get(StunAttribute.XorMappedAddress.class).orElseThrow().address());

    assertTrue(counter("udp.dropped.unknown_kind") >= 1);
    assertTrue(counter("udp.dropped.stun_malformed") >= 1);
    assertTrue(counter("udp.dropped.unknown_ufrag") >= 1);
    assertTrue(counter("udp.dropped.unknown_source.dtls") >= 1);
    assertTrue(counter("udp.dropped.unknown_source.rtp") >= 1);
    assertTrue(counter("udp.dropped.unknown_source.rtcp") >= 1);
    assertEquals(1, counter("udp.dropped.size"));
    assertEquals(7 + 500 + barriers, counter("udp.datagrams_in"));
    // the server is up and the member's signaling is unaffected
    assertEquals(List.of(), member.sync());
    assertEquals(1, server.stats().connections());
  }

  @Test
  void wrongIcePassword_gets401_andValidatesNothing() throws Exception {
    StunMessage r = exchange(bindingRequest(serverUfrag + ":fake", "wrongwrongwrongwrongwrong"));
    assertEquals(StunClass.ERROR_RESPONSE, r.messageClass());
    assertEquals(401, r.get(StunAttribute.ErrorCode.class).orElseThrow().code());
    // not validated: its DTLS and RTP are still "unknown source"
    send(randomBytes(120, 0x16));
    StunMessage ok = exchange(bindingRequest(serverUfrag + ":fake", serverPwd));
    assertEquals(StunClass.SUCCESS_RESPONSE, ok.messageClass());
    assertEquals(1, counter("udp.dropped.unknown_source.dtls"));
    assertEquals(1, counter("media.stun_error_responses"));
  }

  @Test
  void garbageFromAValidatedAddress_isDroppedByTheTransport() throws Exception {
    assertEquals(StunClass.SUCCESS_RESPONSE, exchange(bindingRequest(serverUfrag + ":fake", serverPwd))
        .messageClass());
    long dtlsBefore = counter("media.dropped.dtls");
    byte[] dtls = randomBytes(80, 0x16);
    dtls[1] = (byte) 0xfe;
    dtls[2] = (byte) 0xfd;
    send(dtls);                                        // a DTLS record header with garbage behind it
    send(randomBytes(13, 0x17));                       // a truncated application-data record
    byte[] rtp = randomBytes(300, 0x80);
    rtp[1] = 0x6f;
    send(rtp);                                         // SRTP before any keys: dropped
    byte[] rtcp = randomBytes(40, 0x81);
    rtcp[1] = (byte) 201;
    send(rtcp);
    byte[] stunJunk = randomBytes(64, 0x01);           // STUN class bits, garbage body
    send(stunJunk);
    StunMessage ok = exchange(bindingRequest(serverUfrag + ":fake", serverPwd));
    assertEquals(StunClass.SUCCESS_RESPONSE, ok.messageClass());
    Map<String, Long> c = counters();
    assertTrue(c.getOrDefault("media.dropped.dtls", 0L) + c.getOrDefault("media.received.dtls", 0L) >= dtlsBefore + 2,
        c.toString());
    assertTrue(c.getOrDefault("media.dropped.rtp", 0L) >= 1, c.toString());
    assertTrue(c.getOrDefault("media.dropped.rtcp", 0L) >= 1, c.toString());
    assertTrue(c.getOrDefault("media.dropped.stun", 0L) >= 1, c.toString());
    assertEquals(List.of(), member.sync());
  }
}
