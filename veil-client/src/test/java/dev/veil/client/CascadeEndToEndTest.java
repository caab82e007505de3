package dev.veil.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.veil.server.ServerConfig;
import dev.veil.server.VeilServer;
import dev.veil.server.cluster.ClusterConfig;
import dev.veil.server.cluster.RedisDirectory;
import dev.veil.server.cluster.RedisServer;
import dev.veil.server.cluster.relay.RelayBudget;
import dev.veil.server.cluster.relay.RelayTransport;
import dev.veil.signaling.Notify;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A cascaded channel between real nodes (issue 12, docs/PROTOCOL.md §1.9.3): a redis-server and three in-process
 * veil-server nodes on loopback, each with room for one member. Alice joins the channel on node 1 (its owner), which
 * is then full; bob connects to node 2, which becomes the channel's relay node. Their media crosses the node link
 * (real UDP, HMAC per datagram) and the signaling the bus (Redis pub/sub); with E2EE on, each decodes the other's
 * frames byte for byte, and the datagrams of the link carry the very ciphertext bob receives. Carol connects to the
 * full owner and is redirected to node 3, which has another relay secret: its links are refused (nothing of it
 * authenticates) and carol gets no media. Bob leaving ends his track at alice on node 1. A link over its budget is
 * closed, that link only.
 */
class CascadeEndToEndTest {
  private static final String ROOM = "cascade-room";
  private static final byte[] SECRET = "the cluster's relay secret, 32+ bytes long".getBytes(StandardCharsets.UTF_8);
  private static final byte[] WRONG = "another cluster's relay secret, 32+ bytes".getBytes(StandardCharsets.UTF_8);
  private RedisServer redis;
  private RedisDirectory directory;
  private final List<VeilServer> nodes = new ArrayList<>();
  private final List<URI> urls = new ArrayList<>();
  private final List<TestPeer> peers = new ArrayList<>();

  @BeforeEach
  void redis() throws Exception {
    redis = new RedisServer();
    directory = new RedisDirectory(redis.url(), "veil:", Duration.ofSeconds(2));
  }

  /** {@code count} nodes n1.. with room for one member each (n3 with another relay secret); n2's link budget. */
  private void startNodes(int count, RelayBudget.Limits n2Budget) throws Exception {
    for (int i = 1; i <= count; i++) {
      ClusterConfig cc = ClusterConfig.redis(redis.url(), "n" + i, "").withTimings(200, 2000, 4000)
          .withRelaySecret(i == 3 ? WRONG : SECRET);
      // one member per node: the owner is full after alice, the first relay node after bob
      VeilServer s = new VeilServer(ServerConfig.defaults().withPorts(0, 0).withE2ee(true).withLimits(1, 10, 10),
          cc);
      if (i == 2 && n2Budget != null) {
        s.setCascadeBudgetForTesting(n2Budget);
      }
      s.start();
      nodes.add(s);
      urls.add(URI.create("ws://127.0.0.1:" + s.httpPort() + "/signaling"));
    }
  }

  @AfterEach
  void stop() throws Exception {
    for (TestPeer p : peers) {
      p.close();
    }
    for (VeilServer s : nodes) {
      s.close();
    }
    directory.close();
    redis.close();
  }

  private TestPeer join(String name, int node) throws Exception {
    TestPeer p = new TestPeer(name, urls.get(node), ROOM, Options.e2eeSenderKeys());
    peers.add(p);
    return p.connect();
  }

  /** Waits until the directory lists node {@code i} (0-based) as full (its heartbeat carries its load). */
  private void awaitFull(int i) {
    TestPeer.await("node n" + (i + 1) + " listed full", () -> directory.liveNodes().stream()
        .anyMatch(n -> n.nodeId().equals("n" + (i + 1)) && n.full()));
  }

