package dev.veil.server.cluster.relay;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Random;
import javax.crypto.Mac;

/**
 * One node-to-node media link of a cascaded channel (docs/PROTOCOL.md §1.9.3), sans-IO: datagrams in with
 * {@link #input}, datagrams out with {@link #pollOutput}, events with {@link #pollEvent}, timers with
 * {@link #nextTimeoutMillis}/{@link #handleTimeout}. One link per ordered node pair; the relay node (the one that
 * took the overflow) is the initiator, the channel's owner the responder.
 *
 * <p>Datagram: {@code magic(1) type(1) 0(2) session(4) counter(8) body tag(16)}; the tag is HMAC-SHA256 (first 16
 * bytes) over everything before it. Handshake: the initiator sends HELLO(nonce_i) under its direction key, the
 * responder answers HELLO_ACK(nonce_i, nonce_r) under its own and derives the session's two keys from both nonces;
 * the initiator's first datagram under the new session confirms it (until then the responder keeps its previous
 * session, so a replayed HELLO cannot take a live link down). Data (RTP, RTCP, KEEPALIVE) carries a counter
 * checked against a {@link ReplayWindow}; RTP and RTCP bodies are the packets, untouched. Nothing is encrypted:
 * the RTP payload is the members' E2EE ciphertext already, and the link only has to authenticate its peer.
 */
public final class RelayLink {
  static final byte MAGIC = (byte) 0xCA;
  static final byte HELLO = 1;
  static final byte HELLO_ACK = 2;
  static final byte RTP = 3;
  static final byte RTCP = 4;
  static final byte KEEPALIVE = 5;
  static final int HEADER = 16;
  static final int NONCE = 16;
  /** Largest media packet relayed (one RTP packet of a WebRTC sender fits easily). */
  public static final int MAX_PACKET = 1400;
  /** Largest datagram accepted; longer input is refused before anything is allocated for it. */
  public static final int MAX_DATAGRAM = HEADER + MAX_PACKET + RelayCrypto.TAG_LEN;
  /** Handshakes the responder keeps unconfirmed at once. */
  static final int MAX_PENDING = 4;

  /** The link's timings and queue bounds. */
  public record Timings(long helloIntervalMillis, long keepaliveMillis, long deadMillis, int maxQueue) {
    public Timings {
      if (helloIntervalMillis < 1 || keepaliveMillis < 1 || deadMillis <= keepaliveMillis || maxQueue < 1) {
        throw new IllegalArgumentException("relay timings: positive, dead > keepalive, maxQueue >= 1");
      }
    }

    public static Timings defaults() {
      return new Timings(500, 1000, 5000, 4096);
    }
  }

  /** Counters of one link. */
  public record Stats(long sent, long received, long rejectedAuth, long rejectedReplay, long rejectedMalformed,
      long droppedNoSession, long droppedQueue, long sessions) { }

  private final class Session {
    final int id;
    final Mac sendMac;
    final Mac recvMac;
    final ReplayWindow window = new ReplayWindow();
    long sendCounter;
    long lastReceived;
    final long createdAt;

    Session(int id, byte[] sendKey, byte[] recvKey, long now) {
      this.id = id;
      this.sendMac = RelayCrypto.mac(sendKey);
      this.recvMac = RelayCrypto.mac(recvKey);
      java.util.Arrays.fill(sendKey, (byte) 0);
      java.util.Arrays.fill(recvKey, (byte) 0);
      this.lastReceived = now;
      this.createdAt = now;
    }
  }

  private final String localNode;
  private final String remoteNode;
  private final boolean initiator;
  private final Timings timings;
  private final Random random;
  private final byte[] sendDirKey;
  private final byte[] recvDirKey;
  private final Mac helloSendMac;
  private final Mac helloRecvMac;
  private final byte[] macOut = new byte[32];
  private final ArrayDeque<byte[]> out = new ArrayDeque<>();
  private final ArrayDeque<RelayEvent> events = new ArrayDeque<>();
  private final List<Session> pending = new ArrayList<>(MAX_PENDING);
  private Session current;
  private byte[] helloNonce;
  private long nextHelloAt;
  private long lastSent;
  private long sent;
  private long received;
  private long rejectedAuth;
  private long rejectedReplay;
  private long rejectedMalformed;
  private long droppedNoSession;
  private long droppedQueue;
  private long sessions;

