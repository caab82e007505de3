package dev.veil.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.veil.e2ee.codec.DecryptResult;
import dev.veil.e2ee.key.KeyId;
import dev.veil.e2ee.sframe.CipherSuite;
import dev.veil.e2ee.sframe.SFrameReceiver;
import dev.veil.e2ee.sframe.SFrameSender;
import dev.veil.e2ee.util.SecretBytes;
import dev.veil.server.cluster.relay.RelayTransport;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.function.BooleanSupplier;
import dev.veil.server.cluster.relay.CascadeBridge;
import dev.veil.webrtc.router.ConsumerParams;
import dev.veil.webrtc.router.ProducerParams;
import dev.veil.webrtc.router.Router;
import dev.veil.webrtc.router.RouterConfig;
import dev.veil.webrtc.router.RouterOutput;
import dev.veil.webrtc.rtp.RtpCodec;
import dev.veil.webrtc.rtp.RtpPacket;
import dev.veil.webrtc.sdp.MediaKind;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The node-to-node relay of a cascaded channel on loopback (docs/PROTOCOL.md §1.9.3): the owner's end relays SFrame-
 * encrypted RTP packets of a publisher to the relay node's end over UDP with per-datagram HMAC; the relay node's
 * subscribers (here: SFrame receivers holding the sender's key, as the members' key managers would) decode every
 * frame; the bytes that crossed the link carry the ciphertext untouched and no plaintext; RTCP feedback goes back
 * to the origin; datagrams from other addresses are dropped.
 */
class CascadeRelayTest {
  private static final InetSocketAddress LOOPBACK = new InetSocketAddress("127.0.0.1", 0);

