package dev.veil.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.veil.signaling.IceServer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** rtc_tcp_port and turn { ... }: loading, defaults, TURN REST credentials, and the offer's ice_servers. */
class NetConfigTest {
  @TempDir
  Path dir;

  private ServerConfig load(String hocon) throws Exception {
    Path p = dir.resolve("veil.conf");
    Files.writeString(p, hocon);
    return ServerConfig.load(p.toFile());
  }

  @Test
  void defaults_iceTcpOnPort50000_noTurn() {
    ServerConfig c = ServerConfig.defaults();
    assertEquals(50000, c.net().rtcTcpPort());
    assertTrue(c.net().iceTcp());
    assertNull(c.net().turn());
    // an ephemeral UDP port makes the TCP port ephemeral too; -1 stays off
    assertEquals(0, c.withPorts(0, 0).net().rtcTcpPort());
    assertEquals(50000, c.withPorts(0, null).net().rtcTcpPort());
    assertEquals(-1, c.withRtcTcpPort(-1).withPorts(0, 0).net().rtcTcpPort());
    assertFalse(c.withRtcTcpPort(-1).net().iceTcp());
  }

  @Test
  void load_turnAndTcpPort() throws Exception {
    ServerConfig c = load("rtc_tcp_port = 443\nturn { urls = [\"turn:t.example:3478?transport=tcp\"], "
        + "secret = \"s3cret\", ttl_seconds = 600 }\n");
    assertEquals(443, c.net().rtcTcpPort());
    assertEquals(List.of("turn:t.example:3478?transport=tcp"), c.net().turn().urls());
    assertEquals(600, c.net().turn().ttlSeconds());
    assertFalse(c.net().turn().toString().contains("s3cret"), "the secret stays out of toString");
    assertFalse(c.toString().contains("s3cret"));
  }

  @Test
  void load_turnSecretFile() throws Exception {
    Path f = dir.resolve("turn.secret");
    Files.writeString(f, "x".repeat(40) + "\n");
    ServerConfig c = load("turn { urls = [\"turns:t.example:5349\"], secret_file = \"" + f + "\" }\n");
    IceServer s = c.net().turn().credentialsFor("C", 0);
    assertEquals(NetConfig.Turn.credential("x".repeat(40).getBytes(StandardCharsets.UTF_8), s.username()),
        s.credential());
  }

  @Test
  void load_badNetValues_areRefused() {
    for (String bad : new String[] {
        "rtc_tcp_port = -2", "rtc_tcp_port = 65536",
        "turn { urls = [\"turn:x:1\"] }", // no secret
        "turn { urls = [\"turn:x:1\"], secret = \"a\", secret_file = \"/x\" }", // both
        "turn { urls = [\"http://x\"], secret = \"a\" }",
        "turn { urls = [\"turn:x:1\"], secret = \"a\", ttl_seconds = 10 }",
        "turn { urls = [\"turn:x:1\"], secret_file = \"" + "/nonexistent/turn.secret" + "\" }"}) {
      assertThrows(ServerConfig.ConfigurationException.class, () -> load(bad), bad);
    }
  }

  @Test
  void credentials_areTurnRest_expiryColonMember_base64HmacSha1() {
    // HMAC-SHA1 vector: RFC 2202 test case 1 (key 20 x 0x0b, data "Hi There")
    byte[] key = new byte[20];
    java.util.Arrays.fill(key, (byte) 0x0b);
    assertEquals(java.util.Base64.getEncoder().encodeToString(
        HexFormat.of().parseHex("b617318655057264e28bc0b6fb378c8ef146be00")), NetConfig.Turn.credential(key, "Hi There"));
    NetConfig.Turn t = new NetConfig.Turn(List.of("turn:t:3478"), key, 3600);
    IceServer s = t.credentialsFor("MEMBER", 1_700_000_000L);
    assertEquals("1700003600:MEMBER", s.username());
    assertEquals(NetConfig.Turn.credential(key, "1700003600:MEMBER"), s.credential());
    assertEquals(List.of("turn:t:3478"), s.urls());
  }

  @Test
  void offer_carriesIceServersWithCredentialsForThatConnection() throws Exception {
    NetConfig.Turn turn = new NetConfig.Turn(List.of("turn:127.0.0.1:3478?transport=tcp"),
        "secret".getBytes(StandardCharsets.UTF_8), 600);
    try (MediaTestServer fx = MediaTestServer.start(ServerConfig.defaults().withNet(
        ServerConfig.defaults().net().withTurn(turn)))) {
      WsTestClient ws = WsTestClient.connect(fx.client, fx.server.httpPort());
      ws.send("{\"type\":\"connect\",\"role\":\"sendrecv\",\"channel_id\":\"turn\"}");
      long before = System.currentTimeMillis() / 1000;
      JsonNode offer = ws.expect("offer");
      String cid = offer.get("connection_id").asText();
      JsonNode e = offer.get("ice_servers").get(0);
      assertEquals("turn:127.0.0.1:3478?transport=tcp", e.get("urls").get(0).asText());
      String user = e.get("username").asText();
      assertTrue(user.endsWith(":" + cid), user);
      long expiry = Long.parseLong(user.substring(0, user.indexOf(':')));
      assertTrue(expiry >= before + 599 && expiry <= before + 601 + 5, "expiry " + expiry + " now " + before);
      assertEquals(NetConfig.Turn.credential("secret".getBytes(StandardCharsets.UTF_8), user),
          e.get("credential").asText());
      ws.close();
    }
  }

  @Test
  void offer_withoutTurn_hasNoIceServers() throws Exception {
    try (MediaTestServer fx = MediaTestServer.start()) {
      WsTestClient ws = WsTestClient.connect(fx.client, fx.server.httpPort());
      ws.send("{\"type\":\"connect\",\"role\":\"sendrecv\",\"channel_id\":\"noturn\"}");
      assertFalse(ws.expect("offer").has("ice_servers"));
      ws.close();
    }
  }
}