  private RelayLink(byte[] clusterSecret, String localNode, String remoteNode, boolean initiator, Timings timings,
      Random random, long nowMillis) {
    Objects.requireNonNull(clusterSecret, "clusterSecret");
    if (clusterSecret.length < 32) {
      throw new IllegalArgumentException("the cluster relay secret must be at least 32 bytes");
    }
    if (localNode.equals(remoteNode)) {
      throw new IllegalArgumentException("a relay link joins two different nodes");
    }
    this.localNode = localNode;
    this.remoteNode = remoteNode;
    this.initiator = initiator;
    this.timings = Objects.requireNonNull(timings, "timings");
    this.random = Objects.requireNonNull(random, "random");
    this.sendDirKey = RelayCrypto.directionKey(clusterSecret, localNode, remoteNode);
    this.recvDirKey = RelayCrypto.directionKey(clusterSecret, remoteNode, localNode);
    this.helloSendMac = RelayCrypto.mac(sendDirKey);
    this.helloRecvMac = RelayCrypto.mac(recvDirKey);
    this.nextHelloAt = initiator ? nowMillis : Long.MAX_VALUE;
    this.lastSent = nowMillis;
  }

  /** The relay node's end: it starts the handshake at its first timeout. */
  public static RelayLink initiator(byte[] clusterSecret, String localNode, String ownerNode, Timings timings,
      Random random, long nowMillis) {
    return new RelayLink(clusterSecret, localNode, ownerNode, true, timings, random, nowMillis);
  }

  /** The owner's end: it answers handshakes. */
  public static RelayLink responder(byte[] clusterSecret, String localNode, String relayNode, Timings timings,
      Random random, long nowMillis) {
    return new RelayLink(clusterSecret, localNode, relayNode, false, timings, random, nowMillis);
  }

  public String remoteNode() {
    return remoteNode;
  }

  /** Whether a confirmed session exists (media can flow). */
  public boolean up() {
    return current != null;
  }

  /**
   * Relays one media packet ({@code rtcp}: an RTCP compound, else an RTP packet) to the peer node, body untouched.
   * Returns false (and counts it) with no session, a packet over {@link #MAX_PACKET} or a full output queue.
   */
  public boolean send(boolean rtcp, byte[] packet, int off, int len, long nowMillis) {
    if (current == null) {
      droppedNoSession++;
      return false;
    }
    if (len < 0 || len > MAX_PACKET) {
      rejectedMalformed++;
      return false;
    }
    return sendData(rtcp ? RTCP : RTP, packet, off, len, nowMillis);
  }

  private boolean sendData(byte type, byte[] body, int off, int len, long now) {
    if (out.size() >= timings.maxQueue()) {
      droppedQueue++;
      return false;
    }
    Session s = current;
    byte[] d = new byte[HEADER + len + RelayCrypto.TAG_LEN];
    header(d, type, s.id, ++s.sendCounter);
    System.arraycopy(body, off, d, HEADER, len);
    RelayCrypto.tag(s.sendMac, d, HEADER + len, macOut);
    out.add(d);
    sent++;
    lastSent = now;
    return true;
  }

  private static void header(byte[] d, byte type, int session, long counter) {
    d[0] = MAGIC;
    d[1] = type;
    d[2] = 0;
    d[3] = 0;
    putInt(d, 4, session);
    putLong(d, 8, counter);
  }

