package dev.veil.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Join and leave notifies go to every other member, encoded once (a join storm is N² of them). */
class HubBroadcastTest {
  private final HubFixture fx = new HubFixture();

  private static final String CONNECT = "{\"type\":\"connect\",\"role\":\"sendrecv\",\"channel_id\":\"room\"}";

  private static String lastText(FakeWs ws, String type, String event) throws Exception {
    com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
    String found = null;
    for (String t : ws.texts) {
      JsonNode n = json.readTree(t);
      if (n.path("type").asText().equals(type) && n.path("event_type").asText().equals(event)) {
        found = t;
      }
    }
    return found;
  }

  @Test
  void aJoinAndALeave_areOneEncodedNotifyForEveryOtherMember() throws Exception {
    Hub hub = fx.hub(ServerConfig.defaults());
    List<FakeWs> sockets = new ArrayList<>();
    List<Conn> conns = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      FakeWs ws = fx.socket();
      Conn c = fx.open(hub, ws);
      fx.connect(hub, c, ws, CONNECT);
      fx.readAll(ws);
      sockets.add(ws);
      conns.add(c);
    }
    // the 4th join: the three before it got one connection.created, the very same text
    String toFirst = lastText(sockets.get(0), "notify", "connection.created");
    for (int i = 1; i < 3; i++) {
      assertSame(toFirst, lastText(sockets.get(i), "notify", "connection.created"), "member " + i);
    }
    assertTrue(toFirst.contains(conns.get(3).id), toFirst);
    // a member whose queue failed is skipped and counted, the others still get the leave
    long dropped = fx.stats.get("signaling.messages_dropped");
    conns.get(1).outboundFailed = true;
    hub.closed(conns.get(3));
    fx.clock.runDue();
    for (int i = 0; i < 3; i++) {
      fx.readAll(sockets.get(i));
    }
    String left = lastText(sockets.get(0), "notify", "connection.destroyed");
    assertTrue(left != null && left.contains(conns.get(3).id), String.valueOf(left));
    assertSame(left, lastText(sockets.get(2), "notify", "connection.destroyed"));
    assertEquals(null, lastText(sockets.get(1), "notify", "connection.destroyed"), "the failed member got nothing");
    assertEquals(1, fx.stats.get("signaling.messages_dropped") - dropped);
  }
}
