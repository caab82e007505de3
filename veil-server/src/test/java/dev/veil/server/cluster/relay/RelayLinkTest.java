package dev.veil.server.cluster.relay;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The node-to-node relay link in memory on a manual clock: handshake, media, authentication, replay, liveness. */
class RelayLinkTest {
  private static final byte[] SECRET = secret(1);
  private static final RelayLink.Timings T = new RelayLink.Timings(500, 1000, 5000, 64);
  private long now = 100_000;
  private final Random random = new Random(42);

  static byte[] secret(int seed) {
    byte[] s = new byte[32];
    new Random(seed).nextBytes(s);
    return s;
  }

  private RelayLink relay(byte[] secret) {
    return RelayLink.initiator(secret, "b", "a", T, random, now);
  }

  private RelayLink owner(byte[] secret) {
    return RelayLink.responder(secret, "a", "b", T, random, now);
  }

  /** Moves datagrams both ways until neither side has any (a perfect network); returns how many moved. */
  private static int pump(RelayLink x, RelayLink y, long now) {
    int moved = 0;
    for (boolean more = true; more; ) {
      more = false;
      for (byte[] d; (d = x.pollOutput()) != null; more = true, moved++) {
        y.input(d, 0, d.length, now);
      }
      for (byte[] d; (d = y.pollOutput()) != null; more = true, moved++) {
        x.input(d, 0, d.length, now);
      }
    }
    return moved;
  }

  private static List<RelayEvent> events(RelayLink l) {
    List<RelayEvent> out = new ArrayList<>();
    for (RelayEvent e; (e = l.pollEvent()) != null; ) {
      out.add(e);
    }
    return out;
  }

  private static List<byte[]> media(RelayLink l) {
    List<byte[]> out = new ArrayList<>();
    for (RelayEvent e : events(l)) {
      if (e instanceof RelayEvent.Media m) {
        out.add(m.packet());
      }
    }
    return out;
  }

  private static byte[] rtp(int seq) {
    byte[] p = new byte[200];
    new Random(seq).nextBytes(p);
    p[0] = (byte) 0x80;
    p[2] = (byte) (seq >> 8);
    p[3] = (byte) seq;
    return p;
  }

  private RelayLink[] connected() {
    RelayLink b = relay(SECRET);
    RelayLink a = owner(SECRET);
    b.handleTimeout(now);
    pump(b, a, now);
    assertTrue(b.up() && a.up(), "both ends up after one round trip");
    assertEquals(List.of(new RelayEvent.Up("a")), events(b));
    assertEquals(List.of(new RelayEvent.Up("b")), events(a));
    return new RelayLink[] {b, a};
  }

  @Test
  void handshakeThenMediaBothWaysByteForByte() {
    RelayLink[] l = connected();
    RelayLink b = l[0];
    RelayLink a = l[1];
    byte[] p1 = rtp(1);
    byte[] p2 = rtp(2);
    assertTrue(a.send(false, p1, 0, p1.length, now));
    assertTrue(a.send(true, p2, 0, 80, now));
    byte[] onWire = a.pollOutput();
    assertEquals(RelayLink.HEADER + p1.length + RelayCrypto.TAG_LEN, onWire.length, "32 bytes of overhead");
    assertArrayEquals(p1, java.util.Arrays.copyOfRange(onWire, RelayLink.HEADER, RelayLink.HEADER + p1.length),
        "the packet travels as it is (its payload is already the members' ciphertext)");
    b.input(onWire, 0, onWire.length, now);
    pump(a, b, now);
    List<RelayEvent> got = events(b);
    assertEquals(2, got.size());
    RelayEvent.Media m1 = assertInstanceOf(RelayEvent.Media.class, got.get(0));
    RelayEvent.Media m2 = assertInstanceOf(RelayEvent.Media.class, got.get(1));
    assertFalse(m1.rtcp());
    assertArrayEquals(p1, m1.packet());
    assertTrue(m2.rtcp());
    assertArrayEquals(java.util.Arrays.copyOf(p2, 80), m2.packet());
    assertTrue(b.send(true, p2, 10, 40, now), "feedback goes back to the origin");
    pump(b, a, now);
    assertArrayEquals(java.util.Arrays.copyOfRange(p2, 10, 50), media(a).get(0));
  }

  @Test
  void aNodeWithAnotherSecretNeverGetsASession() {
    RelayLink b = relay(secret(2));
    RelayLink a = owner(SECRET);
    for (int i = 0; i < 5; i++) {
      b.handleTimeout(now);
      pump(b, a, now);
      now += 500;
    }
    assertFalse(a.up());
    assertFalse(b.up());
    assertEquals(5, a.stats().rejectedAuth(), "every hello refused");
    assertFalse(b.send(false, rtp(1), 0, 200, now), "no media without a session");
    assertEquals(1, b.stats().droppedNoSession());
  }

