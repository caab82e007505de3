package dev.veil.server;

import dev.veil.signaling.Role;
import dev.veil.webrtc.dtls.DtlsCertificate;
import dev.veil.webrtc.dtls.DtlsConfig;
import dev.veil.webrtc.ice.IceLiteAgent;
import dev.veil.webrtc.mux.Demux;
import dev.veil.webrtc.mux.PacketKind;
import dev.veil.webrtc.router.RouterConfig;
import dev.veil.webrtc.router.RouterOutput;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.socket.DatagramPacket;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One media loop: an {@link EventLoop} thread with its own UDP socket on the server's one media port, the
 * connections ({@link RtcPeer}) of the channels placed on it and those channels' routers ({@link ChannelRouters}).
 * Everything of a channel (transports, router, timers) lives on its lane's thread only, so none of it needs a lock.
 *
 * <p>Receive: with one lane its socket gets every datagram, as before. With several, every lane's socket is bound to
 * the same port with SO_REUSEPORT and the kernel picks one socket per client 4-tuple; a lane looks the sender up
 * in the shared, lock-free maps of {@link RtcMedia} (validated address, else the STUN USERNAME's local ufrag) and
 * handles the datagram itself if the connection is its own, else hands the {@code byte[]} to the owning lane's task
 * queue (bounded: at most {@link #MAX_INBOX} datagrams waiting per lane, past it they are dropped and counted
 * {@code udp.handoff_dropped}). A DTLS ClientHello from a not-yet-validated address is held by the lane that received
 * it ({@link DtlsHold}) and handed to the owner when an ICE check validates the address.
 *
 * <p>Send: the owning lane writes through its own socket (same address and port as every other lane's), without a
 * flush; one flush task per loop turn hands the batch to the kernel (one {@code sendmmsg} on epoll), or at once when
 * {@link #FLUSH_BYTES} are pending. A send while the socket's pending writes exceed the high-water mark (4 MiB) is
 * dropped and counted ({@code udp.send_dropped}).
 */
final class MediaLane implements ChannelRouters.Sink {
  private static final Logger LOG = LoggerFactory.getLogger(MediaLane.class);
  static final int MAX_DATAGRAM = 1500;
  /**
   * Receive SRTP/SRTCP in place in the lane's buffer ({@code -Dveil.receiveInPlace}, default on; false: a new array
   * per datagram and the transport's queued outputs, the path before, for before/after measurements).
   */
  static final boolean IN_PLACE = !"false".equals(System.getProperty("veil.receiveInPlace"));
  /**
   * Datagrams read per {@code recvmmsg} call on epoll ({@code -Dveil.recvmmsg=N}, default 0: one {@code recvmsg} per
   * datagram, as before): Netty reads up to N datagrams of at most MAX_DATAGRAM + 1 bytes into one buffer per call
   * ({@code EpollChannelOption.MAX_DATAGRAM_PAYLOAD_SIZE}) and hands each on as a slice. An experiment, measured in
   * docs/BENCHMARKS.md; off by default.
   */
  static final int RECVMMSG = Math.max(0, Math.min(64, Integer.getInteger("veil.recvmmsg", 0)));
  /** Most datagrams handed to one lane by the others and not yet handled ({@code -Dveil.laneInbox}). */
  static final int MAX_INBOX = Integer.getInteger("veil.laneInbox", 16_384);
  /**
   * Flush at once when this many bytes are pending (else once per loop turn): one read batch of up to 256 datagrams
   * fanned out to 40 subscribers is ~10k sends, ~10 MiB of 1 KiB packets, more than the 4 MiB high-water mark, so a
   * loop that fell behind (a fresh process: JIT, a DTLS burst) dropped its own sends. {@code -Dveil.udpFlushBytes},
   * 0 = only once per loop turn (the old behaviour, for before/after measurements).
   */
  private static final long FLUSH_BYTES = Long.getLong("veil.udpFlushBytes", 256 * 1024);

  final int index;
  private final RtcMedia media;
  private final EventLoop loop;
  private final Stats stats;
  /** Final counters of the routers and peers that closed on this lane (touched only on the loop). */
  private final Map<String, Long> closedCounters = new java.util.HashMap<>();
  private final SecureRandom random;
  private final Channel udp;
  private final Runnable flush = this::flush;
  /**
   * The lane's receive buffer (loop thread only): each datagram is copied here out of Netty's buffer, and this lane's
   * SRTP/SRTCP is decrypted and routed from here before the next datagram is read into it. MAX_DATAGRAM + 1: a
   * datagram that fills it is dropped as too big before it is copied.
   */
  private final byte[] rxBuf = new byte[MAX_DATAGRAM + 1];
  /** Datagrams received and handed to the socket, send errors (touched only on the loop; reported as counters). */
  private long datagramsIn;
  private long datagramsOut;
  private long sendErrors;
  private boolean flushPending;
  private long pendingBytesMax;
  private long earlyFlushes;
  private final Map<String, RtcPeer> peers = new HashMap<>();
  /**
   * ClientHellos from not-yet-validated addresses, kept briefly for the ICE check just behind them
   * ({@code -Dveil.dtlsHoldMillis}, default 500; 0 turns holding off, for before/after measurements).
   */
  private final DtlsHold dtlsHold = new DtlsHold(Long.getLong("veil.dtlsHoldMillis", 500));
  /** Datagrams other lanes handed to this one, not yet handled. */
  private final AtomicInteger inbox = new AtomicInteger();
  final ChannelRouters routers;
  private boolean closed;
  /** Datagrams handed to the loop (picks the ones timed for the forwarding latency). */
  private long datagramsSeen;
  /** Forwarded RTP packets written (a sampled datagram that moved it was forwarded). */
  private long rtpForwarded;
  private final io.micrometer.core.instrument.Timer forwardingLatency;
  /** TEST ONLY (--test-forward-tap): records forwarded VP8, H.264, VP9 and AV1 payloads; null in production. */
  ForwardTap tap;
  /** TEST ONLY ({@link VeilServer#setForwardTamperForTesting}): a hostile server's hand on forwarded RTP. */
  ForwardTamper tamper;

  /**
   * Binds this lane's socket to {@code port} (0: ephemeral) of the configured address; with {@code reusePort} the
   * socket joins the SO_REUSEPORT group of the other lanes.
   */
  MediaLane(RtcMedia media, int index, EventLoop loop, SecureRandom random, ServerConfig cfg, Stats stats,
      boolean reusePort, int port) throws IOException {
    this.media = media;
    this.index = index;
    this.loop = loop;
    this.stats = stats;
    this.forwardingLatency = stats.metrics.forwarding;
    this.random = random;
    // Key-frame requests stay rate-limited to one per producer per 500 ms, but a consumer still waiting for its
    // first key frame asks again every 250 ms (instead of 1 s): a subscriber that starts just after another one
    // (whose request used up the interval) then waits about 0.5 s for its first picture, not over a second.
    this.routers = new ChannelRouters(loop, random, RouterConfig.defaults().withKeyFrameRetryMillis(250), stats,
        this);
    routers.onClosedCounters(this::foldClosedCounters);
    // A datagram longer than MAX_DATAGRAM fills the MAX_DATAGRAM + 1 receive buffer and is dropped as too big.
    boolean mmsg = RECVMMSG > 1 && loop.isEpoll();
    FixedRecvByteBufAllocator rcv = new FixedRecvByteBufAllocator((MAX_DATAGRAM + 1) * (mmsg ? RECVMMSG : 1));
    rcv.maxMessagesPerRead(256);
    rcv.respectMaybeMoreData(false);
    Bootstrap b = reusePort ? loop.udpBootstrapReusePort() : loop.udpBootstrap();
    if (mmsg) {
      // each datagram is truncated to MAX_DATAGRAM + 1 bytes in its slot, and dropped as too big below, as without
      b.option(io.netty.channel.epoll.EpollChannelOption.MAX_DATAGRAM_PAYLOAD_SIZE, MAX_DATAGRAM + 1);
    }
    ChannelFuture bound = b
        .option(ChannelOption.SO_RCVBUF, 4 * 1024 * 1024)
        .option(ChannelOption.SO_SNDBUF, 4 * 1024 * 1024)
        .option(ChannelOption.RCVBUF_ALLOCATOR, rcv)
        // Sends of one loop turn wait for its flush: allow as much as the socket buffer holds (a key frame
        // forwarded to many subscribers), not Netty's default 64 KiB, before dropping.
        .option(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(2 * 1024 * 1024, 4 * 1024 * 1024))
        .handler(new Inbound())
        .bind(new InetSocketAddress(cfg.rtcBindAddress(), port));
    try {
      bound.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      bound.channel().close();
      throw new IOException("interrupted while binding the UDP port", e);
    }
    if (!bound.isSuccess()) {
      bound.channel().close();
      throw new IOException("cannot bind UDP " + cfg.rtcBindAddress() + ":" + port
          + (reusePort ? " (SO_REUSEPORT)" : "") + ": " + bound.cause().getMessage(), bound.cause());
    }
    this.udp = bound.channel();
    // the kernel caps SO_SNDBUF/SO_RCVBUF at net.core.wmem_max/rmem_max: say what we got
    int sndBuf = udp.config().getOption(ChannelOption.SO_SNDBUF);
    int rcvBuf = udp.config().getOption(ChannelOption.SO_RCVBUF);
    if (sndBuf < 4 * 1024 * 1024 || rcvBuf < 4 * 1024 * 1024) {
      LOG.warn("UDP socket buffers smaller than the 4 MiB asked for: SO_SNDBUF {} B, SO_RCVBUF {} B (raise "
          + "net.core.wmem_max / net.core.rmem_max); bursts may be dropped", sndBuf, rcvBuf);
    } else if (index == 0) {
      LOG.info("UDP socket buffers: SO_SNDBUF {} B, SO_RCVBUF {} B", sndBuf, rcvBuf);
    }
  }

  /** Closes the socket of a lane that never served (a later lane failed to bind). */
  void abandon() {
    udp.close();
  }

  int localPort() {
    InetSocketAddress a = (InetSocketAddress) udp.localAddress();
    return a == null ? -1 : a.getPort();
  }

  long nowMillis() {
    return TimeUnit.NANOSECONDS.toMillis(loop.nowNanos());
  }

  DtlsCertificate certificate() {
    return media.certificate();
  }

  DtlsConfig dtlsConfig() {
    return media.dtlsConfig();
  }

  ExecutorService dtlsPool() {
    return media.dtlsPool();
  }

  InetAddress announcedAddress() {
    return media.announcedAddress();
  }

  SecureRandom random() {
    return random;
  }

  /** The bound ICE-TCP port, or 0 when ICE-TCP is off. */
  int tcpPort() {
    return media.tcpPort();
  }

  /** The real remote address of an ICE-TCP path key (for STUN's XOR-MAPPED-ADDRESS), or null. */
  InetSocketAddress mappedAddress(InetSocketAddress pathKey) {
    return media.mappedAddress(pathKey);
  }

  EventLoop loop() {
    return loop;
  }

  Stats stats() {
    return stats;
  }

  /**
   * Keeps the final counters of a router or peer that closed on this lane (call on the loop). They are reported with
   * the lane's live counters by {@link #liveCounters()}, read on the same loop: a close then moves counts from live to
   * closed inside one lane, and no reading of the server's counters can miss them or count them twice.
   */
  void foldClosedCounters(Map<String, Long> counters) {
    counters.forEach((k, v) -> closedCounters.merge(k, v, Long::sum));
  }

  // --------------------------------------------------------------------------------------------------- peers

  /** Creates a connection's media on this lane (on its loop). */
  RtcPeer open(String connectionId, String channelId, Role role, boolean audio, boolean video, boolean screen,
      Runnable onMediaFailed) {
    RtcPeer p = new RtcPeer(this, routers.join(channelId, connectionId), connectionId, role, audio, video, screen,
        onMediaFailed);
    peers.put(connectionId, p);
    media.registerUfrag(p.localUfrag(), p);
    stats.inc("media.peers_opened");
    return p;
  }

  void removed(RtcPeer p) {
    media.iceTcpOwnerClosed(p);
    peers.remove(p.connectionId);
    media.unregister(p);
    routers.leave(p.channel, p.connectionId);
  }

  /**
   * After an ICE restart: routes {@code ufrag} (the new one) and {@code previous} (still accepted by the agent
   * until the restart completes) to {@code p}, and forgets the older ufrags of {@code p}.
   */
  void ufragChanged(RtcPeer p, String ufrag, String previous) {
    media.ufragChanged(p, ufrag, previous);
  }

  void addressValidated(RtcPeer p, InetSocketAddress a) {
    if (IceTcp.isPath(a)) {
      media.iceTcpValidated(a, p); // (the path now carries DTLS and media too; the address map routes its packets)
    }
    RtcPeer prev = media.registerAddress(a, p);
    if (prev != null && prev != p) {
      stats.inc("udp.address_moved");
    }
    byte[] hello = dtlsHold.take(a, nowMillis());
    if (hello != null) {
      // after the check's own output is drained (this runs inside the peer's drain): next on the loop
      stats.inc("udp.dtls_held_delivered");
      loop.execute(() -> deliverHeld(p, a, hello));
      return;
    }
    // With several lanes the kernel may have given this address's datagrams to another lane's socket: its hold.
    for (MediaLane other : media.lanes()) {
      if (other != this) {
        other.handHeldTo(p, a);
      }
    }
  }

  /** Hands a ClientHello this lane holds for {@code a} to {@code p}'s lane (any thread). */
  private void handHeldTo(RtcPeer p, InetSocketAddress a) {
    loop.execute(() -> {
      byte[] hello = dtlsHold.take(a, nowMillis());
      if (hello != null) {
        stats.inc("udp.dtls_held_delivered");
        p.media.loop().execute(() -> p.media.deliverHeld(p, a, hello));
      }
    });
  }

  private void deliverHeld(RtcPeer p, InetSocketAddress a, byte[] hello) {
    if (media.peerAt(a) == p && !p.isClosed()) {
      p.handleDatagram(hello, a);
    }
  }

  // ---------------------------------------------------------------------------------------------------- UDP in

  /** The UDP channel's handler; Netty calls it on the loop thread. */
  private final class Inbound extends ChannelInboundHandlerAdapter {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      try {
        if (!(msg instanceof DatagramPacket packet)) {
          return;
        }
        datagramsIn++;
        ByteBuf content = packet.content();
        int n = content.readableBytes();
        if (n > MAX_DATAGRAM || n == 0) {
          stats.inc("udp.dropped.size");
          return;
        }
        // one datagram in FORWARD_SAMPLE_EVERY is timed to its last forwarded copy (held timer, no lookup), on the
        // lane that owns its connection (a hand-off's queue wait included)
        long t0 = (++datagramsSeen & Metrics.FORWARD_SAMPLE_MASK) != 0 ? 0 : System.nanoTime();
        if (IN_PLACE) {
          content.getBytes(content.readerIndex(), rxBuf, 0, n);
          onReceived(n, packet.sender(), t0);
        } else {
          onDatagram(ByteBufUtil.getBytes(content, content.readerIndex(), n), packet.sender(), t0);
        }
      } catch (RuntimeException e) {
        // One bad datagram must never take the loop down (nor count as a socket error).
        LOG.error("datagram handling failed on the event loop", e);
      } finally {
        ReferenceCountUtil.release(msg);
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      // Writes use the channel's void promise (no promise per datagram), so a failed send lands here too; Netty's
      // native errors name the call ("sendmmsg(..) failed: ..."). Either costs the datagram only.
      String m = String.valueOf(cause.getMessage());
      if (m.startsWith("send")) {
        if (!closed) {
          sendErrors++;
        }
      } else {
        stats.inc("udp.receive_errors");
      }
      LOG.debug("udp: {}", cause.toString());
    }
  }

  /**
   * A datagram of {@code n} bytes now in {@link #rxBuf}. SRTP and SRTCP of this lane's own connections are decrypted
   * and routed where they are (the receive path's one copy is the socket read into the buffer, and nothing is
   * allocated for them); everything else (STUN, DTLS, media of another lane's connection, unknown senders) gets its
   * own array, since it may be held, queued for a DTLS worker or handed to another loop.
   */
  private void onReceived(int n, InetSocketAddress from, long t0) {
    byte[] buf = rxBuf;
    int b1 = n >= 2 ? buf[1] & 0xFF : 0;
    int b0 = buf[0] & 0xFF;
    if (b0 >= 128 && b0 <= 191 && n >= 2) { // RTP or RTCP (RFC 7983), as Demux.classify tells them
      RtcPeer p = media.peerAt(from);
      if (p != null && p.media == this) {
        boolean rtcp = b1 >= 192 && b1 <= 223;
        if (t0 == 0) {
          p.receiveMediaInPlace(rtcp, buf, n, from);
          return;
        }
        long before = rtpForwarded;
        p.receiveMediaInPlace(rtcp, buf, n, from);
        if (rtpForwarded != before) {
          forwardingLatency.record(System.nanoTime() - t0, TimeUnit.NANOSECONDS);
        }
        return;
      }
    }
    onDatagram(java.util.Arrays.copyOf(buf, n), from, t0);
  }

  void onDatagram(byte[] data, InetSocketAddress from) {
    onDatagram(data, from, 0);
  }

  /** As {@link #onDatagram(byte[], InetSocketAddress)}; {@code t0} (nanoTime, 0 = not sampled) times its forwarding. */
  private void onDatagram(byte[] data, InetSocketAddress from, long t0) {
    PacketKind kind = Demux.classify(data);
    if (kind == PacketKind.UNKNOWN) {
      stats.inc("udp.dropped.unknown_kind");
      return;
    }
    RtcPeer p = media.peerAt(from);
    if (p == null) {
      if (kind != PacketKind.STUN) {
        if (kind == PacketKind.DTLS && dtlsHold.hold(data, from, nowMillis())) {
          stats.inc("udp.dtls_held"); // a ClientHello whose ICE check may be just behind it
          return;
        }
        stats.inc("udp.dropped.unknown_source." + kind.name().toLowerCase());
        return;
      }
      Optional<String> ufrag = IceLiteAgent.localUfragOf(data, 0, data.length);
      if (ufrag.isEmpty()) {
        stats.inc("udp.dropped.stun_malformed");
        return;
      }
      p = media.peerByUfrag(ufrag.get());
      if (p == null) {
        stats.inc("udp.dropped.unknown_ufrag");
        return;
      }
    }
    if (p.media == this) {
      handleTimed(p, data, from, t0);
    } else {
      p.media.handOff(p, data, from, t0);
    }
  }

  /** Hands {@code data} to its connection (on this lane's loop); a sampled one is timed if it was forwarded. */
  private void handleTimed(RtcPeer p, byte[] data, InetSocketAddress from, long t0) {
    if (t0 == 0) {
      p.handleDatagram(data, from);
      return;
    }
    long before = rtpForwarded;
    p.handleDatagram(data, from);
    if (rtpForwarded != before) {
      forwardingLatency.record(System.nanoTime() - t0, TimeUnit.NANOSECONDS);
    }
  }

  /** A datagram of {@code p} (a connection of this lane) that another lane's socket received; any thread. */
  private void handOff(RtcPeer p, byte[] data, InetSocketAddress from, long t0) {
    if (inbox.incrementAndGet() > MAX_INBOX) {
      inbox.decrementAndGet();
      stats.inc("udp.handoff_dropped");
      return;
    }
    stats.inc("udp.handed_off");
    loop.execute(() -> {
      inbox.decrementAndGet();
      if (!closed && !p.isClosed()) {
        handleTimed(p, data, from, t0);
      }
    });
  }

  // --------------------------------------------------------------------------------------------------- UDP out

  /**
   * Sends {@code data} to {@code to}. With egress spreading ({@link RtcMedia#egressLane}) a destination belongs to one
   * lane's socket (a hash of the address, so everything to one client leaves in order through one socket): a
   * datagram for another lane's socket is collected in this loop turn's batch for that lane and handed over at the
   * end of the turn (one task per lane and turn), so a large channel's UDP writes and {@code sendmmsg} calls are
   * shared by every core while its router and SRTP stay on its own lane.
   */
  void send(byte[] data, InetSocketAddress to) {
    if (closed) {
      return;
    }
    if (IceTcp.isPath(to)) { // an ICE-TCP path key (never a UDP address)
      media.iceTcpSend(this, data, to);
      return;
    }
    MediaLane via = media.spreadsEgress() ? media.egressLane(to) : this;
    if (via != this) {
      egress(via, new DatagramPacket(Unpooled.wrappedBuffer(data), to));
      return;
    }
    if (!udp.isWritable()) {
      stats.inc("udp.send_dropped");
      return;
    }
    write(new DatagramPacket(Unpooled.wrappedBuffer(data), to));
  }

  /**
   * Sends {@code buf[off, off+len)}, which the caller reuses after the call (the router's forwarding buffer): one
   * copy into a pooled direct buffer of the channel's allocator, which Netty releases once written (also when
   * another lane's socket writes it).
   */
  void send(byte[] buf, int off, int len, InetSocketAddress to) {
    if (closed) {
      return;
    }
    if (IceTcp.isPath(to)) {
      media.iceTcpSend(this, java.util.Arrays.copyOfRange(buf, off, off + len), to);
      return;
    }
    MediaLane via = media.spreadsEgress() ? media.egressLane(to) : this;
    if (via == this && !udp.isWritable()) {
      stats.inc("udp.send_dropped");
      return;
    }
    io.netty.buffer.ByteBuf b = udp.alloc().directBuffer(len, len);
    b.writeBytes(buf, off, len);
    // a DatagramPacket (not a recycled envelope of our own): Netty's sendmmsg batching takes only DatagramPackets and
    // writes anything else with one sendto each
    DatagramPacket packet = new DatagramPacket(b, to);
    if (via != this) {
      egress(via, packet);
      return;
    }
    write(packet);
  }

  /** A datagram another lane handed over for this lane's socket (on this loop). */
  private void writeHandedOver(io.netty.channel.AddressedEnvelope<ByteBuf, InetSocketAddress> packet) {
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
  private void write(io.netty.channel.AddressedEnvelope<ByteBuf, InetSocketAddress> packet) {
    udp.write(packet, udp.voidPromise());
    datagramsOut++;
    io.netty.channel.ChannelOutboundBuffer ob = udp.unsafe().outboundBuffer();
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

  /** Datagrams of this loop turn for each other lane's socket, or null. */
  private io.netty.channel.AddressedEnvelope<ByteBuf, InetSocketAddress>[][] outbox;
  private int[] outboxSize;
  private boolean outboxPending;
  private final Runnable handOver = this::handOver;
  /** Bytes other lanes handed to this one to send, not yet written. */
  private final java.util.concurrent.atomic.AtomicLong egressQueued = new java.util.concurrent.atomic.AtomicLong();
  /** Most bytes other lanes may have handed to one lane to send and not yet written (past it: send_dropped). */
  static final long MAX_EGRESS_QUEUED = 16L * 1024 * 1024;

  @SuppressWarnings("unchecked")
  private void egress(MediaLane via, io.netty.channel.AddressedEnvelope<ByteBuf, InetSocketAddress> packet) {
    if (outbox == null) {
      outbox = new io.netty.channel.AddressedEnvelope[media.lanes().size()][];
      outboxSize = new int[outbox.length];
    }
    io.netty.channel.AddressedEnvelope<ByteBuf, InetSocketAddress>[] box = outbox[via.index];
    int n = outboxSize[via.index];
    if (box == null || n + 1 > box.length) {
      box = java.util.Arrays.copyOf(box == null ? new io.netty.channel.AddressedEnvelope[64] : box,
          box == null ? 64 : box.length * 2);
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

  private void handOver(int lane) {
    io.netty.channel.AddressedEnvelope<ByteBuf, InetSocketAddress>[] batch = outbox[lane];
    int n = outboxSize[lane];
    outbox[lane] = null;
    outboxSize[lane] = 0;
    long bytes = 0;
    for (int k = 0; k < n; k++) {
      bytes += batch[k].content().readableBytes();
    }
    MediaLane via = media.lanes().get(lane);
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

  // ---------------------------------------------------------------------------------------------------- router

  @Override
  public void sendRtp(ChannelRouters.Channel ch, RouterOutput.Rtp rtp) {
    RtcPeer to = peers.get(rtp.peerId());
    if (to == null && !ch.bridges.isEmpty()) {
      dev.veil.server.cluster.relay.CascadeBridge b = ch.bridges.get(rtp.peerId());
      if (b != null) {
        b.offer(rtp, routers.nowMillis());
        return;
      }
    }
    if (to == null) {
      stats.inc("media.router_output_to_gone_peer");
      return;
    }
    rtpForwarded++;
    if (tap != null) {
      tap.record(ch.router, rtp);
    }
    if (tamper != null) {
      dev.veil.webrtc.router.Consumer c = ch.router.findConsumer(rtp.consumerId());
      String from = c == null ? "?" : c.producer().peerId();
      for (byte[] p : tamper.forward(from, to.connectionId, rtp.packet())) {
        to.sendRtp(p);
      }
      return;
    }
    to.sendRtp(rtp.packet());
  }

  @Override
  public void forwardRtp(ChannelRouters.Channel ch, dev.veil.webrtc.router.Consumer consumer, byte[] buf, int off,
      int len) {
    if (tap != null || tamper != null) {
      ChannelRouters.Sink.super.forwardRtp(ch, consumer, buf, off, len); // test hooks want their own arrays
      return;
    }
    RtcPeer to = consumer.attachment() instanceof RtcPeer p ? p : peers.get(consumer.peerId());
    if (to == null && !ch.bridges.isEmpty()) {
      dev.veil.server.cluster.relay.CascadeBridge b = ch.bridges.get(consumer.peerId());
      if (b != null) {
        b.forward(buf, off, len, routers.nowMillis()); // the packet as received, payload untouched (E2EE)
        return;
      }
    }
    if (to == null) {
      stats.inc("media.router_output_to_gone_peer");
      return;
    }
    rtpForwarded++;
    to.forwardRtp(buf, off, len);
  }

  @Override
  public void sendRtcp(ChannelRouters.Channel ch, RouterOutput.Rtcp rtcp) {
    RtcPeer to = peers.get(rtcp.peerId());
    if (to == null && !ch.bridges.isEmpty()) {
      dev.veil.server.cluster.relay.CascadeBridge b = ch.bridges.get(rtcp.peerId());
      if (b != null) {
        b.offer(rtcp, routers.nowMillis());
        return;
      }
    }
    if (to == null) {
      stats.inc("media.router_output_to_gone_peer");
      return;
    }
    to.sendRtcp(rtcp.packet());
  }

  /**
   * Counters of this lane's live media (call on the loop): the routers', and the transports' of the peers still
   * open (those of closed peers are already in {@link Stats}).
   */
  Map<String, Long> liveCounters() {
    Map<String, Long> out = new java.util.TreeMap<>(closedCounters);
    routers.addLiveCounters(out);
    out.put("udp.dtls_hold_expired", dtlsHold.expired());
    out.put("udp.early_flushes", earlyFlushes);
    out.put("udp.pending_bytes_max", pendingBytesMax); // a high-water mark: never decreases
    out.merge("udp.datagrams_in", datagramsIn, Long::sum);
    out.merge("udp.datagrams_out", datagramsOut, Long::sum);
    out.merge("udp.send_errors", sendErrors, Long::sum);
    for (RtcPeer p : peers.values()) {
      p.addLiveCounters(out);
      p.addLiveGauges(out);
    }
    return out;
  }

  /** Number of connections on this lane (call on the loop). */
  int peerCount() {
    return peers.size();
  }

  /** Closes every connection and router of this lane and its socket (on the loop). */
  void close() {
    closed = true;
    for (Iterator<RtcPeer> it = peers.values().iterator(); it.hasNext(); ) {
      RtcPeer p = it.next();
      it.remove();
      p.closeTransport();
    }
    routers.closeAll();
    // the lane is gone: its closed totals move to Stats, which is all the server reports once stopped
    closedCounters.forEach(stats::add);
    closedCounters.clear();
    stats.add("udp.datagrams_in", datagramsIn);
    stats.add("udp.datagrams_out", datagramsOut);
    stats.add("udp.send_errors", sendErrors);
    datagramsIn = datagramsOut = sendErrors = 0;
    udp.flush();
    udp.close();
  }

  boolean isClosed() {
    return closed;
  }
}