  private static void await(String what, BooleanSupplier cond) throws InterruptedException {
    long deadline = System.nanoTime() + 30_000_000_000L;
    while (!cond.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("not within 30 s: " + what);
      }
      Thread.sleep(10); // polling a condition, not synchronising on time
    }
  }

  private static byte[] rtp(int seq, byte[] payload) {
    ByteBuffer b = ByteBuffer.allocate(12 + payload.length);
    b.put((byte) 0x80).put((byte) 111).putShort((short) seq).putInt(960 * seq).putInt(0x1234_5678).put(payload);
    return b.array();
  }

  @Test
  void subscribersOnTheRelayNodeDecodeThePublisherOnTheOwnerAndTheLinkCarriesOnlyCiphertext() throws Exception {
    byte[] secret = new byte[32];
    new SecureRandom().nextBytes(secret);
    LinkedBlockingQueue<byte[]> atRelay = new LinkedBlockingQueue<>(1000);
    LinkedBlockingQueue<byte[]> atOwner = new LinkedBlockingQueue<>(1000);
    List<byte[]> wire = Collections.synchronizedList(new ArrayList<>());
    DatagramChannel ownerSocket = RelayTransport.bind(LOOPBACK);
    DatagramChannel relaySocket = RelayTransport.bind(LOOPBACK);
    InetSocketAddress ownerAddr = (InetSocketAddress) ownerSocket.getLocalAddress();
    InetSocketAddress relayAddr = (InetSocketAddress) relaySocket.getLocalAddress();
    try (RelayTransport owner = RelayTransport.fromRelay(secret, "node-a", "node-b", ownerSocket, relayAddr,
            (rtcp, p) -> atOwner.offer(p));
        RelayTransport relay = RelayTransport.toOwner(secret, "node-b", "node-a", relaySocket, ownerAddr,
            (rtcp, p) -> atRelay.offer(p));
        DatagramChannel stranger = RelayTransport.bind(LOOPBACK)) {
      owner.tap(wire::add);
      await("the link is up both ways", () -> owner.up() && relay.up());

      // the publisher on node a: SFrame with its sender key; the members hold the key, the nodes never do
      CipherSuite suite = CipherSuite.AES_128_GCM_SHA256_128;
      byte[] key = new byte[16];
      new SecureRandom().nextBytes(key);
      SFrameSender sender = new SFrameSender(suite);
      sender.setKey(new KeyId(7, 0), SecretBytes.copyOf(key));
      int frames = 50;
      List<byte[]> plain = new ArrayList<>();
      List<byte[]> sent = new ArrayList<>();
      for (int i = 0; i < frames; i++) {
        byte[] pt = ("veil cascade frame " + i + " ").repeat(8).getBytes(StandardCharsets.US_ASCII);
        byte[] ct = sender.encrypt(new byte[0], pt);
        plain.add(pt);
        byte[] packet = rtp(i, ct);
        sent.add(packet);
        assertTrue(owner.send(false, packet, 0, packet.length));
      }
      await("every packet at the relay node", () -> atRelay.size() >= frames);

      // two subscribers on node b decode every frame
      for (int s = 0; s < 2; s++) {
        SFrameReceiver subscriber = new SFrameReceiver(suite);
        subscriber.addKey(new KeyId(7, 0), SecretBytes.copyOf(key));
        List<byte[]> got = new ArrayList<>(atRelay);
        assertEquals(frames, got.size());
        for (int i = 0; i < frames; i++) {
          byte[] p = got.get(i);
          assertArrayEquals(sent.get(i), p, "packet " + i + " arrives byte-for-byte");
          byte[] out = new byte[p.length];
          DecryptResult r = subscriber.decrypt(new byte[0], 0, 0, p, 12, p.length - 12, out, 0);
          DecryptResult.Decrypted d = assertInstanceOf(DecryptResult.Decrypted.class, r, "frame " + i);
          assertArrayEquals(plain.get(i), java.util.Arrays.copyOf(out, d.length()), "frame " + i + " decoded");
        }
      }

      // what crossed the link: the ciphertext as the publisher made it, never the plaintext
      byte[] marker = "veil cascade frame".getBytes(StandardCharsets.US_ASCII);
      int media = 0;
      synchronized (wire) {
        for (byte[] d : wire) {
          assertFalse(TestPeer.containsBytes(d, marker), "no plaintext on the node link");
          for (byte[] p : sent) {
            if (d.length == p.length + 32 && TestPeer.containsBytes(d, p)) {
              media++;
              break;
            }
          }
        }
      }
      assertEquals(frames, media, "each datagram carries its RTP packet untouched (+32 bytes of link header/tag)");

      // feedback from a subscriber on b goes back to the origin: a PLI for the publisher's SSRC
      byte[] pli = {(byte) 0x81, (byte) 206, 0, 2, 0, 0, 0, 1, 0x12, 0x34, 0x56, 0x78};
      assertTrue(relay.send(true, pli, 0, pli.length));
      await("the PLI at the owner", () -> !atOwner.isEmpty());
      assertArrayEquals(pli, atOwner.poll());

      // a datagram from anyone but the peer node is dropped before the engine
      stranger.send(ByteBuffer.wrap(wire.get(wire.size() - 1)), relayAddr);
      await("the stranger's datagram counted", () -> relay.foreignDatagrams() == 1);
      assertEquals(0, relay.stats().rejectedAuth());
      assertTrue(relay.stats().received() >= frames, "media plus keepalives authenticated");
      assertEquals(0, relay.stats().rejectedReplay());
    }
  }

  /** One node of the cascade: its channel router and bridge, confined to one thread (as a media lane would be). */
  private static final class Node implements AutoCloseable {
    final ExecutorService thread;
    final Router router;
    CascadeBridge bridge;
    final Map<String, List<byte[]>> toPeers = new ConcurrentHashMap<>();

    Node(String name, long seed) {
      thread = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "cascade-test-" + name);
        t.setDaemon(true);
        return t;
      });
      router = new Router(RouterConfig.defaults(), new java.util.Random(seed));
    }

    static long now() {
      return System.nanoTime() / 1_000_000;
    }

    /** Router outputs: the link peer's to the bridge, the local subscribers' collected. Node thread. */
    void drain() {
      for (RouterOutput o; (o = router.pollOutput()) != null; ) {
        if (!bridge.offer(o, now()) && o instanceof RouterOutput.Rtp r) {
          toPeers.computeIfAbsent(r.peerId(), k -> Collections.synchronizedList(new ArrayList<>())).add(r.packet());
        }
      }
    }

    <T> T on(java.util.concurrent.Callable<T> task) throws Exception {
      return thread.submit(() -> {
        T t = task.call();
        drain();
        return t;
      }).get(30, TimeUnit.SECONDS);
    }

    int received(String peer) {
      List<byte[]> l = toPeers.get(peer);
      return l == null ? 0 : l.size();
    }

    @Override
    public void close() {
      thread.shutdownNow();
    }
  }

  @Test
  void twoNodesRoutersJoinedByTheUdpLinkForwardAnE2eePublisherToSubscribersOnTheOtherNode() throws Exception {
    byte[] secret = new byte[32];
    new SecureRandom().nextBytes(secret);
    List<byte[]> wire = Collections.synchronizedList(new ArrayList<>());
    DatagramChannel socketA = RelayTransport.bind(LOOPBACK);
    DatagramChannel socketB = RelayTransport.bind(LOOPBACK);
    InetSocketAddress addrA = (InetSocketAddress) socketA.getLocalAddress();
    InetSocketAddress addrB = (InetSocketAddress) socketB.getLocalAddress();
    try (Node a = new Node("a", 1); Node b = new Node("b", 2);
        RelayTransport linkA = RelayTransport.fromRelay(secret, "node-a", "node-b", socketA, addrB,
            (rtcp, p) -> a.thread.execute(() -> {
              a.bridge.deliver(rtcp, p, Node.now());
              a.drain();
            }));
        RelayTransport linkB = RelayTransport.toOwner(secret, "node-b", "node-a", socketB, addrA,
            (rtcp, p) -> b.thread.execute(() -> {
              b.bridge.deliver(rtcp, p, Node.now());
              b.drain();
            }))) {
      a.bridge = new CascadeBridge(a.router, "node-b", (rtcp, p, off, len, now) -> linkA.send(rtcp, p, off, len));
      b.bridge = new CascadeBridge(b.router, "node-a", (rtcp, p, off, len, now) -> linkB.send(rtcp, p, off, len));
      linkA.tap(wire::add);
      await("the node link is up", () -> linkA.up() && linkB.up());

      // node a: the publisher's audio producer, exported; node b: imported, two subscribers consume it
      long pubSsrc = 0x0A0B_0C0DL;
      CascadeBridge.RemoteTrack track = a.on(() -> {
        a.router.createProducer("mic", "pub", new ProducerParams(MediaKind.AUDIO, RtpCodec.OPUS, 111, 48000,
            pubSsrc, "0"));
        return a.bridge.export("mic", Node.now());
      });
      b.on(() -> {
        String id = b.bridge.importTrack(track).id();
        b.router.createConsumer("s1/mic", "sub1", id, new ConsumerParams(0x1111L, 111, null, 0, null), Node.now());
        b.router.createConsumer("s2/mic", "sub2", id, new ConsumerParams(0x2222L, 111, null, 0, null), Node.now());
        return null;
      });

      // the publisher's frames: SFrame ciphertext under a key only the members hold
      CipherSuite suite = CipherSuite.AES_128_GCM_SHA256_128;
      byte[] key = new byte[16];
      new SecureRandom().nextBytes(key);
      SFrameSender sender = new SFrameSender(suite);
      sender.setKey(new KeyId(3, 0), SecretBytes.copyOf(key));
      int frames = 60;
      List<byte[]> plain = new ArrayList<>();
      List<byte[]> cipher = new ArrayList<>();
      for (int i = 0; i < frames; i++) {
        byte[] pt = ("opus frame " + i + " of the cascade ").repeat(4).getBytes(StandardCharsets.US_ASCII);
        byte[] ct = sender.encrypt(new byte[0], pt);
        plain.add(pt);
        cipher.add(ct);
        byte[] pkt = rtp(100 + i, ct);
        ByteBuffer.wrap(pkt).putInt(8, (int) pubSsrc);
        a.on(() -> {
          a.router.handleRtp("pub", pkt, 0, pkt.length, Node.now());
          return null;
        });
      }
      await("every frame at both subscribers on node b", () -> b.received("sub1") >= frames
          && b.received("sub2") >= frames);

      for (String sub : List.of("sub1", "sub2")) {
        SFrameReceiver member = new SFrameReceiver(suite);
        member.addKey(new KeyId(3, 0), SecretBytes.copyOf(key));
        java.util.Set<Integer> decoded = new java.util.TreeSet<>();
        List<byte[]> got = new ArrayList<>(b.toPeers.get(sub));
        assertEquals(frames, got.size(), sub);
        for (byte[] pkt : got) {
          RtpPacket p = RtpPacket.parse(pkt, 0, pkt.length);
          byte[] payload = java.util.Arrays.copyOfRange(pkt, p.payloadOffset(), p.payloadOffset() + p.payloadLength());
          int i = cipher.indexOf(cipher.stream().filter(c -> java.util.Arrays.equals(c, payload)).findFirst()
              .orElseThrow(() -> new AssertionError(sub + ": a payload that is not the publisher's ciphertext")));
          byte[] out = new byte[payload.length];
          DecryptResult r = member.decrypt(new byte[0], 0, 0, payload, 0, payload.length, out, 0);
          DecryptResult.Decrypted d = assertInstanceOf(DecryptResult.Decrypted.class, r, sub + " frame " + i);
          assertArrayEquals(plain.get(i), java.util.Arrays.copyOf(out, d.length()), sub + " frame " + i);
          decoded.add(i);
        }
        assertEquals(frames, decoded.size(), sub + " decoded every frame once");
      }
      byte[] marker = "of the cascade".getBytes(StandardCharsets.US_ASCII);
      int carried = 0;
      synchronized (wire) {
        for (byte[] d : wire) {
          assertFalse(TestPeer.containsBytes(d, marker), "no plaintext crossed the node link");
          for (byte[] ct : cipher) {
            if (TestPeer.containsBytes(d, ct)) {
              carried++;
              break;
            }
          }
        }
      }
      assertEquals(frames, carried, "each frame crossed once, its ciphertext untouched");
      assertEquals(0, linkB.stats().rejectedAuth() + linkB.stats().rejectedReplay());
    }
  }
}
