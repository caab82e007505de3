package dev.veil.server;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.socket.DatagramPacket;
import java.net.InetSocketAddress;
import java.util.Arrays;

/**
 * The send side of a {@link MediaLane}: writes to its UDP socket without a flush, one flush task per loop turn (one
 * {@code sendmmsg} on epoll), or at once when {@link #FLUSH_BYTES} are pending; a send while the socket's pending
 * writes exceed the high-water mark is dropped and counted ({@code udp.send_dropped}). With egress spreading
 * ({@link RtcMedia#egressLane}) the datagrams for another lane's socket are copied into parcels of that lane's
 * {@link LaneInbox}, collected per loop turn and handed over together (bounded by {@link MediaLane#MAX_INBOX} parcels
 * waiting per lane; past it they are dropped and counted as {@code udp.send_dropped}). Everything here runs on the
 * lane's loop.
 */
final class LaneSender {
  /**
   * Flush at once when this many bytes are pending (else once per loop turn): one read batch of up to 256 datagrams
   * fanned out to 40 subscribers is ~10k sends, ~10 MiB of 1 KiB packets, more than the 4 MiB high-water mark, so a
   * loop that fell behind (a fresh process: JIT, a DTLS burst) dropped its own sends. {@code -Dveil.udpFlushBytes},
   * 0 = only once per loop turn (the old behaviour, for before/after measurements).
   */
  private static final long FLUSH_BYTES = Long.getLong("veil.udpFlushBytes", 256 * 1024);
  /** Parcels for one other lane's socket collected before they are handed over within a loop turn. */
  static final int EGRESS_SLICE = 256;
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
  private final Runnable flush;
  /** Datagrams handed to the socket, send errors (touched only on the loop; reported as counters). */
  long datagramsOut;
  long sendErrors;
  private boolean flushPending;
  long pendingBytesMax;
  long earlyFlushes;
  /** This loop turn's parcels for each other lane's socket (made at the first spread send), and their counts. */
  private LaneInbox.Parcel[][] outbox;
  private int[] outboxSize;
  private boolean outboxPending;
  private final Runnable handOver;

  LaneSender(MediaLane lane, RtcMedia media, EventLoop loop, Stats stats, Channel udp) {
    this.lane = lane;
    this.media = media;
    this.loop = loop;
    this.stats = stats;
    this.udp = udp;
    this.pool = new OutDatagram.Pool(loop);
    this.flush = loop.guarded(this::flush); // posted on every busy loop turn: wrapped once
    this.handOver = loop.guarded(this::handOver);
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
    if (!POOLED && egressVia(to) == lane) { // the path before, for before/after measurements
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

  /** The lane whose socket sends to {@code to}: this one, or with egress spreading the one its address hashes to. */
  private MediaLane egressVia(InetSocketAddress to) {
    return lane.spreadsEgress() ? media.egressLane(to) : lane;
  }

  /**
   * One copy of {@code buf[off, off+len)}: into a pooled direct buffer of the channel's allocator, sent through this
   * lane's socket; or, for another lane's socket, into a parcel of that lane's inbox, and that lane copies it into a
   * direct buffer of its own (so every buffer is allocated and released on one thread).
   */
  private void sendCopy(byte[] buf, int off, int len, InetSocketAddress to) {
    MediaLane via = egressVia(to);
    if (via != lane) {
      LaneInbox.Parcel x = via.inbox().take();
      x.fill(buf, off, len);
      x.send = true;
      x.addr = to;
      egress(via.index, x);
      return;
    }
    if (!udp.isWritable()) {
      stats.inc("udp.send_dropped");
      return;
    }
    ByteBuf b = udp.alloc().directBuffer(len, len);
    b.writeBytes(buf, off, len);
    write(b, to);
  }

  /** On this lane's loop: a datagram another lane handed over for this lane's socket. */
  void writeHandedOver(LaneInbox.Parcel x) {
    boolean closed = lane.isClosed();
    if (closed || !udp.isWritable()) {
      if (!closed) {
        stats.inc("udp.send_dropped");
      }
      return;
    }
    ByteBuf b = udp.alloc().directBuffer(x.len, x.len);
    b.writeBytes(x.buf, 0, x.len);
    write(b, x.addr);
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
   * Collects a parcel for lane {@code i}'s socket in this loop turn's batch; the batch goes to that lane's inbox at the
   * end of the turn (one wake-up per lane and turn), or at once when it reaches {@link #EGRESS_SLICE} parcels.
   */
  private void egress(int i, LaneInbox.Parcel x) {
    if (outbox == null) {
      outbox = new LaneInbox.Parcel[media.lanes().size()][EGRESS_SLICE];
      outboxSize = new int[outbox.length];
    }
    int n = outboxSize[i];
    outbox[i][n++] = x;
    outboxSize[i] = n;
    if (n == EGRESS_SLICE) {
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
    for (int i = 0; i < outbox.length; i++) {
      if (outboxSize[i] > 0) {
        handOver(i);
      }
    }
  }

  private void handOver(int laneIndex) {
    int n = outboxSize[laneIndex];
    outboxSize[laneIndex] = 0;
    // counted before the other lane can write them (a reader that saw the datagrams also sees the count)
    stats.add("udp.egress_handed_over", n);
    int accepted = media.lane(laneIndex).inbox().offerAll(outbox[laneIndex], n);
    if (accepted < n) {
      stats.add("udp.egress_handed_over", -(n - accepted));
      stats.add("udp.send_dropped", n - accepted);
    }
  }

  /** Writes what is pending (the lane closes). */
  void flushNow() {
    udp.flush();
  }
}
