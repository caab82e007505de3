package dev.veil.server;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.AddressedEnvelope;
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

  private final MediaLane lane;
  private final RtcMedia media;
  private final EventLoop loop;
  private final Stats stats;
  private final Channel udp;
  private final Runnable flush = this::flush;
  /** Datagrams handed to the socket, send errors (touched only on the loop; reported as counters). */
  long datagramsOut;
  long sendErrors;
  private boolean flushPending;
  long pendingBytesMax;
  long earlyFlushes;
  /** Datagrams of this loop turn for each other lane's socket, or null. */
  private AddressedEnvelope<ByteBuf, InetSocketAddress>[][] outbox;
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
    MediaLane via = media.spreadsEgress() ? media.egressLane(to) : lane;
    if (via != lane) {
      egress(via, new DatagramPacket(Unpooled.wrappedBuffer(data), to));
      return;
    }
    if (!udp.isWritable()) {
      stats.inc("udp.send_dropped");
      return;
    }
    write(new DatagramPacket(Unpooled.wrappedBuffer(data), to));
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
    MediaLane via = media.spreadsEgress() ? media.egressLane(to) : lane;
    if (via == lane && !udp.isWritable()) {
      stats.inc("udp.send_dropped");
      return;
    }
    ByteBuf b = udp.alloc().directBuffer(len, len);
    b.writeBytes(buf, off, len);
    // a DatagramPacket (not a recycled envelope of our own): Netty's sendmmsg batching takes only DatagramPackets and
    // writes anything else with one sendto each
    DatagramPacket packet = new DatagramPacket(b, to);
    if (via != lane) {
      egress(via, packet);
      return;
    }
    write(packet);
  }

  /** A datagram another lane handed over for this lane's socket (on this loop). */
  private void writeHandedOver(AddressedEnvelope<ByteBuf, InetSocketAddress> packet) {
    boolean closed = lane.isClosed();
    if (closed || !udp.isWritable()) {
      packet.release();
      if (!closed) {
        stats.inc("udp.send_dropped");
      }
      return;
    }
    write(packet);
  }

  /**
   * Writes through this lane's socket (on its loop), with the channel's void promise: no promise or listener per
   * datagram; counted as handed to the socket, a failure also as {@code udp.send_errors} (exceptionCaught).
   */
  private void write(AddressedEnvelope<ByteBuf, InetSocketAddress> packet) {
    udp.write(packet, udp.voidPromise());
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

  @SuppressWarnings("unchecked")
  private void egress(MediaLane via, AddressedEnvelope<ByteBuf, InetSocketAddress> packet) {
    if (outbox == null) {
      outbox = new AddressedEnvelope[media.lanes().size()][];
      outboxSize = new int[outbox.length];
    }
    AddressedEnvelope<ByteBuf, InetSocketAddress>[] box = outbox[via.index];
    int n = outboxSize[via.index];
    if (box == null || n + 1 > box.length) {
      box = Arrays.copyOf(box == null ? new AddressedEnvelope[64] : box, box == null ? 64 : box.length * 2);
      outbox[via.index] = box;
    }
    box[n] = packet;
    outboxSize[via.index] = n + 1;
    if (n + 1 >= 256) {
      handOver(via.index); // a big turn: hand over in slices, as the early flush does for the own socket
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
    AddressedEnvelope<ByteBuf, InetSocketAddress>[] batch = outbox[laneIndex];
    int n = outboxSize[laneIndex];
    outbox[laneIndex] = null;
    outboxSize[laneIndex] = 0;
    long bytes = 0;
    for (int k = 0; k < n; k++) {
      bytes += batch[k].content().readableBytes();
    }
    LaneSender via = media.lanes().get(laneIndex).sender();
    if (via.egressQueued.addAndGet(bytes) > MAX_EGRESS_QUEUED) {
      via.egressQueued.addAndGet(-bytes);
      for (int k = 0; k < n; k++) {
        batch[k].release();
      }
      stats.add("udp.send_dropped", n);
      return;
    }
    stats.add("udp.egress_handed_over", n);
    long b = bytes;
    via.loop.execute(() -> {
      via.egressQueued.addAndGet(-b);
      for (int k = 0; k < n; k++) {
        via.writeHandedOver(batch[k]);
      }
    });
  }

  /** Writes what is pending (the lane closes). */
  void flushNow() {
    udp.flush();
  }
}