  @Test
  void tamperedReplayedAndReflectedDatagramsAreDropped() {
    RelayLink[] l = connected();
    RelayLink b = l[0];
    RelayLink a = l[1];
    byte[] p = rtp(7);
    a.send(false, p, 0, p.length, now);
    byte[] d = a.pollOutput();
    byte[] tampered = d.clone();
    tampered[RelayLink.HEADER + 30] ^= 1; // one bit of the payload
    b.input(tampered, 0, tampered.length, now);
    assertEquals(1, b.stats().rejectedAuth());
    b.input(d, 0, d.length, now);
    b.input(d, 0, d.length, now);
    assertEquals(1, b.stats().rejectedReplay(), "the second copy is a replay");
    assertEquals(1, media(b).size());
    a.send(false, p, 0, p.length, now);
    byte[] d2 = a.pollOutput(); // counter 2: ahead of a's own receive window (b sent one keepalive)
    a.input(d2, 0, d2.length, now); // a's own datagram reflected back to it
    assertEquals(1, a.stats().rejectedAuth(), "a datagram of a->b does not verify as b->a");
    assertTrue(media(a).isEmpty());
    byte[] big = new byte[RelayLink.MAX_DATAGRAM + 1];
    big[0] = RelayLink.MAGIC;
    b.input(big, 0, big.length, now);
    assertEquals(1, b.stats().rejectedMalformed(), "too long: refused before anything is allocated");
    assertFalse(a.send(false, new byte[RelayLink.MAX_PACKET + 1], 0, RelayLink.MAX_PACKET + 1, now));
  }

  @Test
  void reorderedDatagramsInsideTheWindowPassOlderOnesDoNot() {
    RelayLink[] l = connected();
    RelayLink b = l[0];
    RelayLink a = l[1];
    List<byte[]> ds = new ArrayList<>();
    for (int i = 0; i < ReplayWindow.SIZE + 10; i++) {
      a.send(false, rtp(i), 0, 200, now);
      ds.add(a.pollOutput());
    }
    byte[] last = ds.get(ds.size() - 1);
    b.input(last, 0, last.length, now);
    byte[] inside = ds.get(ds.size() - 5);
    b.input(inside, 0, inside.length, now);
    byte[] tooOld = ds.get(0);
    b.input(tooOld, 0, tooOld.length, now);
    assertEquals(2, media(b).size());
    assertEquals(1, b.stats().rejectedReplay());
  }

  @Test
  void aReplayedHelloDoesNotTakeALiveLinkDown() {
    RelayLink b = relay(SECRET);
    RelayLink a = owner(SECRET);
    b.handleTimeout(now);
    byte[] hello = b.pollOutput();
    a.input(hello, 0, hello.length, now);
    pump(b, a, now);
    assertTrue(a.up() && b.up());
    events(a);
    for (int i = 0; i < 10; i++) {
      a.input(hello, 0, hello.length, now); // an attacker replays the hello: pending sessions nobody confirms
    }
    pump(b, a, now);
    assertTrue(b.stats().rejectedReplay() >= 1, "b ignores answers to a hello it is not waiting for");
    b.send(false, rtp(3), 0, 200, now);
    pump(b, a, now);
    assertEquals(1, media(a).size(), "media still flows on the confirmed session");
  }

  @Test
  void aLostAnswerIsRetriedAndASilentPeerGoesDownThenReconnects() {
    RelayLink b = relay(SECRET);
    RelayLink a = owner(SECRET);
    b.handleTimeout(now);
    byte[] hello = b.pollOutput();
    a.input(hello, 0, hello.length, now);
    assertTrue(a.pollOutput() != null); // the answer is lost
    assertEquals(now + 500, b.nextTimeoutMillis());
    now += 500;
    b.handleTimeout(now);
    pump(b, a, now);
    assertTrue(b.up() && a.up(), "the retried hello (same nonce) gets a session");
    events(a);
    events(b);
    // keepalives keep an idle link up
    for (int i = 0; i < 20; i++) {
      now = Math.min(a.nextTimeoutMillis(), b.nextTimeoutMillis());
      a.handleTimeout(now);
      b.handleTimeout(now);
      pump(b, a, now);
    }
    assertTrue(a.up() && b.up());
    assertTrue(events(a).isEmpty() && events(b).isEmpty());
    // a's side is gone (a crash): b hears nothing and goes down after the dead interval, then says hello again
    a.send(false, rtp(1), 0, 200, now);
    byte[] oldSession = a.pollOutput();
    long silentFrom = now;
    while (b.up()) {
      now = b.nextTimeoutMillis();
      b.handleTimeout(now);
      while (b.pollOutput() != null) { }
    }
    assertEquals(silentFrom + 5000, now, "down exactly at the dead interval");
    assertInstanceOf(RelayEvent.Down.class, events(b).get(0));
    RelayLink a2 = owner(SECRET); // the owner restarted
    now = b.nextTimeoutMillis();
    b.handleTimeout(now);
    pump(b, a2, now);
    assertTrue(b.up() && a2.up());
    b.input(oldSession, 0, oldSession.length, now);
    assertTrue(media(b).isEmpty(), "a datagram of the old session does not verify in the new one");
  }

  @Test
  void queuesAreBounded() {
    RelayLink[] l = connected();
    RelayLink a = l[1];
    int ok = 0;
    for (int i = 0; i < 100; i++) {
      ok += a.send(false, rtp(i), 0, 200, now) ? 1 : 0;
    }
    assertEquals(64, ok);
    assertEquals(36, a.stats().droppedQueue());
    assertNull(l[0].pollOutput());
  }

  @Test
  void replayWindowAcceptsEachCounterOnce() {
    ReplayWindow w = new ReplayWindow();
    assertFalse(w.check(0));
    assertTrue(w.check(5));
    w.accept(5);
    assertFalse(w.check(5));
    assertTrue(w.check(3));
    w.accept(3);
    assertFalse(w.check(3));
    w.accept(5 + ReplayWindow.SIZE);
    assertFalse(w.check(5), "slid out");
    assertTrue(w.check(6 + 0), "6 is inside the window and unseen");
    assertFalse(w.check(5 + ReplayWindow.SIZE));
    w.accept(100_000);
    assertTrue(w.check(99_999));
    assertFalse(w.check(100_000 - ReplayWindow.SIZE));
  }
}
