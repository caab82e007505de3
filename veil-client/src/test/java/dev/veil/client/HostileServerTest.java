package dev.veil.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.veil.e2ee.identity.Bundle;
import dev.veil.e2ee.identity.Identity;
import dev.veil.server.ServerConfig;
import dev.veil.server.VeilServer;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The hostile-server suite, Java SDK side (docs/SECURITY.md §5): a real veil-server whose signaling passes through a
 * {@link HostileRelay} and whose forwarded media passes through {@link HostileMedia}, both scripted by the test as a
 * malicious operator would. Every attack ends <em>prevented</em> (nothing forged, replayed or undecryptable is
 * delivered as media) or <em>detected</em> (the verification codes or fingerprints differ).
 */
class HostileServerTest {
  private static final String CHANNEL = "hostile-room";
  private VeilServer server;
  private HostileRelay relay;
  private final HostileMedia media = new HostileMedia();
  private final List<TestPeer> peers = new ArrayList<>();

  @BeforeEach
  void start() throws Exception {
    server = new VeilServer(ServerConfig.defaults().withPorts(0, 0).withE2ee(true));
    server.start();
    server.setForwardTamperForTesting(media);
    relay = new HostileRelay(server.httpPort());
  }

  @AfterEach
  void stop() throws Exception {
    for (TestPeer p : peers) {
      p.close();
    }
    relay.close();
    server.close();
  }

  private TestPeer join(String name) throws Exception {
    TestPeer p = new TestPeer(name, relay.uri(), CHANNEL, Options.e2ee());
    peers.add(p);
    return p.connect();
  }

  /** Every peer of {@code ps} sees {@code members - 1} others and has decoded 10 frames of each. */
  private static void awaitCall(List<TestPeer> ps) {
    TestPeer.exchangeUntil("everyone decodes everyone", ps, () -> {
      for (TestPeer p : ps) {
        for (TestPeer q : ps) {
          if (p != q && p.receivedFrom(q) < 10) {
            return false;
          }
        }
      }
      return true;
    });
  }

  // ------------------------------------------------------------------------------------------- signaling attacks

  @Test
  void substitutedBundle_isDetected_byFingerprintAndCode_andNoFrameIsDecodedAcrossIt() throws Exception {
    // The server shows alice, for every other member, a bundle of its own made for that member's connection id.
    Map<String, Identity> fakes = new ConcurrentHashMap<>();
    SecureRandom rnd = new SecureRandom();
    relay.script(new HostileRelay.Script() {
      @Override
      public List<JsonNode> fromServer(HostileRelay.Link link, ObjectNode msg) {
        if (link == relay.links.get(0) && msg.path("type").asText().equals("notify")) {
          forEachBundle(msg, (id, meta) -> {
            if (!id.equals(link.connectionId)) {
              Identity fake = fakes.computeIfAbsent(id, k -> Identity.generate(rnd));
              meta.set(Bundle.METADATA_MEMBER, json(fake.bundle(id).toJson()));
            }
          });
        }
        return List.of(msg);
      }
    });
    TestPeer a = join("alice");
    TestPeer b = join("bob");
    TestPeer.await("both see one other member", () -> a.connection.e2eeRemoteFingerprints().size() == 1
        && b.connection.e2eeRemoteFingerprints().size() == 1);

    // detected: alice's view of bob's key is not bob's key, and their codes differ
    assertNotEquals(b.connection.e2eeSelfFingerprint(), a.connection.e2eeRemoteFingerprints().get(b.id()));
    assertEquals(a.connection.e2eeSelfFingerprint(), b.connection.e2eeRemoteFingerprints().get(a.id()));
    assertNotEquals(a.connection.e2eeVerificationCode(), b.connection.e2eeVerificationCode());

    // prevented: frames cross (the server forwards them) but neither side decodes the other's under a wrong key
    TestPeer.exchangeUntil("30 frames each way reached the other", List.of(a, b),
        () -> rawCount(a, b) >= 30 && rawCount(b, a) >= 30);
    assertEquals(0, a.receivedFrom(b));
    assertEquals(0, b.receivedFrom(a));
    assertTrue(a.errors().stream().anyMatch(e -> e.source().equals("frames")), a.errors().toString());
  }

  @Test
  void ghostShownToOneMemberOnly_splitView_isDetected_byTheCode() throws Exception {
    TestPeer a = join("alice");
    TestPeer b = join("bob");
    awaitCall(List.of(a, b));
    String code = a.connection.e2eeVerificationCode();
    assertEquals(code, b.connection.e2eeVerificationCode());

    // the server tells alice (only) that a ghost joined, with a bundle of the server's own
    String ghostId = "GH0ST00000000000000000000G";
    Identity ghost = Identity.generate(new SecureRandom());
    ObjectNode n = HostileRelay.JSON.createObjectNode();
    n.put("type", "notify");
    n.put("event_type", "connection.created");
    n.put("connection_id", ghostId);
    n.put("role", "sendrecv");
    n.putObject("signaling_notify_metadata").set(Bundle.METADATA_MEMBER, json(ghost.bundle(ghostId).toJson()));
    n.put("channel_connections", 3);
    relay.link(a.id()).toClient(n);

    TestPeer.await("alice sees the ghost", () -> a.connection.e2eeRemoteFingerprints().containsKey(ghostId));
    assertFalse(b.connection.e2eeRemoteFingerprints().containsKey(ghostId));
    assertNotEquals(a.connection.e2eeVerificationCode(), b.connection.e2eeVerificationCode(),
        "a split view must show as different codes");
    assertNotEquals(code, a.connection.e2eeVerificationCode());
  }

