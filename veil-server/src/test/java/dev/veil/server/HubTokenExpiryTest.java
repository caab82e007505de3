package dev.veil.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.veil.server.auth.AuthConfig;
import dev.veil.server.auth.MintToken;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A member whose access token expires during the call is disconnected at the expiry ({@code token_expired}), in
 * memory on a manual clock: the loop clock and the wall clock move together, as in a server.
 */
class HubTokenExpiryTest {
  private static final long NOW = 1_800_000_000_000L;
  private static final int SKEW_SECONDS = 30;
  private static final byte[] SECRET = "an-hs256-secret-of-at-least-32-bytes!!".getBytes(StandardCharsets.US_ASCII);
  private final HubFixture fx = new HubFixture();
  private final ManualScheduler clock = fx.clock;
  private final long loopStart = clock.nowNanos();
  /** Wall-clock offset the test sets (a clock set back). */
  private long wallShift;
  private final Stats stats = fx.stats;
  private Hub hub;


  private void start(boolean tokens, boolean disconnectOnExpiry) {
    AuthConfig auth = tokens ? new AuthConfig(true, SECRET, null, SKEW_SECONDS) : AuthConfig.open();
    hub = fx.hub(ServerConfig.defaults().withKeepalive(3600, 100).withAuth(auth));
    hub.disconnectOnExpiry = disconnectOnExpiry;
    hub.wallClock = () -> NOW + (clock.nowNanos() - loopStart) / 1_000_000 + wallShift;
  }

  private FakeWs join(long ttlSeconds) throws Exception {
    FakeWs ws = fx.socket();
    String token = MintToken.mint(SECRET, "room", List.of("publish", "subscribe"), "u", NOW, ttlSeconds);
    List<JsonNode> got = fx.connect(hub, fx.open(hub, ws), ws,
        "{\"type\":\"connect\",\"role\":\"sendrecv\",\"channel_id\":\"room\",\"token\":\"" + token + "\"}");
    assertEquals("offer", got.get(0).path("type").asText());
    ws.read();
    return ws;
  }

  private String error(FakeWs ws) {
    for (JsonNode n : fx.readAll(ws)) {
      if (n.path("type").asText().equals("error")) {
        return n.path("reason").asText();
      }
    }
    return null;
  }

  @Test
  void expiringToken_disconnectsTheMemberAtExpiryPlusSkew_andNoOneElse() throws Exception {
    start(true, true);
    FakeWs shortLived = join(60);
    FakeWs longLived = join(3600);
    assertEquals(null, error(shortLived)); // reads the notify of the second join: nothing left unread
    clock.advanceSeconds(60 + SKEW_SECONDS - 0.01);
    assertEquals(-1, shortLived.closeCode, "still valid within the clock skew");
    clock.advanceSeconds(0.02);
    assertTrue(error(shortLived).startsWith("token_expired: "), String.valueOf(error(shortLived)));
    assertEquals(Hub.CLOSE_POLICY, shortLived.closeCode);
    assertEquals(1, stats.get("signaling.closed.token_expired"));
    assertEquals(-1, longLived.closeCode);
    longLived.read();
    assertEquals("connection.destroyed", longLived.read.get(longLived.read.size() - 1).path("event_type").asText(),
        "the other member is told it left");
  }

  @Test
  void wallClockSetBack_reArmsForTheRest() throws Exception {
    start(true, true);
    FakeWs m = join(60);
    wallShift = -10_000; // the wall clock jumps back 10 s after the join
    clock.advanceSeconds(60 + SKEW_SECONDS + 1);
    assertEquals(-1, m.closeCode, "by the wall clock the token is still valid");
    clock.advanceSeconds(10);
    assertTrue(error(m).startsWith("token_expired: "));
  }

  @Test
  void switchedOff_orOpenMode_membersStay() throws Exception {
    start(true, false);
    FakeWs m = join(60);
    clock.advanceSeconds(3600);
    assertEquals(-1, m.closeCode);
    assertEquals(0, stats.get("signaling.closed.token_expired"));
  }
}
