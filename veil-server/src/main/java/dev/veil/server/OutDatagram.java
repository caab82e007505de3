package dev.veil.server;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.socket.DatagramPacket;
import io.netty.util.IllegalReferenceCountException;
import java.net.InetAddress;
import java.net.InetSocketAddress;

/**
 * A {@link DatagramPacket} that a lane's sender reuses: Netty's epoll {@code sendmmsg} batching takes only
 * {@code DatagramPacket}s (anything else is written with one {@code sendto} each) and reads them through
 * {@link #content()} and {@link #recipient()}, so this subclass carries a mutable buffer and destination behind
 * those accessors instead of allocating an envelope per datagram.
 *
 * <p>Reference counting is the buffer's: when the channel releases the datagram (written, failed, or the channel
 * closed) and the buffer's count reaches zero, the wrapper goes back to its {@link Pool}, which belongs to one event
 * loop — the one whose socket writes it (Netty releases outbound messages on the channel's loop). A release on any
 * other thread leaves the wrapper to the garbage collector instead of touching the pool.
 */
final class OutDatagram extends DatagramPacket {
  /** Placeholder for the superclass's final fields, never read (every accessor is overridden). */
  private static final InetSocketAddress NOWHERE = new InetSocketAddress(InetAddress.getLoopbackAddress(), 9);

  private final Pool pool;
  private ByteBuf buf;
  private InetSocketAddress to;

  private OutDatagram(Pool pool) {
    super(Unpooled.EMPTY_BUFFER, NOWHERE);
    this.pool = pool;
  }

  @Override
  public ByteBuf content() {
    ByteBuf b = buf;
    if (b == null) {
      throw new IllegalReferenceCountException(0);
    }
    return b;
  }

  @Override
  public InetSocketAddress recipient() {
    return to;
  }

  @Override
  public InetSocketAddress sender() {
    return null;
  }

  @Override
  public int refCnt() {
    ByteBuf b = buf;
    return b == null ? 0 : b.refCnt();
  }

  @Override
  public OutDatagram retain() {
    content().retain();
    return this;
  }

  @Override
  public OutDatagram retain(int increment) {
    content().retain(increment);
    return this;
  }

  @Override
  public OutDatagram touch() {
    return this;
  }

  @Override
  public OutDatagram touch(Object hint) {
    content().touch(hint);
    return this;
  }

  @Override
  public boolean release() {
    return release(1);
  }

  @Override
  public boolean release(int decrement) {
    if (content().release(decrement)) {
      buf = null;
      to = null;
      pool.recycle(this);
      return true;
    }
    return false;
  }

  @Override
  public String toString() {
    return "OutDatagram(" + to + ", " + buf + ")";
  }

  /**
   * Wrappers of one event loop. {@link #get} and {@link #recycle} on the loop's thread only; at most {@link #MAX}
   * idle wrappers are kept (more in flight than that at once are made and dropped).
   */
  static final class Pool {
    static final int MAX = 16_384;
    private final EventLoop loop;
    private OutDatagram[] idle = new OutDatagram[256];
    private int size;
    /** Wrappers made (OutDatagramTest: the pool stops making them once it covers what is in flight). */
    private long created;

    Pool(EventLoop loop) {
      this.loop = loop;
    }

    /** A datagram of {@code buf} (its reference is taken over) to {@code to}; on the loop's thread. */
    OutDatagram get(ByteBuf buf, InetSocketAddress to) {
      OutDatagram d;
      if (size > 0) {
        d = idle[--size];
        idle[size] = null;
      } else {
        d = new OutDatagram(this);
        created++;
      }
      d.buf = buf;
      d.to = to;
      return d;
    }

    private void recycle(OutDatagram d) {
      if (!loop.inLoop()) {
        return;
      }
      if (size == idle.length) {
        if (size >= MAX) {
          return;
        }
        idle = java.util.Arrays.copyOf(idle, Math.min(MAX, size * 2));
      }
      idle[size++] = d;
    }

    long created() {
      return created;
    }

    int idle() {
      return size;
    }
  }
}