  @Test
  void relabelledRelayMessages_areRefused_andNeverInstallAKeyAsAnotherMembers() throws Exception {
    TestPeer a = join("alice");
    TestPeer b = join("bob");
    awaitCall(List.of(a, b));
    // from now on every key message to alice from a newcomer (carol) is stamped as coming from bob
    String bobId = b.id();
    String aliceId = a.id();
    relay.script(new HostileRelay.Script() {
      @Override
      public List<JsonNode> fromServer(HostileRelay.Link link, ObjectNode msg) {
        String from = msg.path("from").asText();
        if (msg.path("type").asText().equals("e2ee") && aliceId.equals(link.connectionId)
            && !from.equals(bobId)) {
          msg.put("from", bobId);
        }
        return List.of(msg);
      }
    });
    TestPeer c = join("carol");
    TestPeer.exchangeUntil("bob and carol decode each other; alice gets 30 of carol's frames",
        List.of(a, b, c), () -> b.receivedFrom(c) >= 10 && c.receivedFrom(b) >= 10 && rawCount(a, c) >= 30);
    assertEquals(0, a.receivedFrom(c), "carol's key never reached alice under her name");
    a.assertReceivedExactly(b); // nothing of carol's was taken as bob's
    assertTrue(a.errors().stream().anyMatch(e -> e.source().equals("keys")), a.errors().toString());
    assertTrue(a.receivedFrom(b) > 0);
  }

  @Test
  void replayedRelayMessages_areRefused_andChangeNothing() throws Exception {
    relay.script(new HostileRelay.Script() {
      @Override
      public List<JsonNode> fromServer(HostileRelay.Link link, ObjectNode msg) {
        return msg.path("type").asText().equals("e2ee") ? List.of(msg, msg.deepCopy()) : List.of(msg);
      }
    });
    TestPeer a = join("alice");
    TestPeer b = join("bob");
    awaitCall(List.of(a, b));
    a.assertReceivedExactly(b);
    b.assertReceivedExactly(a);
    assertTrue(a.errors().stream().anyMatch(e -> e.source().equals("keys")), a.errors().toString());
  }

  // ----------------------------------------------------------------------------------------------- media attacks

  @Test
  void corruptedAndTruncatedFrames_areDropped_neverDelivered_andLiveFramesContinue() throws Exception {
    TestPeer a = join("alice");
    TestPeer b = join("bob");
    awaitCall(List.of(a, b));
    int[] n = {0};
    media.act((from, to, payload, rec) -> {
      n[0]++;
      if (payload.length < 4) {
        return List.of(payload);
      }
      byte[] bad = payload.clone();
      if (n[0] % 3 == 0) {
        bad[1 + (n[0] % (bad.length - 1))] ^= 0x40; // a flipped bit past the clear Opus TOC
        return List.of(bad);
      }
      if (n[0] % 5 == 0) {
        return List.of(java.util.Arrays.copyOf(payload, payload.length - 3)); // truncated tag
      }
      return List.of(payload);
    });
    int before = a.receivedFrom(b);
    TestPeer.exchangeUntil("40 more frames of bob decoded by alice", List.of(a, b),
        () -> a.receivedFrom(b) >= before + 40);
    a.assertReceivedExactly(b);
    b.assertReceivedExactly(a);
    assertTrue(a.errors().stream().anyMatch(e -> e.source().equals("frames")), a.errors().toString());
  }

  @Test
  void replayedAndReinjectedFrames_areRefused_andNoFrameIsDecodedTwice() throws Exception {
    TestPeer a = join("alice");
    TestPeer b = join("bob");
    awaitCall(List.of(a, b));
    // the server sends every forwarded frame again, followed by a copy of a frame recorded earlier
    media.act((from, to, payload, rec) -> rec.isEmpty() ? List.of(payload)
        : List.of(payload, payload.clone(), rec.get(rec.size() / 2)));
    int before = a.receivedFrom(b);
    TestPeer.exchangeUntil("40 more frames of bob decoded by alice", List.of(a, b),
        () -> a.receivedFrom(b) >= before + 40);
    for (TestPeer p : List.of(a, b)) {
      for (TestPeer q : List.of(a, b)) {
        if (p != q) {
          p.assertReceivedExactly(q);
          assertNoDuplicates(p, q);
        }
      }
    }
    assertTrue(a.errors().stream().anyMatch(e -> e.reason().equals("REPLAY")), a.errors().toString());
  }

  // ------------------------------------------------------------------------------------------------------ utils

  private static int rawCount(TestPeer at, TestPeer from) {
    return at.raw.getOrDefault(from.id(), List.of()).size();
  }

  private static void assertNoDuplicates(TestPeer at, TestPeer from) {
    Set<String> seen = new HashSet<>();
    for (byte[] f : at.received.getOrDefault(from.id(), List.of())) {
      assertTrue(seen.add(HexFormat.of().formatHex(f)), at.name + " decoded a frame of " + from.name + " twice");
    }
  }

  private static JsonNode json(String text) {
    try {
      return HostileRelay.JSON.readTree(text);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  /** Calls {@code f} with (connection id, signaling_notify_metadata) of every member a notify describes. */
  private static void forEachBundle(ObjectNode notify, java.util.function.BiConsumer<String, ObjectNode> f) {
    if (notify.get("signaling_notify_metadata") instanceof ObjectNode meta) {
      f.accept(notify.path("connection_id").asText(), meta);
    }
    if (notify.get("data") instanceof ArrayNode data) {
      for (JsonNode e : data) {
        if (e.get("signaling_notify_metadata") instanceof ObjectNode meta) {
          f.accept(e.path("connection_id").asText(), meta);
        }
      }
    }
  }
}