  /** One datagram from the peer node's address. Bad ones are counted and dropped; nothing throws. */
  public void input(byte[] buf, int off, int len, long nowMillis) {
    if (len < HEADER + RelayCrypto.TAG_LEN || len > MAX_DATAGRAM || buf[off] != MAGIC) {
      rejectedMalformed++;
      return;
    }
    byte[] d = off == 0 ? buf : java.util.Arrays.copyOfRange(buf, off, off + len);
    byte type = d[1];
    int session = getInt(d, 4);
    long counter = getLong(d, 8);
    int bodyLen = len - HEADER - RelayCrypto.TAG_LEN;
    switch (type) {
      case HELLO -> onHello(d, len, bodyLen, nowMillis);
      case HELLO_ACK -> onHelloAck(d, len, bodyLen, session, nowMillis);
      case RTP, RTCP, KEEPALIVE -> onData(d, len, bodyLen, type, session, counter, nowMillis);
      default -> rejectedMalformed++;
    }
  }

  private void onHello(byte[] d, int len, int bodyLen, long now) {
    if (initiator || bodyLen != NONCE) {
      rejectedMalformed++;
      return;
    }
    if (!RelayCrypto.verify(helloRecvMac, d, len, macOut)) {
      rejectedAuth++;
      return;
    }
    byte[] nonceI = java.util.Arrays.copyOfRange(d, HEADER, HEADER + NONCE);
    byte[] nonceR = new byte[NONCE];
    int id;
    do {
      random.nextBytes(nonceR);
      id = getInt(nonceR, 0);
    } while (id == 0 || (current != null && current.id == id) || pendingById(id) != null);
    if (pending.size() >= MAX_PENDING) {
      pending.remove(0);
    }
    pending.add(new Session(id, RelayCrypto.sessionKey(sendDirKey, nonceI, nonceR),
        RelayCrypto.sessionKey(recvDirKey, nonceI, nonceR), now));
    byte[] ack = new byte[HEADER + 2 * NONCE + RelayCrypto.TAG_LEN];
    header(ack, HELLO_ACK, id, 0);
    System.arraycopy(nonceI, 0, ack, HEADER, NONCE);
    System.arraycopy(nonceR, 0, ack, HEADER + NONCE, NONCE);
    RelayCrypto.tag(helloSendMac, ack, HEADER + 2 * NONCE, macOut);
    queue(ack, now);
  }

  private void onHelloAck(byte[] d, int len, int bodyLen, int session, long now) {
    if (!initiator || bodyLen != 2 * NONCE) {
      rejectedMalformed++;
      return;
    }
    if (!RelayCrypto.verify(helloRecvMac, d, len, macOut)) {
      rejectedAuth++;
      return;
    }
    if (helloNonce == null || current != null
        || !java.security.MessageDigest.isEqual(helloNonce, java.util.Arrays.copyOfRange(d, HEADER, HEADER + NONCE))) {
      rejectedReplay++; // an answer to an earlier hello (or a replayed one)
      return;
    }
    byte[] nonceR = java.util.Arrays.copyOfRange(d, HEADER + NONCE, HEADER + 2 * NONCE);
    if (session == 0 || session != getInt(nonceR, 0)) {
      rejectedMalformed++;
      return;
    }
    current = new Session(session, RelayCrypto.sessionKey(sendDirKey, helloNonce, nonceR),
        RelayCrypto.sessionKey(recvDirKey, helloNonce, nonceR), now);
    helloNonce = null;
    nextHelloAt = Long.MAX_VALUE;
    sessions++;
    event(new RelayEvent.Up(remoteNode));
    sendData(KEEPALIVE, d, 0, 0, now); // confirms the session to the responder
  }

  private void onData(byte[] d, int len, int bodyLen, byte type, int session, long counter, long now) {
    Session s = current != null && current.id == session ? current : pendingById(session);
    if (s == null) {
      rejectedAuth++; // no such session (an old one, or forged)
      return;
    }
    if (!s.window.check(counter)) {
      rejectedReplay++;
      return;
    }
    if (!RelayCrypto.verify(s.recvMac, d, len, macOut)) {
      rejectedAuth++;
      return;
    }
    s.window.accept(counter);
    s.lastReceived = now;
    received++;
    if (s != current) { // the initiator confirmed a new session: it replaces the old one
      pending.clear();
      current = s;
      sessions++;
      event(new RelayEvent.Up(remoteNode));
    }
    if (type != KEEPALIVE) {
      event(new RelayEvent.Media(type == RTCP, java.util.Arrays.copyOfRange(d, HEADER, HEADER + bodyLen)));
    }
  }

