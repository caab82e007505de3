package dev.veil.server.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.veil.server.cluster.CascadeCoordinator.Output;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * CascadeCoordinator with a manual clock: nodes joined by an in-memory bus with the semantics of
 * {@link RedisChannelBus} (a node's own messages are not delivered back to it, older epochs are dropped).
 */
class CascadeCoordinatorTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String CH = "room";

  private final Map<String, CascadeCoordinator> nodes = new LinkedHashMap<>();
  private final Map<String, List<Output>> seen = new LinkedHashMap<>();
  private final Map<String, Long> newestEpoch = new LinkedHashMap<>();
  private long now = 1_000;
  private boolean dropNextPublish;
  private int published;

  @BeforeEach
  void nodes() {
    for (String n : List.of("A", "B", "C")) {
      nodes.put(n, new CascadeCoordinator(1000, 3000, 3));
      seen.put(n, new ArrayList<>());
    }
  }

  /** Drains every node until nothing is left, carrying Publish outputs over the bus. */
  private void pump() {
    boolean more = true;
    while (more) {
      more = false;
      for (Map.Entry<String, CascadeCoordinator> e : nodes.entrySet()) {
        Output o;
        while ((o = e.getValue().pollOutput()) != null) {
          more = true;
          if (o instanceof Output.Publish p) {
            published++;
            if (dropNextPublish) {
              dropNextPublish = false;
              continue;
            }
            for (Map.Entry<String, CascadeCoordinator> to : nodes.entrySet()) {
              String key = to.getKey() + "/" + p.channelId();
              long newest = newestEpoch.getOrDefault(key, 0L);
              if (!to.getKey().equals(e.getKey()) && p.epoch() >= newest) {
                newestEpoch.put(key, p.epoch());
                to.getValue().onBus(new ChannelBus.Message(p.channelId(), p.epoch(), e.getKey(), p.body()), now);
              }
            }
          } else {
            seen.get(e.getKey()).add(o);
          }
        }
      }
    }
  }

  private void tickAll() {
    nodes.values().forEach(c -> c.tick(now));
    pump();
  }

  private List<String> joined(String node) {
    return seen.get(node).stream().filter(o -> o instanceof Output.RemoteJoined)
        .map(o -> ((Output.RemoteJoined) o).connectionId()).toList();
  }

  private List<String> left(String node) {
    return seen.get(node).stream().filter(o -> o instanceof Output.RemoteLeft)
        .map(o -> ((Output.RemoteLeft) o).connectionId()).toList();
  }

  private List<Output.Deliver> delivered(String node) {
    return seen.get(node).stream().filter(o -> o instanceof Output.Deliver).map(o -> (Output.Deliver) o).toList();
  }

  @Test
  void membersOfEachNodeAreAnnouncedToTheOther_withRoleAndMetadata() throws Exception {
    nodes.get("A").localJoined(CH, 7, "pub", "sendonly", JSON.readTree("{\"name\":\"p\"}"), now);
    pump();
    nodes.get("B").localJoined(CH, 7, "sub1", "recvonly", null, now);
    nodes.get("B").localJoined(CH, 7, "sub2", "recvonly", null, now);
    pump();
    assertEquals(List.of("sub1", "sub2"), joined("A"));
    assertEquals(List.of("pub"), joined("B"));
    assertEquals(new Output.NodeUp(CH, "A"), seen.get("B").get(0), "the first message of a node makes it known");
    Output.RemoteJoined pub = (Output.RemoteJoined) seen.get("B").get(1);
    assertEquals("A", pub.node());
    assertEquals("sendonly", pub.role());
    assertEquals("p", pub.metadata().get("name").asText());
    assertEquals(2, nodes.get("A").remoteCount(CH));
    assertEquals("B", nodes.get("A").remoteNodeOf(CH, "sub1"));
    assertEquals(0, nodes.get("A").refused());
    // C hosts nobody in the channel: it stores nothing and tells no one
    assertTrue(seen.get("C").isEmpty());
    assertEquals(Long.MAX_VALUE, nodes.get("C").nextTimeoutMillis());
  }

  @Test
  void anE2eeMessageToARemoteMemberReachesOnlyIt_verbatim() {
    nodes.get("A").localJoined(CH, 1, "pub", "sendonly", null, now);
    nodes.get("B").localJoined(CH, 1, "sub1", "recvonly", null, now);
    nodes.get("C").localJoined(CH, 1, "sub2", "recvonly", null, now);
    pump();
    String keyMessage = "{\"type\":\"e2ee\",\"from\":\"pub\",\"payload\":\"AAECAwQ=\"}";
    assertTrue(nodes.get("A").relayTo(CH, "sub1", keyMessage));
    assertFalse(nodes.get("A").relayTo(CH, "nobody", keyMessage), "an unknown id is not relayed");
    pump();
    assertEquals(List.of(new Output.Deliver(CH, "sub1", keyMessage)), delivered("B"));
    assertTrue(delivered("C").isEmpty());
    assertEquals(0, nodes.get("C").refused(), "a message for another node's member is ignored, not refused");
    assertTrue(nodes.get("B").relayToAll(CH, "{\"type\":\"data\",\"from\":\"sub1\",\"payload\":\"eA==\"}"));
    pump();
    assertEquals(1, delivered("A").size());
    assertEquals("pub", delivered("A").get(0).to());
    assertEquals(List.of("sub2"), delivered("C").stream().map(Output.Deliver::to).toList());
  }

  @Test
  void aLostJoinOrLeaveIsRepairedByTheNextRoster() {
    nodes.get("A").localJoined(CH, 1, "pub", "sendonly", null, now);
    nodes.get("B").localJoined(CH, 1, "sub1", "recvonly", null, now);
    pump();
    dropNextPublish = true; // the join of sub2 is lost (pub/sub is at most once)
    nodes.get("B").localJoined(CH, 1, "sub2", "recvonly", null, now);
    pump();
    assertEquals(List.of("sub1"), joined("A"));
    now += 1000;
    assertEquals(now, nodes.get("B").nextTimeoutMillis());
    tickAll();
    assertEquals(List.of("sub1", "sub2"), joined("A"));
    dropNextPublish = true; // the leave of sub1 is lost
    nodes.get("B").localLeft(CH, "sub1");
    pump();
    assertTrue(left("A").isEmpty());
    now += 1000;
    tickAll();
    assertEquals(List.of("sub1"), left("A"));
    assertEquals(1, nodes.get("A").remoteCount(CH));
  }

  @Test
  void aSilentNodesMembersLeave_andTheLastLocalLeaveForgetsTheChannel() {
    nodes.get("A").localJoined(CH, 1, "pub", "sendonly", null, now);
    nodes.get("B").localJoined(CH, 1, "sub1", "recvonly", null, now);
    pump();
    nodes.remove("B"); // B dies: no more rosters
    now += 2999;
    tickAll();
    assertTrue(left("A").isEmpty());
    now += 1;
    tickAll();
    assertEquals(List.of("sub1"), left("A"));
    assertEquals(0, nodes.get("A").remoteCount(CH));
    nodes.get("A").localLeft(CH, "pub");
    pump();
    assertEquals(Long.MAX_VALUE, nodes.get("A").nextTimeoutMillis());
  }

  @Test
  void lastLocalLeaveReportsTheRemoteMembersGone() {
    nodes.get("A").localJoined(CH, 1, "pub", "sendonly", null, now);
    nodes.get("B").localJoined(CH, 1, "sub1", "recvonly", null, now);
    pump();
    nodes.get("A").localLeft(CH, "pub");
    pump();
    assertEquals(List.of("sub1"), left("A"));
    assertEquals(List.of("pub"), left("B"));
    assertFalse(nodes.get("A").relayTo(CH, "sub1", "{}"));
  }

  @Test
  void remoteMembersAreBounded_collisionsAndMalformedBodiesRefused() {
    CascadeCoordinator a = nodes.get("A");
    a.localJoined(CH, 1, "pub", "sendonly", null, now);
    pump();
    for (int i = 0; i < 5; i++) {
      nodes.get("B").localJoined(CH, 1, "s" + i, "recvonly", null, now);
    }
    pump();
    assertEquals(3, a.remoteCount(CH), "at most maxRemoteMembers");
    long before = a.refused();
    assertTrue(before >= 2);
    a.onBus(new ChannelBus.Message(CH, 1, "C", "{\"t\":\"join\",\"m\":{\"id\":\"pub\",\"role\":\"recvonly\"}}"), now);
    for (String bad : List.of("not json", "[1]", "{\"t\":\"what\"}", "{\"t\":\"roster\",\"members\":3}",
        "{\"t\":\"to\",\"id\":\"pub\",\"msg\":{\"x\":1}}", "{\"t\":\"join\"}")) {
      a.onBus(new ChannelBus.Message(CH, 1, "C", bad), now);
    }
    assertEquals(before + 7, a.refused());
    assertEquals("B", a.remoteNodeOf(CH, "s0"));
    assertEquals(null, a.remoteNodeOf(CH, "pub"), "a remote id colliding with a local member is not taken");
  }

  @Test
  void publishesCarryTheNewestLeaseEpoch() {
    CascadeCoordinator b = nodes.get("B");
    b.localJoined(CH, 3, "sub1", "recvonly", null, now);
    b.onBus(new ChannelBus.Message(CH, 5, "A", "{\"t\":\"roster\",\"members\":[]}"), now);
    Output o;
    long last = -1;
    while ((o = b.pollOutput()) != null) {
      if (o instanceof Output.Publish p) {
        last = p.epoch();
      }
    }
    assertEquals(5, last, "the answer to a newer owner's roster carries its epoch");
    assertTrue(published == 0);
  }

  @Test
  void nodesComeAndGoForTheMediaSide_andMediaBodiesPassThroughUninterpreted() throws Exception {
    nodes.get("A").localJoined(CH, 3, "a1", "sendrecv", null, now);
    nodes.get("B").localJoined(CH, 3, "b1", "sendrecv", null, now);
    pump();
    assertTrue(seen.get("A").contains(new Output.NodeUp(CH, "B")));
    assertTrue(seen.get("B").contains(new Output.NodeUp(CH, "A")));
    assertEquals(java.util.Set.of("B"), nodes.get("A").nodes(CH));
    assertEquals(3, nodes.get("A").epoch(CH));
    nodes.get("A").setEpoch(CH, 5);
    nodes.get("A").setEpoch(CH, 4); // never lowered
    assertEquals(5, nodes.get("A").epoch(CH));

    com.fasterxml.jackson.databind.node.ObjectNode link = JSON.createObjectNode().put("t", "link").put("to", "B")
        .put("host", "127.0.0.1").put("port", 4242);
    assertTrue(nodes.get("A").publishMedia(CH, link));
    assertFalse(nodes.get("A").publishMedia(CH, JSON.createObjectNode().put("t", "join")), "only media bodies");
    assertFalse(nodes.get("A").publishMedia("other", link), "no local member there");
    pump();
    List<Output.Media> media = seen.get("B").stream().filter(o -> o instanceof Output.Media)
        .map(o -> (Output.Media) o).toList();
    assertEquals(1, media.size());
    assertEquals("A", media.get(0).fromNode());
    assertEquals(link, media.get(0).body());

    // A goes silent (C does not): B's media side drops its link to A; B's last member leaving drops the rest
    nodes.get("C").localJoined(CH, 5, "c1", "sendrecv", null, now);
    pump();
    now += 3_000;
    nodes.get("C").tick(now);
    pump();
    nodes.get("B").tick(now);
    pump();
    assertTrue(seen.get("B").contains(new Output.NodeDown(CH, "A")));
    assertFalse(seen.get("B").contains(new Output.NodeDown(CH, "C")), "C is still heard (its roster)");
    nodes.get("B").localLeft(CH, "b1");
    pump();
    assertTrue(seen.get("B").contains(new Output.NodeDown(CH, "C")));
  }
}
