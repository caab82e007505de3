package dev.veil.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.util.IllegalReferenceCountException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Arrays;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The reused send datagram: reference counting of its buffer, pooling on its loop only, real sends through it. */
class OutDatagramTest {
  private static final InetSocketAddress TO = new InetSocketAddress(InetAddress.getLoopbackAddress(), 40_000);

  @Test
  void referenceCount_isTheBuffers_andTheWrapperReturnsOnlyOnItsLoop() throws Exception {
    EventLoop loop = new EventLoop("test-out-datagram");
    try {
      loop.start();
      OutDatagram.Pool pool = new OutDatagram.Pool(loop);
      // released off the loop: the buffer is freed, the wrapper is not pooled
      ByteBuf b = Unpooled.directBuffer(8).writeLong(42);
      OutDatagram d = pool.get(b, TO);
      assertSame(b, d.content());
      assertSame(TO, d.recipient());
      assertNull(d.sender());
      d.retain();
      assertFalse(d.release());
      assertEquals(1, b.refCnt());
      assertTrue(d.release());
      assertEquals(0, b.refCnt());
      assertEquals(0, d.refCnt());
      assertThrows(IllegalReferenceCountException.class, d::content);
      assertEquals(0, pool.idle());
      // on the loop: the same wrapper comes back for the next datagram
      Object[] seen = onLoop(loop, () -> {
        OutDatagram first = pool.get(Unpooled.directBuffer(4).writeInt(1), TO);
        first.release();
        InetSocketAddress other = new InetSocketAddress(InetAddress.getLoopbackAddress(), 40_001);
        ByteBuf next = Unpooled.directBuffer(4).writeInt(2);
        OutDatagram second = pool.get(next, other);
        Object[] r = {first, second, second.content() == next, second.recipient() == other, pool.idle()};
        second.release();
        return r;
      });
      assertSame(seen[0], seen[1]);
      assertEquals(true, seen[2]);
      assertEquals(true, seen[3]);
      assertEquals(0, seen[4]);
      assertEquals(2, pool.created());
    } finally {
      loop.stop(3000);
    }
  }

  @Test
  void sentThroughTheSocket_inBatches_withTheWrappersReused() throws Exception {
    EventLoop loop = new EventLoop("test-out-datagram-send");
    try (DatagramSocket rx = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
      rx.setSoTimeout(30_000);
      loop.start();
      Channel udp = loop.udpBootstrap().handler(new ChannelInboundHandlerAdapter())
          .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).sync().channel();
      OutDatagram.Pool pool = new OutDatagram.Pool(loop);
      InetSocketAddress to = (InetSocketAddress) rx.getLocalSocketAddress();
      int perRound = 100;
      byte[] got = new byte[2048];
      for (int round = 0; round < 10; round++) {
        int r = round;
        onLoop(loop, () -> {
          for (int i = 0; i < perRound; i++) {
            ByteBuf b = udp.alloc().directBuffer(200, 200);
            b.writeBytes(payload(r, i));
            udp.write(pool.get(b, to), udp.voidPromise());
          }
          udp.flush();
          return null;
        });
        for (int i = 0; i < perRound; i++) {
          DatagramPacket p = new DatagramPacket(got, got.length);
          rx.receive(p);
          assertArrayEquals(payload(r, i), Arrays.copyOf(got, p.getLength()), "round " + r + " datagram " + i);
        }
        // everything written: the channel released every datagram, each wrapper is back in the pool
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!onLoop(loop, () -> {
          ChannelOutboundBuffer ob = udp.unsafe().outboundBuffer();
          return ob == null || ob.isEmpty();
        })) {
          assertTrue(System.nanoTime() < deadline, "outbound buffer never drained");
          Thread.onSpinWait();
        }
        assertEquals(pool.created(), (long) onLoop(loop, pool::idle));
      }
      // rounds after the first took the first round's wrappers
      assertTrue(pool.created() <= perRound, "wrappers made: " + pool.created());
      udp.close().sync();
    } finally {
      loop.stop(3000);
    }
  }

  private static byte[] payload(int round, int i) {
    byte[] p = new byte[200];
    for (int k = 0; k < p.length; k++) {
      p[k] = (byte) (round * 31 + i * 7 + k);
    }
    return p;
  }

  private static <T> T onLoop(EventLoop loop, Callable<T> task) throws Exception {
    CompletableFuture<T> f = new CompletableFuture<>();
    loop.execute(() -> {
      try {
        f.complete(task.call());
      } catch (Throwable t) {
        f.completeExceptionally(t);
      }
    });
    return f.get(30, TimeUnit.SECONDS);
  }
}