  private Session pendingById(int id) {
    for (Session p : pending) {
      if (p.id == id) {
        return p;
      }
    }
    return null;
  }

  private void queue(byte[] d, long now) {
    if (out.size() >= timings.maxQueue()) {
      droppedQueue++;
      return;
    }
    out.add(d);
    lastSent = now;
  }

  private void event(RelayEvent e) {
    if (events.size() >= timings.maxQueue()) {
      droppedQueue++;
      return;
    }
    events.add(e);
  }

  /** When {@link #handleTimeout} wants to run next (absolute milliseconds), or {@code Long.MAX_VALUE}. */
  public long nextTimeoutMillis() {
    long t = nextHelloAt;
    if (current != null) {
      t = Math.min(t, Math.min(current.lastReceived + timings.deadMillis(), lastSent + timings.keepaliveMillis()));
    }
    for (Session p : pending) {
      t = Math.min(t, p.createdAt + timings.deadMillis());
    }
    return t;
  }

  /** Handshake retransmits, keepalives, and the dead-peer check. */
  public void handleTimeout(long nowMillis) {
    pending.removeIf(p -> nowMillis - p.createdAt >= timings.deadMillis());
    if (current != null && nowMillis - current.lastReceived >= timings.deadMillis()) {
      current = null;
      event(new RelayEvent.Down(remoteNode, "nothing authenticated from the peer for "
          + timings.deadMillis() + " ms"));
      if (initiator) {
        nextHelloAt = nowMillis;
      }
    }
    if (current != null && nowMillis - lastSent >= timings.keepaliveMillis()) {
      sendData(KEEPALIVE, new byte[0], 0, 0, nowMillis);
    }
    if (initiator && current == null && nowMillis >= nextHelloAt) {
      if (helloNonce == null) {
        helloNonce = new byte[NONCE];
        random.nextBytes(helloNonce);
      }
      byte[] h = new byte[HEADER + NONCE + RelayCrypto.TAG_LEN];
      header(h, HELLO, 0, 0);
      System.arraycopy(helloNonce, 0, h, HEADER, NONCE);
      RelayCrypto.tag(helloSendMac, h, HEADER + NONCE, macOut);
      queue(h, nowMillis);
      nextHelloAt = nowMillis + timings.helloIntervalMillis();
    }
  }

  /** The next datagram to send to the peer node, or null. */
  public byte[] pollOutput() {
    return out.poll();
  }

  /** The next event, or null. */
  public RelayEvent pollEvent() {
    return events.poll();
  }

  public Stats stats() {
    return new Stats(sent, received, rejectedAuth, rejectedReplay, rejectedMalformed, droppedNoSession, droppedQueue,
        sessions);
  }

  @Override
  public String toString() {
    return "RelayLink[" + localNode + (initiator ? " -> " : " <- ") + remoteNode + (up() ? ", up" : ", down") + "]";
  }

  static void putInt(byte[] b, int at, int v) {
    b[at] = (byte) (v >>> 24);
    b[at + 1] = (byte) (v >>> 16);
    b[at + 2] = (byte) (v >>> 8);
    b[at + 3] = (byte) v;
  }

  static int getInt(byte[] b, int at) {
    return (b[at] & 0xff) << 24 | (b[at + 1] & 0xff) << 16 | (b[at + 2] & 0xff) << 8 | (b[at + 3] & 0xff);
  }

  static void putLong(byte[] b, int at, long v) {
    putInt(b, at, (int) (v >>> 32));
    putInt(b, at + 4, (int) v);
  }

  static long getLong(byte[] b, int at) {
    return (long) getInt(b, at) << 32 | (getInt(b, at + 4) & 0xffffffffL);
  }
}
