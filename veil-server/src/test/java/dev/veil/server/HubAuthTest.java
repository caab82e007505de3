package dev.veil.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.veil.server.auth.AuthConfig;
import dev.veil.server.auth.MintToken;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The hub with {@code auth.mode = "token"}, in memory on a manual clock (wall clock set by the test). */
class HubAuthTest {
  private static final long NOW = 1_800_000_000_000L;
  private static final byte[] SECRET = "an-hs256-secret-of-at-least-32-bytes!!".getBytes(StandardCharsets.US_ASCII);
  private final ManualScheduler clock = new ManualScheduler();
  private final Stats stats = new Stats();
  private Hub hub;
  private int sockets;

  private static final Media MEDIA = (id, channel, role, audio, video, onFailed) -> new Media.Peer() {
    @Override
    public String offer(List<Media.Track> receive) {
      return "v=0\r\ns=-\r\n";
    }

    @Override
    public List<Media.Track> answer(String sdp) {
      return List.of();
    }

    @Override
    public void restartIce() {}

    @Override
    public void close() {}
  };

  private void start(AuthConfig auth) {
    hub = new Hub(clock, ServerConfig.defaults().withAuth(auth), stats, MEDIA, new ConnectionIds(new SecureRandom()));
    hub.wallClock = () -> NOW;
  }

  private static String token(String channel, List<String> roles, long ttlSeconds) throws Exception {
    return MintToken.mint(SECRET, channel, roles, "user-secret-subject", NOW, ttlSeconds);
  }

  private FakeWs connect(String role, String channel, String token) {
    FakeWs ws = new FakeWs("10.0.0." + (++sockets));
    Conn c = hub.opened(ws);
    clock.runDue();
    hub.text(c, "{\"type\":\"connect\",\"role\":\"" + role + "\",\"channel_id\":\"" + channel + "\""
        + (token == null ? "" : ",\"token\":\"" + token + "\"")
        + ",\"signaling_notify_metadata\":{\"name\":\"n\"}}");
    clock.runDue();
    List<JsonNode> got = ws.read();
    if (!got.isEmpty() && got.get(0).path("type").asText().equals("offer")) {
      hub.text(c, "{\"type\":\"answer\",\"sdp\":\"v=0\\r\\n\"}");
      clock.runDue();
    }
    return ws;
  }

  /** The token with one signature character changed. */
  private static String forge(String t) {
    int i = t.length() - 10;
    return t.substring(0, i) + (t.charAt(i) == 'A' ? 'B' : 'A') + t.substring(i + 1);
  }

  private static String reasonOf(FakeWs ws) {
    List<JsonNode> all = new ArrayList<>(ws.read);
    all.addAll(ws.read());
    for (JsonNode n : all) {
      if (n.path("type").asText().equals("error")) {
        return n.path("reason").asText();
      }
    }
    return "(no error in " + all + ")";
  }

  @Test
  void openByDefault_connectWithoutTokenJoins() {
    start(AuthConfig.open());
    FakeWs a = connect("sendrecv", "room", null);
    assertEquals(-1, a.closeCode);
    assertEquals("offer", a.read.get(0).path("type").asText());
  }

  @Test
  void tokenMode_refusesEachBadToken_withItsCode_andClosesOnlyThatSocket() throws Exception {
    start(new AuthConfig(true, SECRET, null, 30));
    FakeWs good = connect("sendrecv", "room", token("room", List.of("publish", "subscribe"), 60));
    assertEquals(-1, good.closeCode);
    String[][] cases = {
        {"sendrecv", null, "token_missing"},
        {"sendrecv", "garbage", "token_invalid"},
        {"sendrecv", token("room", List.of("publish", "subscribe"), -60), "token_expired"},
        {"sendrecv", token("elsewhere", List.of("publish", "subscribe"), 60), "token_wrong_channel"},
        {"sendrecv", token("room", List.of("subscribe"), 60), "token_role"},
        {"sendrecv", forge(token("room", List.of("publish", "subscribe"), 60)), "token_forged"},
    };
    for (String[] k : cases) {
      FakeWs bad = connect(k[0], "room", k[1]);
      assertTrue(reasonOf(bad).startsWith(k[2] + ": "), k[2] + " <- " + reasonOf(bad));
      assertEquals(Hub.CLOSE_POLICY, bad.closeCode, k[2]);
      assertTrue(stats.get("signaling.refused." + k[2]) > 0, k[2]);
    }
    assertEquals(-1, good.closeCode, "the member with a good token stays");
    FakeWs viewer = connect("recvonly", "room", token("room", List.of("subscribe"), 60));
    assertEquals(-1, viewer.closeCode);
  }

  @Test
  void tokenContents_neverReachOtherMembers() throws Exception {
    start(new AuthConfig(true, SECRET, null, 30));
    String ta = token("room", List.of("publish", "subscribe"), 60);
    FakeWs a = connect("sendrecv", "room", ta);
    String tb = token("room", List.of("publish", "subscribe"), 120);
    FakeWs b = connect("sendrecv", "room", tb);
    List<JsonNode> seenByA = new ArrayList<>(a.read);
    seenByA.addAll(a.read());
    List<JsonNode> seenByB = new ArrayList<>(b.read);
    seenByB.addAll(b.read());
    assertTrue(seenByA.stream().anyMatch(n -> n.path("type").asText().equals("notify")), seenByA.toString());
    String textA = seenByA.toString();
    String textB = seenByB.toString();
    for (String secretPart : new String[] {tb, tb.split("\\.")[1], "user-secret-subject", "\"token\""}) {
      assertFalse(textA.contains(secretPart), "a saw b's token: " + textA);
    }
    for (String secretPart : new String[] {ta, ta.split("\\.")[1], "user-secret-subject", "\"token\""}) {
      assertFalse(textB.contains(secretPart), "b saw a's token: " + textB);
    }
  }
}
