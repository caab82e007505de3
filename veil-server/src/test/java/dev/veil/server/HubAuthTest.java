package dev.veil.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.veil.server.auth.AuthConfig;
import dev.veil.server.auth.MintToken;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The hub with {@code auth.mode = "token"}, in memory on a manual clock (wall clock set by the test). */
class HubAuthTest {
  private static final long NOW = 1_800_000_000_000L;
  private static final byte[] SECRET = "an-hs256-secret-of-at-least-32-bytes!!".getBytes(StandardCharsets.US_ASCII);
  private final HubFixture fx = new HubFixture();
  private final ManualScheduler clock = fx.clock;
  private final Stats stats = fx.stats;
  private Hub hub;


  private void start(AuthConfig auth) {
    hub = fx.hub(ServerConfig.defaults().withAuth(auth));
    hub.wallClock = () -> NOW;
  }

  private static String token(String channel, List<String> roles, long ttlSeconds) throws Exception {
    return MintToken.mint(SECRET, channel, roles, "user-secret-subject", NOW, ttlSeconds);
  }

  private FakeWs connect(String role, String channel, String token) {
    FakeWs ws = fx.socket();
    fx.connect(hub, fx.open(hub, ws), ws, "{\"type\":\"connect\",\"role\":\"" + role + "\",\"channel_id\":\""
        + channel + "\"" + (token == null ? "" : ",\"token\":\"" + token + "\"")
        + ",\"signaling_notify_metadata\":{\"name\":\"n\"}}");
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

  /** A webhook the test answers by hand; records what it was asked. */
  private static final class FakeWebhook implements dev.veil.server.auth.AuthWebhook {
    final List<String> asked = new ArrayList<>();
    final List<java.util.function.Consumer<Boolean>> pending = new ArrayList<>();

    @Override
    public void ask(String requestJson, java.util.function.Consumer<Boolean> decision) {
      asked.add(requestJson);
      pending.add(decision);
    }
  }

  @Test
  void webhook_allows_denies_andTimesOut() throws Exception {
    start(new AuthConfig(true, SECRET, null, 30).withWebhook("http://127.0.0.1:9/hook", 2000));
    FakeWebhook hook = new FakeWebhook();
    hub.webhook = hook;
    String t = token("room", List.of("publish", "subscribe"), 60);
    FakeWs a = connect("sendrecv", "room", t);
    assertTrue(a.read.isEmpty(), "held until the webhook answers");
    assertEquals(1, hook.asked.size());
    assertFalse(hook.asked.get(0).contains(t.split("\\.")[1]) || hook.asked.get(0).contains("token"),
        "the token is not sent to the webhook: " + hook.asked.get(0));
    assertTrue(hook.asked.get(0).contains("\"channel_id\":\"room\""), hook.asked.get(0));
    hook.pending.get(0).accept(true);
    clock.runDue();
    assertEquals("offer", a.read().get(0).path("type").asText());

    FakeWs b = connect("sendrecv", "room", t);
    hook.pending.get(1).accept(false);
    clock.runDue();
    assertTrue(reasonOf(b).startsWith("webhook_denied: "), reasonOf(b));
    assertEquals(Hub.CLOSE_POLICY, b.closeCode);

    FakeWs c = connect("sendrecv", "room", t);
    clock.advanceSeconds(1.9);
    assertEquals(-1, c.closeCode);
    clock.advanceSeconds(0.2);
    assertTrue(reasonOf(c).contains("did not answer in time"), reasonOf(c));
    assertEquals(Hub.CLOSE_POLICY, c.closeCode);
    hook.pending.get(2).accept(true); // a late answer changes nothing
    clock.runDue();
    assertEquals(-1, a.closeCode, "the admitted member stays");
    assertTrue(stats.get("signaling.refused.webhook_denied") == 2);

    FakeWs bad = connect("sendrecv", "room", null); // the token check comes first: the webhook is not asked
    assertTrue(reasonOf(bad).startsWith("token_missing: "));
    assertEquals(3, hook.asked.size());
  }
}
