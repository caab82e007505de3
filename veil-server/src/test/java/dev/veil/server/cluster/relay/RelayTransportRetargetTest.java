package dev.veil.server.cluster.relay;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.InetSocketAddress;
import java.nio.channels.DatagramChannel;
import java.util.Arrays;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * One end of a node link (docs/PROTOCOL.md §1.9.3) follows the other node's restarted link on its own socket
 * ({@link RelayTransport#retarget}): a fresh session comes up with the new socket, media crosses it, and this end's
 * address stays what it announced. On loopback, with either end (initiator or responder) restarting.
 */
class RelayTransportRetargetTest {
  private static final InetSocketAddress LOOPBACK = new InetSocketAddress("127.0.0.1", 0);

  private static void await(String what, BooleanSupplier cond) throws InterruptedException {
    long deadline = System.nanoTime() + 60_000_000_000L;
    while (!cond.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("not within 60 s: " + what);
      }
      Thread.sleep(10); // polling a condition, not synchronising on time
    }
  }

  /** Counts sessions coming up and keeps the media it gets. */
  private static final class Sink implements RelayTransport.Listener {
    final AtomicInteger ups = new AtomicInteger();
    final LinkedBlockingQueue<byte[]> media = new LinkedBlockingQueue<>(100);

    @Override
    public void media(boolean rtcp, byte[] packet) {
      media.offer(packet);
    }

    @Override
    public void up() {
      ups.incrementAndGet();
    }
  }

  private static byte[] rtp(int seq) {
    byte[] p = new byte[40];
    p[0] = (byte) 0x80;
    p[1] = 111;
    p[3] = (byte) seq;
    Arrays.fill(p, 12, 40, (byte) seq);
    return p;
  }

  @ParameterizedTest
  @ValueSource(booleans = {true, false})
  void theOtherEndFollowsARestartedLinkOnItsOwnSocket(boolean initiatorRestarts) throws Exception {
    byte[] secret = new byte[32];
    Arrays.fill(secret, (byte) 7);
    DatagramChannel socketA = RelayTransport.bind(LOOPBACK); // node-a: the initiator (lower id)
    DatagramChannel socketB = RelayTransport.bind(LOOPBACK);
    InetSocketAddress addrA = (InetSocketAddress) socketA.getLocalAddress();
    InetSocketAddress addrB = (InetSocketAddress) socketB.getLocalAddress();
    Sink sinkA = new Sink();
    Sink sinkB = new Sink();
    RelayTransport a = RelayTransport.toOwner(secret, "node-a", "node-b", socketA, addrB, sinkA);
    RelayTransport b = RelayTransport.fromRelay(secret, "node-b", "node-a", socketB, addrA, sinkB);
    RelayTransport restarted = null;
    try {
      await("the link is up both ways", () -> sinkA.ups.get() == 1 && sinkB.ups.get() == 1);

      // one node restarts its link on a new socket; the other retargets its transport (same socket) to it
      Sink fresh = new Sink();
      RelayTransport stays;
      Sink staysSink;
      DatagramChannel socketNew = RelayTransport.bind(LOOPBACK);
      InetSocketAddress addrNew = (InetSocketAddress) socketNew.getLocalAddress();
      if (initiatorRestarts) {
        a.close();
        restarted = RelayTransport.toOwner(secret, "node-a", "node-b", socketNew, addrB, fresh);
        stays = b;
        staysSink = sinkB;
      } else {
        b.close();
        restarted = RelayTransport.fromRelay(secret, "node-b", "node-a", socketNew, addrA, fresh);
        stays = a;
        staysSink = sinkA;
      }
      InetSocketAddress before = stays.localAddress();
      stays.retarget(addrNew);
      await("a new session with the restarted link", () -> fresh.ups.get() >= 1 && staysSink.ups.get() >= 2);
      assertEquals(before, stays.localAddress(), "the retargeted end kept its socket");
      assertEquals(addrNew, stays.peer());

      // media crosses the new session both ways
      byte[] there = rtp(1);
      byte[] back = rtp(2);
      stays.send(false, there, 0, there.length);
      restarted.send(false, back, 0, back.length);
      await("the packet at the restarted end", () -> !fresh.media.isEmpty());
      await("the packet back", () -> !staysSink.media.isEmpty());
      assertArrayEquals(there, fresh.media.poll());
      assertArrayEquals(back, staysSink.media.poll());
    } finally {
      a.close();
      b.close();
      if (restarted != null) {
        restarted.close();
      }
    }
  }
}