  @Test
  void membersOnTwoNodesDecodeEachOtherOverTheNodeLink_aWrongSecretIsRefused_aLeaveEndsTheTrack() throws Exception {
    startNodes(3, null);
    TestPeer alice = join("alice", 0);
    assertEquals(0, alice.connection.redirectCount());
    assertEquals(Set.of(ROOM), nodes.get(0).cluster().hosted(), "node 1 owns the channel");
    awaitFull(0);

    long t0 = System.nanoTime();
    TestPeer bob = join("bob", 1);
    long bobJoinedMs = (System.nanoTime() - t0) / 1_000_000;
    assertEquals(0, bob.connection.redirectCount(), "bob stays on node 2: the owner is full");
    assertEquals(urls.get(1), bob.connection.signalingUrl());
    assertEquals(Set.of(ROOM), nodes.get(1).cluster().relayedChannels(), "node 2 relays the channel");
    assertEquals(Set.of(), nodes.get(1).cluster().hosted(), "a relay node never claims the channel");
    assertEquals(List.of("n2"), directory.relays(ROOM));

    // the key exchange crosses the bus: each sees the other's identity and they agree on the room code
    TestPeer.await("alice and bob know each other's identity", () ->
        alice.connection.e2eeRemoteFingerprints().containsKey(bob.id())
            && bob.connection.e2eeRemoteFingerprints().containsKey(alice.id())
            && alice.connection.e2eeVerificationCode() != null
            && alice.connection.e2eeVerificationCode().equals(bob.connection.e2eeVerificationCode()));
    TestPeer.await("the node link between n1 and n2 is up", () -> {
      RelayTransport a = nodes.get(0).cascadeLinkForTesting(ROOM, "n2");
      RelayTransport b = nodes.get(1).cascadeLinkForTesting(ROOM, "n1");
      return a != null && b != null && a.up() && b.up();
    });
    RelayTransport link = nodes.get(0).cascadeLinkForTesting(ROOM, "n2");
    List<byte[]> wire = new java.util.concurrent.CopyOnWriteArrayList<>();
    link.tap(d -> {
      if (wire.size() < 2000) {
        wire.add(d.clone());
      }
    });
    TestPeer.exchangeUntil("alice and bob decoded 20 frames of each other", List.of(alice, bob),
        () -> alice.receivedFrom(bob) >= 20 && bob.receivedFrom(alice) >= 20);
    long decodingMs = (System.nanoTime() - t0) / 1_000_000;
    alice.assertReceivedExactly(bob);
    bob.assertReceivedExactly(alice);
    assertTrue(alice.hasAudioTrackOf(bob) && bob.hasAudioTrackOf(alice));

    // untouched: the ciphertext bob received from alice crossed the node link byte for byte, never the plaintext
    List<byte[]> rawAtBob = bob.raw.get(alice.id());
    byte[] last = rawAtBob.get(rawAtBob.size() - 1);
    assertFalse(new String(last, StandardCharsets.ISO_8859_1).contains("alice:"), "the frame body is encrypted");
    TestPeer.await("the link's datagrams include the ciphertext bob received", () -> {
      List<byte[]> raw = bob.raw.get(alice.id());
      for (int i = Math.max(0, raw.size() - 40); i < raw.size(); i++) {
        byte[] f = raw.get(i);
        for (byte[] d : wire) {
          if (TestPeer.containsBytes(d, f)) {
            return true;
          }
        }
      }
      alice.sendFrame();
      return false;
    });
    for (byte[] d : wire) {
      assertFalse(new String(d, StandardCharsets.ISO_8859_1).contains("alice:"), "no plaintext on the node link");
    }

    // carol's node has another relay secret. She connects to the full owner, which redirects her to a relay node
    // with room: n3 (n2 is full too); n3 relays the channel, but none of its links comes up
    awaitFull(1);
    TestPeer carol = join("carol", 0);
    assertEquals(1, carol.connection.redirectCount(), "the full owner redirected carol to a relay node");
    assertEquals(urls.get(2), carol.connection.signalingUrl());
    assertEquals(Set.of(ROOM), nodes.get(2).cluster().relayedChannels());
    assertEquals(List.of("n2", "n3"), directory.relays(ROOM));
    TestPeer.await("n3's link handshakes with n1 and n2 fail authentication", () -> {
      RelayTransport c1 = nodes.get(2).cascadeLinkForTesting(ROOM, "n1");
      RelayTransport c2 = nodes.get(2).cascadeLinkForTesting(ROOM, "n2");
      return c1 != null && c2 != null && c1.stats().rejectedAuth() > 0 && c2.stats().rejectedAuth() > 0;
    });
    TestPeer.exchangeUntil("alice and bob still decode each other with carol's node refused",
        List.of(alice, bob), () -> alice.receivedFrom(bob) >= 40 && bob.receivedFrom(alice) >= 40);
    for (String other : List.of("n1", "n2")) {
      RelayTransport refused = nodes.get(2).cascadeLinkForTesting(ROOM, other);
      assertFalse(refused.up(), "n3 -> " + other + " never authenticated");
      assertEquals(0, refused.stats().sessions());
      RelayTransport peer = nodes.get(Integer.parseInt(other.substring(1)) - 1).cascadeLinkForTesting(ROOM, "n3");
      assertTrue(peer == null || !peer.up(), other + " -> n3 never authenticated");
    }
    assertEquals(0, carol.receivedFrom(alice), "no media reaches carol over a refused link");
    assertEquals(0, carol.receivedFrom(bob));
    assertFalse(carol.hasAudioTrackOf(alice));

    // bob leaves node 2: his track ends at alice on node 1, and she is told he left
    bob.connection.disconnect().get(10, java.util.concurrent.TimeUnit.SECONDS);
    TestPeer.await("bob's track ends at alice", () -> alice.removedTracks.stream()
        .anyMatch(t -> t.connectionId().equals(bob.id())));
    TestPeer.await("alice is told bob left", () -> alice.notifies.stream().anyMatch(
        n -> n.eventType() == Notify.EventType.CONNECTION_DESTROYED && bob.id().equals(n.connectionId())));
    assertTrue(alice.connection.isConnected());
    System.out.printf("cascade proof: bob's connect on the relay node %d ms; connect -> alice and bob each decoded 20 "
        + "frames of the other over the node link %d ms; link n1->n2 %s%n", bobJoinedMs, decodingMs, link.stats());
    for (TestPeer p : List.of(alice, bob)) {
      assertTrue(p.errors().stream().noneMatch(e -> e.source().equals("keys")), p.errors().toString());
    }
  }

