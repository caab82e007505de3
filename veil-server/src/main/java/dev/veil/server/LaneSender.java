package dev.veil.server;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.socket.DatagramPacket;
import java.net.InetSocketAddress;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The send side of a {@link MediaLane}: writes to its UDP socket without a flush, one flush task per loop turn (one
 * {@code sendmmsg} on epoll), or at once when {@link #FLUSH_BYTES} are pending; a send while the socket's pending
 * writes exceed the high-water mark is dropped and counted ({@code udp.send_dropped}). With egress spreading
 * ({@link RtcMedia#egressLane}) the datagrams for another lane's socket are collected per loop turn and handed to
 * that lane (bounded by {@link #MAX_EGRESS_QUEUED} bytes per lane). Everything here runs on the lane's loop.
 */
final class LaneSender {
  /**
   * Flush at once when this many bytes are pending (else once per loop turn): one read batch of up to 256 datagrams
   * fanned out to 40 subscribers is ~10k sends, ~10 MiB of 1 KiB packets, more than the 4 MiB high-water mark, so a
   * loop that fell behind (a fresh process: JIT, a DTLS burst) dropped its own sends. {@code -Dveil.udpFlushBytes},
   * 0 = only once per loop turn (the old behaviour, for before/after measurements).
   */
  private static final long FLUSH_BYTES = Long.getLong("veil.udpFlushBytes", 256 * 1024);
  /** Most bytes other lanes may have handed to one lane to send and not yet written (past it: send_dropped). */
  static final long MAX_EGRESS_QUEUED = 16L * 1024 * 1024;
  /**
   * Send through reused {@link OutDatagram}s ({@code -Dveil.pooledDatagrams}, default on; false: a new
   * {@code DatagramPacket} per datagram, and a heap-wrapped array for non-forwarded sends, the path before, for
   * before/after measurements).
   */
  static final boolean POOLED = !"false".equals(System.getProperty("veil.pooledDatagrams"));

  private final MediaLane lane;
  private final RtcMedia media;
  private final EventLoop loop;
  private final Stats stats;
  private final Channel udp;
  private final OutDatagram.Pool pool;
  private final Runnable flush = this::flush;
  /** Datagrams handed to the socket, send errors (touched only on the loop; reported as counters). */
  long datagramsOut;
  long sendErrors;
  private boolean flushPending;
  long pendingBytesMax;
  long earlyFlushes;
  /** Datagrams (buffer, destination) of this loop turn for each other lane's socket, or null. */
  private ByteBuf[][] outboxBufs;
  private InetSocketAddress[][] outboxTos;
  private int[] outboxSize;
  private boolean outboxPending;
  private final Runnable handOver = this::handOver;
  /** Bytes other lanes handed to this one to send, not yet written. */
  private final AtomicLong egressQueued = new AtomicLong();

  LaneSender(MediaLane lane, RtcMedia media, EventLoop loop, Stats stats, Channel udp) {
    this.lane = lane;
    this.media = media;
    this.loop = loop;
    this.stats = stats;
    this.udp = udp;
    this.pool = new OutDatagram.Pool(loop);
  }

  /** A send failed in the socket (reported through the channel's exceptionCaught). */
  void onSendError() {
    if (!lane.isClosed()) {
      sendErrors++;
    }
  }

  /** See {@link MediaLane#send(byte[], InetSocketAddress)}. */
  void send(byte[] data, InetSocketAddress to) {
    if (lane.isClosed()) {
      return;
    }
    if (IceTcp.isPath(to)) { // an ICE-TCP path key (never a UDP address)
      media.iceTcpSend(lane, data, to);
      return;
    }
    if (!POOLED) {
      MediaLane via = media.spreadsEgress() ? media.egressLane(to) : lane;
      if (via != lane) {
        egress(via, Unpooled.wrappedBuffer(data), to);
        return;
      }
      if (!udp.isWritable()) {
        stats.inc("udp.send_dropped");
        return;
      }
      write(Unpooled.wrappedBuffer(data), to);
      return;
    }
    sendCopy(data, 0, data.length, to);
  }

  /** See {@link MediaLane#send(byte[], int, int, InetSocketAddress)}. */
  void send(byte[] buf, int off, int len, InetSocketAddress to) {
    if (lane.isClosed()) {
      return;
    }
    if (IceTcp.isPath(to)) {
      media.iceTcpSend(lane, Arrays.copyOfRange(buf, off, off + len), to);
      return;
    }
    sendCopy(buf, off, len, to);
  }

  /** One copy of {@code buf[off, off+len)} into a pooled direct buffer of the channel's allocator, then sent. */
  private void sendCopy(byte[] buf, int off, int len, InetSocketAddress to) {
    MediaLane via = media.spreadsEgress() ? media.egressLane(to) : lane;
    if (via == lane && !udp.isWritable()) {
      stats.inc("udp.send_dropped");
      return;
    }
    ByteBuf b = udp.alloc().directBuffer(len, len);
    b.writeBytes(buf, off, len);
    if (via != lane) {
      egress(via, b, to);
      return;
    }
    write(b, to);
  }

  /** A datagram another lane handed over for this lane's socket (on this loop). */
  private void writeHandedOver(ByteBuf buf, InetSocketAddress to) {
    boolean closed = lane.isClosed();
    if (closed || !udp.isWritable()) {
      buf.release();
      if (!closed) {
        stats.inc("udp.send_dropped");
      }
      return;
    }
    write(buf, to);
  }

  /**
   * Writes {@code buf} (its reference is handed to the channel) to {@code to} through this lane's socket (on its
   * loop), as a datagram from the loop's pool ({@link OutDatagram}; {@code -Dveil.pooledDatagrams=false}: a new
   * {@code DatagramPacket} per send, as before) with the channel's void promise: no envelope, promise or listener
   * per datagram; counted as handed to the socket, a failure also as {@code udp.send_errors} (exceptionCaught).
   */
  private void write(ByteBuf buf, InetSocketAddress to) {
    udp.write(POOLED ? pool.get(buf, to) : new DatagramPacket(buf, to), udp.voidPromise());
    datagramsOut++;
    ChannelOutboundBuffer ob = udp.unsafe().outboundBuffer();
    long pending = ob == null ? 0 : ob.totalPendingWriteBytes();
    if (pending > pendingBytesMax) {
      pendingBytesMax = pending;
    }
    if (FLUSH_BYTES > 0 && pending >= FLUSH_BYTES) {
      earlyFlushes++;
      udp.flush(); // the flush task queued below (if any) then finds little or nothing left
      return;
    }
    if (!flushPending) {
      flushPending = true;
      loop.execute(flush);
    }
  }

  private void flush() {
    flushPending = false;
    udp.flush();
  }

  /**
   * Collects a datagram for {@code via}'s socket in this loop turn's batch (buffer and destination side by side; the
   * writing lane wraps it in one of its own loop's datagrams, so a wrapper is taken and recycled on one thread).
   */
  private void egress(MediaLane via, ByteBuf buf, InetSocketAddress to) {
    if (outboxBufs == null) {
      outboxBufs = new ByteBuf[media.lanes().size()][];
      outboxTos = new InetSocketAddress[outboxBufs.length][];
      outboxSize = new int[outboxBufs.length];
    }
    int i = via.index;
    ByteBuf[] bufs = outboxBufs[i];
    int n = outboxSize[i];
    if (bufs == null || n + 1 > bufs.length) {
      int cap = bufs == null ? 64 : bufs.length * 2;
      outboxBufs[i] = bufs = bufs == null ? new ByteBuf[cap] : Arrays.copyOf(bufs, cap);
      outboxTos[i] = outboxTos[i] == null ? new InetSocketAddress[cap] : Arrays.copyOf(outboxTos[i], cap);
    }
    bufs[n] = buf;
    outboxTos[i][n] = to;
    outboxSize[i] = n + 1;
    if (n + 1 >= 256) {
      handOver(i); // a big turn: hand over in slices, as the early flush does for the own socket
    }
    if (!outboxPending) {
      outboxPending = true;
      loop.execute(handOver);
    }
  }

  /** End of a loop turn: hands each other lane its batch. */
  private void handOver() {
    outboxPending = false;
    for (int i = 0; i < outboxBufs.length; i++) {
      if (outboxSize[i] > 0) {
        handOver(i);
      }
    }
  }

  private void handOver(int laneIndex) {
    ByteBuf[] bufs = outboxBufs[laneIndex];
    InetSocketAddress[] tos = outboxTos[laneIndex];
    int n = outboxSize[laneIndex];
    outboxBufs[laneIndex] = null;
    outboxTos[laneIndex] = null;
    outboxSize[laneIndex] = 0;
    long bytes = 0;
    for (int k = 0; k < n; k++) {
      bytes += bufs[k].readableBytes();
    }
    LaneSender via = media.lanes().get(laneIndex).sender();
    if (via.egressQueued.addAndGet(bytes) > MAX_EGRESS_QUEUED) {
      via.egressQueued.addAndGet(-bytes);
      for (int k = 0; k < n; k++) {
        bufs[k].release();
      }
      stats.add("udp.send_dropped", n);
      return;
    }
    stats.add("udp.egress_handed_over", n);
    long b = bytes;
    via.loop.execute(() -> {
      via.egressQueued.addAndGet(-b);
      for (int k = 0; k < n; k++) {
        via.writeHandedOver(bufs[k], tos[k]);
      }
    });
  }

  /** Writes what is pending (the lane closes). */
  void flushNow() {
    udp.flush();
  }
}
