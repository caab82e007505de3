package dev.veil.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.veil.server.cluster.RedisServer;
import dev.veil.server.ServerConfig;
import dev.veil.server.VeilServer;
import dev.veil.server.cluster.ClusterConfig;
import dev.veil.signaling.Role;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The proof of scale-out (issue 12): a redis-server and three veil-server nodes on loopback; E2EE members entering
 * through different nodes meet on the channel's owner by redirect and decode each other; the owner crashes; the
 * members reconnect on their own to a live node, which takes the channel over, and decode each other again.
 */
class ClusterFailoverTest {
  private static final long DEADLINE_MS = 20_000;
  private RedisServer redis;
  private final List<VeilServer> nodes = new ArrayList<>();
  private final List<URI> urls = new ArrayList<>();
  private final List<Member> members = new ArrayList<>();

  @BeforeEach
  void cluster() throws Exception {
    redis = new RedisServer();
    for (int i = 1; i <= 3; i++) {
      // heartbeat 200 ms, node entry 1 s: a dead node is noticed within about a second
      ClusterConfig cc = ClusterConfig.redis(redis.url(), "n" + i, "").withTimings(200, 1000, 3000);
      VeilServer s = new VeilServer(ServerConfig.defaults().withPorts(0, 0).withE2ee(true), cc);
      s.start();
      nodes.add(s);
      urls.add(URI.create("ws://127.0.0.1:" + s.httpPort() + "/signaling"));
    }
  }

  @AfterEach
  void stop() throws Exception {
    for (Member m : members) {
      m.rc.close();
    }
    for (VeilServer s : nodes) {
      s.close();
    }
    redis.close();
  }

  /** A reconnecting member and what it received, by sender connection id. */
  private final class Member {
    final String name;
    final ReconnectingConnection rc;
    final Map<String, List<String>> received = new ConcurrentHashMap<>();
    final Set<String> sent = ConcurrentHashMap.newKeySet();
    final List<ReconnectEvent> events = new CopyOnWriteArrayList<>();
    int counter;
    long ts = 960;

    Member(String name, List<URI> candidates) {
      this.name = name;
      this.rc = VeilClient.connection(candidates).reconnecting(Role.SENDRECV, "room", null, Options.e2eeSenderKeys())
          .withBackoff(100, 1000, 40);
      rc.onAudioFrame((s, f) -> received.computeIfAbsent(s, k -> new CopyOnWriteArrayList<>())
          .add(HexFormat.of().formatHex(f))).onReconnect(events::add);
      members.add(this);
    }

    String id() {
      return rc.current().connectionId();
    }

    void send() {
      byte[] tag = (name + ":" + counter++).getBytes(StandardCharsets.US_ASCII);
      byte[] f = new byte[3 + tag.length];
      f[0] = (byte) 0xf8;
      f[1] = (byte) 0xff;
      f[2] = (byte) 0xfe;
      System.arraycopy(tag, 0, f, 3, tag.length);
      if (rc.sendAudioFrame(f, ts)) {
        sent.add(HexFormat.of().formatHex(f));
      }
      ts += 960;
    }

    /** Frames decoded from {@code other}'s current connection, each one {@code other} really sent. */
    int decodedFrom(Member other) {
      List<String> got = received.getOrDefault(other.id(), List.of());
      for (String f : got) {
        assertTrue(other.sent.contains(f), name + " decoded a frame " + other.name + " never sent");
      }
      return got.size();
    }
  }

  private static void exchangeUntil(String what, List<Member> ms, BooleanSupplier cond) {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(DEADLINE_MS);
    while (!cond.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out exchanging frames until: " + what);
      }
      for (Member m : ms) {
        m.send();
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5)); // pacing the sender, not a synchronisation
    }
  }

  private int nodeIndex(URI u) {
    return urls.indexOf(u);
  }

  @Test
  void membersOnDifferentNodesMeetByRedirectAndResumeOnALiveNodeWhenTheOwnerDies() throws Exception {
    Member alice = new Member("alice", List.of(urls.get(0), urls.get(1), urls.get(2)));
    Member bob = new Member("bob", List.of(urls.get(1), urls.get(2), urls.get(0)));
    alice.rc.connect().get(DEADLINE_MS, TimeUnit.MILLISECONDS);
    long t0 = System.nanoTime();
    bob.rc.connect().get(DEADLINE_MS, TimeUnit.MILLISECONDS);
    long bobConnectMs = (System.nanoTime() - t0) / 1_000_000;

    assertEquals(urls.get(0), alice.rc.current().signalingUrl(), "a new channel stays on the node reached");
    assertEquals(0, alice.rc.current().redirectCount());
    assertEquals(1, bob.rc.current().redirectCount(), "bob entered through node 2 and was redirected");
    assertEquals(urls.get(0), bob.rc.current().signalingUrl());
    assertEquals(Set.of("room"), nodes.get(0).cluster().hosted());
    assertEquals(1, nodes.get(1).stats().get("signaling.redirects"));

    exchangeUntil("alice and bob decode each other through node 1", List.of(alice, bob),
        () -> alice.decodedFrom(bob) >= 5 && bob.decodedFrom(alice) >= 5);
    String aliceBefore = alice.id();
    String bobBefore = bob.id();

    long crashAt = System.nanoTime();
    nodes.get(0).crashForTesting();
    exchangeUntil("both back on a live node, decoding each other again", List.of(alice, bob),
        () -> alice.rc.isConnected() && bob.rc.isConnected()
            && !alice.id().equals(aliceBefore) && !bob.id().equals(bobBefore)
            && alice.decodedFrom(bob) >= 5 && bob.decodedFrom(alice) >= 5);
    long resumedMs = (System.nanoTime() - crashAt) / 1_000_000;

    URI now = alice.rc.current().signalingUrl();
    assertEquals(now, bob.rc.current().signalingUrl(), "both on the channel's new owner");
    assertNotEquals(urls.get(0), now);
    int owner = nodeIndex(now);
    assertTrue(owner == 1 || owner == 2);
    assertEquals(Set.of("room"), nodes.get(owner).cluster().hosted());
    for (Member m : List.of(alice, bob)) {
      assertTrue(m.events.stream().anyMatch(e -> e instanceof ReconnectEvent.Reconnecting), m.name);
      assertTrue(m.events.stream().anyMatch(e -> e instanceof ReconnectEvent.Reconnected r
          && r.connection() == m.rc.current()), m.name + " " + m.events);
    }
    System.out.printf("cluster proof: connect via redirect %d ms; owner crash -> both decoding again %d ms; "
        + "reconnect events alice %s bob %s%n", bobConnectMs, resumedMs, alice.events, bob.events);
  }
}
