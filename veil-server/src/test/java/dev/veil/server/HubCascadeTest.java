package dev.veil.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.veil.server.cluster.ChannelBus;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * Two hubs whose members share a channel, joined by an in-memory {@link ChannelBus} (the semantics of the Redis one:
 * a node does not hear itself), on one manual clock: the other node's members appear in {@code notify}, and an
 * {@code e2ee} or {@code data} message to a member of the other node reaches it, stamped with its true sender and
 * its payload untouched.
 */
class HubCascadeTest {
  private final HubFixture fx = new HubFixture();
  private final Map<String, Map<String, Consumer<ChannelBus.Message>>> subscribers = new HashMap<>();

  private ChannelBus bus(String node) {
    subscribers.put(node, new HashMap<>());
    return new ChannelBus() {
      @Override
      public void subscribe(String channelId, Consumer<Message> handler) {
        subscribers.get(node).put(channelId, handler);
      }

      @Override
      public void unsubscribe(String channelId) {
        subscribers.get(node).remove(channelId);
      }

      @Override
      public boolean publish(String channelId, long epoch, String body) {
        subscribers.forEach((n, subs) -> {
          Consumer<Message> h = subs.get(channelId);
          if (!n.equals(node) && h != null) {
            h.accept(new Message(channelId, epoch, node, body));
          }
        });
        return true;
      }

      @Override
      public long dropped() {
        return 0;
      }

      @Override
      public void close() { }
    };
  }

  private Hub hub(String node) {
    Hub hub = fx.hub(ServerConfig.defaults(), new Stats());
    hub.enableCascade(bus(node));
    return hub;
  }

  private record Member(Conn conn, FakeWs ws, String id) { }

  private Member join(Hub hub, String role) {
    FakeWs ws = fx.socket();
    Conn c = fx.open(hub, ws);
    List<JsonNode> got = fx.connect(hub, c, ws,
        "{\"type\":\"connect\",\"role\":\"" + role + "\",\"channel_id\":\"room\",\"e2ee\":true}");
    assertEquals("offer", got.get(0).path("type").asText());
    drain(ws);
    return new Member(c, ws, c.id);
  }

  /** Runs the loop (the bus's deliveries are queued on it), then reads everything {@code ws} got. */
  private void drain(FakeWs ws) {
    fx.clock.runDue();
    fx.readAll(ws);
  }

  private static List<JsonNode> ofType(FakeWs ws, String type) {
    return ws.read.stream().filter(j -> j.path("type").asText().equals(type)).toList();
  }

  @Test
  void membersOfTheOtherNodeAreNotifiedAndKeyMessagesCrossUntouched() {
    Hub a = hub("A");
    Hub b = hub("B");
    Member pub = join(a, "sendonly");
    Member sub = join(b, "recvonly");
    drain(pub.ws());
    drain(sub.ws());

    // the newcomer on B is told of the publisher on A (B hears of it once its first roster is answered, so as a
    // connection.created of its own after the newcomer's), and the publisher of it
    JsonNode own = ofType(sub.ws(), "notify").get(0);
    assertEquals(sub.id(), own.path("connection_id").asText());
    JsonNode pubSeen = ofType(sub.ws(), "notify").stream()
        .filter(n -> n.path("connection_id").asText().equals(pub.id())).findFirst().orElseThrow();
    assertEquals("connection.created", pubSeen.path("event_type").asText());
    assertEquals("sendonly", pubSeen.path("role").asText());
    assertEquals(2, pubSeen.path("channel_connections").asInt());
    // a later newcomer on B finds both in its own notify's list
    Member late = join(b, "recvonly");
    JsonNode lateOwn = ofType(late.ws(), "notify").get(0);
    assertEquals(List.of(sub.id(), pub.id()), lateOwn.path("data").findValuesAsText("connection_id"));
    assertEquals(3, lateOwn.path("channel_connections").asInt());
    JsonNode heard = ofType(pub.ws(), "notify").stream()
        .filter(n -> n.path("connection_id").asText().equals(sub.id())).findFirst().orElseThrow();
    assertEquals("connection.created", heard.path("event_type").asText());
    assertEquals(2, heard.path("channel_connections").asInt());
    drain(pub.ws());
    assertEquals(3, ofType(pub.ws(), "notify").size(), "its own, sub's and late's");

    // a sender key (ciphertext for its recipient) from A's member to B's: stamped with the sender, payload as sent
    a.text(pub.conn(), "{\"type\":\"e2ee\",\"to\":\"" + sub.id() + "\",\"payload\":\"q83vEjRWeJA=\"}");
    drain(sub.ws());
    JsonNode key = ofType(sub.ws(), "e2ee").get(0);
    assertEquals(pub.id(), key.path("from").asText());
    assertEquals("q83vEjRWeJA=", key.path("payload").asText());
    assertTrue(key.path("to").isMissingNode() || key.path("to").isNull());

    // and back, a data message addressed to the publisher
    b.text(sub.conn(), "{\"type\":\"data\",\"to\":\"" + pub.id() + "\",\"payload\":\"aGk=\"}");
    drain(pub.ws());
    JsonNode data = ofType(pub.ws(), "data").get(0);
    assertEquals(sub.id(), data.path("from").asText());
    assertEquals("aGk=", data.path("payload").asText());

    // a message to an id no node hosts is refused as before
    a.text(pub.conn(), "{\"type\":\"e2ee\",\"to\":\"ABCDEFGHJKMNPQRSTVWXYZ0123\",\"payload\":\"AA==\"}");
    drain(pub.ws());
    assertTrue(ofType(pub.ws(), "error").stream().anyMatch(e -> e.toString().contains("ABCDEFGHJKMNPQRSTVWXYZ0123")),
        pub.ws().read.toString());

    // B's member leaves: A's member is told
    b.closed(sub.conn());
    drain(pub.ws());
    assertTrue(ofType(pub.ws(), "notify").stream().anyMatch(n -> n.path("connection_id").asText().equals(sub.id())
        && n.path("event_type").asText().equals("connection.destroyed")));
  }
}