  @Test
  void aLinkOverItsBudgetIsClosed_thatLinkOnly_theMembersStay() throws Exception {
    // n2 takes at most 20 packets per second from a link: alice's ~200 frames per second overflow it
    startNodes(2, new RelayBudget.Limits(20, 1_000_000, 64));
    TestPeer alice = join("alice", 0);
    List<DataMessage> aliceData = new java.util.concurrent.CopyOnWriteArrayList<>();
    alice.connection.onData(aliceData::add);
    awaitFull(0);
    TestPeer bob = join("bob", 1);
    assertEquals(Set.of(ROOM), nodes.get(1).cluster().relayedChannels());
    TestPeer.await("the node link between n1 and n2 is up", () -> {
      RelayTransport b = nodes.get(1).cascadeLinkForTesting(ROOM, "n1");
      return b != null && b.up();
    });
    TestPeer.exchangeUntil("n2 closed its link from n1 over the budget", List.of(alice, bob),
        () -> nodes.get(1).stats().get("cascade.links_closed_budget") == 1);
    TestPeer.await("the link is gone on n2", () -> nodes.get(1).cascadeLinkForTesting(ROOM, "n1") == null);
    // only the link: both members stay connected in the channel, and the signaling still crosses the bus
    assertTrue(alice.connection.isConnected() && bob.connection.isConnected());
    assertTrue(alice.disconnects.isEmpty() && bob.disconnects.isEmpty());
    TestPeer.await("alice and bob know each other's identity", () ->
        alice.connection.e2eeRemoteFingerprints().containsKey(bob.id())
            && bob.connection.e2eeRemoteFingerprints().containsKey(alice.id()));
    int[] polls = {0};
    TestPeer.await("bob's data reaches alice over the bus", () -> {
      if (polls[0]++ % 40 == 0) { // sent again every ~200 ms until one arrives (a data key may still be on its way)
        bob.connection.sendData("still here", alice.id());
      }
      return aliceData.stream().anyMatch(d -> d.from().equals(bob.id()));
    });
    assertEquals(0, nodes.get(0).stats().get("cascade.links_closed_budget"), "n1's budget was not exceeded");
  }
}
