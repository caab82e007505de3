package dev.veil.server;

import dev.veil.signaling.Role;
import dev.veil.webrtc.dtls.DtlsCertificate;
import dev.veil.webrtc.dtls.DtlsConfig;
import dev.veil.webrtc.ice.IceLiteAgent;
import dev.veil.webrtc.mux.Demux;
import dev.veil.webrtc.mux.PacketKind;
import dev.veil.webrtc.router.RouterConfig;
import dev.veil.webrtc.router.RouterOutput;
import dev.veil.webrtc.transport.TransportOutput;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
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
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The media plane: the one UDP port shared by every client, the per-connection {@code WebRtcTransport}s and the
 * channels' routers ({@link ChannelRouters}: one {@code Router} per channel), all confined to the event loop thread (only BouncyCastle's blocking DTLS handshakes run on a
 * small worker pool, which wakes the loop when it has output).
 *
 * <p>Demultiplexing: a datagram from a known (ICE-validated) address goes to that address's transport; a STUN
 * Binding request from a new address is routed by the local ufrag in its USERNAME (the transport then
 * authenticates it); a DTLS ClientHello from an unknown address is held briefly ({@link DtlsHold}) for the ICE check
 * that may be just behind it; anything else from an unknown address is dropped and counted.
 *
 * <p>I/O: the port is a Netty datagram channel registered on the {@link EventLoop}'s one Netty loop, so its
 * handler runs on the state thread. Each received datagram is copied once out of its (pooled) buffer into the
 * {@code byte[]} the engines take. Sends are written without a flush; one flush task per loop turn then hands the
 * whole batch to the kernel (one {@code sendmmsg} on epoll). A send while the channel's pending writes exceed its
 * high-water mark (4 MiB, the size of the socket buffer) is dropped and counted ({@code udp.send_dropped}), as a
 * send into a full socket buffer was before.
 */
final class RtcMedia implements Media, ChannelRouters.Sink, IceTcp.Packets {
  private static final Logger LOG = LoggerFactory.getLogger(RtcMedia.class);
  private static final int MAX_DATAGRAM = 1500;

  private final EventLoop loop;
  private final ServerConfig cfg;
  private final Stats stats;
  private final Channel udp;
  private final ChannelFutureListener sent = this::sent;
  private final Runnable flush = this::flush;
  private boolean flushPending;
  /**
   * Flush at once when this many bytes are pending (else once per loop turn): one read batch of up to 256 datagrams
   * fanned out to 40 subscribers is ~10k sends, ~10 MiB of 1 KiB packets, more than the 4 MiB high-water mark, so a
   * loop that fell behind (a fresh process: JIT, a DTLS burst) dropped its own sends. {@code -Dveil.udpFlushBytes},
   * 0 = only once per loop turn (the old behaviour, for before/after measurements).
   */
  private static final long FLUSH_BYTES = Long.getLong("veil.udpFlushBytes", 256 * 1024);
  private long pendingBytesMax;
  private long earlyFlushes;
  private final int sndBuf;
  private final int rcvBuf;
  private final Map<String, RtcPeer> peers = new HashMap<>();
  private final Map<String, RtcPeer> byUfrag = new HashMap<>();
  private final Map<InetSocketAddress, RtcPeer> byAddress = new HashMap<>();
  /**
   * ClientHellos from not-yet-validated addresses, kept briefly for the ICE check just behind them
   * ({@code -Dveil.dtlsHoldMillis}, default 500; 0 turns holding off, for before/after measurements).
   */
  private final DtlsHold dtlsHold = new DtlsHold(Long.getLong("veil.dtlsHoldMillis", 500));
  private final SecureRandom random = new SecureRandom();
  private final InetAddress announced;
  private final DtlsCertificate certificate;
  private final DtlsConfig dtlsConfig;
  private final ExecutorService dtlsPool;
  final ChannelRouters routers;
  /** The ICE-TCP listener (its packets come in through {@link #onPacket}), or null when rtc_tcp_port is off. */
  private IceTcp iceTcp;
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

  RtcMedia(EventLoop loop, ServerConfig cfg, Stats stats) throws IOException {
    this.loop = loop;
    this.cfg = cfg;
    this.stats = stats;
    this.forwardingLatency = stats.metrics.forwarding;
    this.announced = InetAddress.getByName(cfg.announcedAddress());
    try {
      this.certificate = DtlsCertificate.generate(random, System.currentTimeMillis());
    } catch (GeneralSecurityException e) {
      throw new IOException("cannot make the DTLS certificate", e);
    }
    // BouncyCastle's DTLS handshake blocks its thread: a fixed pool (threads end when idle) with a queue bounded by
    // the connection limit, so a flood of stalled handshakes costs at most dtls_handshake_threads threads, each for
    // at most the handshake timeout; a handshake the full queue refuses fails its connection.
    AtomicInteger n = new AtomicInteger();
    int threads = cfg.guards().dtlsHandshakeThreads();
    ThreadPoolExecutor pool = new ThreadPoolExecutor(threads, threads, 30, TimeUnit.SECONDS,
        new LinkedBlockingQueue<>(cfg.maxConnections()), r -> {
          Thread t = new Thread(r, "veil-dtls-" + n.incrementAndGet());
          t.setDaemon(true);
          return t;
        });
    pool.allowCoreThreadTimeOut(true);
    this.dtlsPool = pool;
    this.dtlsConfig = DtlsConfig.defaults().withHandshakeTimeoutMillis(cfg.guards().dtlsHandshakeTimeoutSeconds() * 1000);
    // Key-frame requests stay rate-limited to one per producer per 500 ms, but a consumer still waiting for its
    // first key frame asks again every 250 ms (instead of 1 s): a subscriber that starts just after another one
    // (whose request used up the interval) then waits about 0.5 s for its first picture, not over a second.
    this.routers = new ChannelRouters(loop, random, RouterConfig.defaults().withKeyFrameRetryMillis(250), stats,
        this);
    // A datagram longer than MAX_DATAGRAM fills the MAX_DATAGRAM + 1 receive buffer and is dropped as too big.
    FixedRecvByteBufAllocator rcv = new FixedRecvByteBufAllocator(MAX_DATAGRAM + 1);
    rcv.maxMessagesPerRead(256);
    rcv.respectMaybeMoreData(false);
    ChannelFuture bound = loop.udpBootstrap()
        .option(ChannelOption.SO_RCVBUF, 4 * 1024 * 1024)
        .option(ChannelOption.SO_SNDBUF, 4 * 1024 * 1024)
        .option(ChannelOption.RCVBUF_ALLOCATOR, rcv)
        // Sends of one loop turn wait for its flush: allow as much as the socket buffer holds (a key frame
        // forwarded to many subscribers), not Netty's default 64 KiB, before dropping.
        .option(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(2 * 1024 * 1024, 4 * 1024 * 1024))
        .handler(new Inbound())
        .bind(new InetSocketAddress(cfg.rtcBindAddress(), cfg.rtcPort()));
    try {
      bound.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      bound.channel().close();
      dtlsPool.shutdownNow();
      throw new IOException("interrupted while binding the UDP port", e);
    }
    if (!bound.isSuccess()) {
      bound.channel().close();
      dtlsPool.shutdownNow();
      throw new IOException("cannot bind UDP " + cfg.rtcBindAddress() + ":" + cfg.rtcPort() + ": "
          + bound.cause().getMessage(), bound.cause());
    }
    this.udp = bound.channel();
    // the kernel caps SO_SNDBUF/SO_RCVBUF at net.core.wmem_max/rmem_max: say what we got
    this.sndBuf = udp.config().getOption(ChannelOption.SO_SNDBUF);
    this.rcvBuf = udp.config().getOption(ChannelOption.SO_RCVBUF);
    if (sndBuf < 4 * 1024 * 1024 || rcvBuf < 4 * 1024 * 1024) {
      LOG.warn("UDP socket buffers smaller than the 4 MiB asked for: SO_SNDBUF {} B, SO_RCVBUF {} B (raise "
          + "net.core.wmem_max / net.core.rmem_max); bursts may be dropped", sndBuf, rcvBuf);
    } else {
      LOG.info("UDP socket buffers: SO_SNDBUF {} B, SO_RCVBUF {} B", sndBuf, rcvBuf);
    }
    LOG.info("DTLS certificate {}", certificate.fingerprint().toSdpValue());
    if (cfg.net().iceTcp()) {
      try {
        this.iceTcp = new IceTcp(loop, stats, this, cfg.rtcBindAddress(), cfg.net().rtcTcpPort(),
            2 * cfg.maxConnections());
      } catch (IOException e) {
        udp.close();
        dtlsPool.shutdownNow();
        throw e;
      }
      LOG.info("ICE-TCP passive candidate on TCP {}:{}", cfg.rtcBindAddress(), iceTcp.localPort());
    }
  }

  /** The bound ICE-TCP port, or 0 when ICE-TCP is off (then no TCP candidate is offered). */
  int tcpPort() {
    return iceTcp == null ? 0 : iceTcp.localPort();
  }

  /** The real remote address of an ICE-TCP path key (for STUN's XOR-MAPPED-ADDRESS), or null. */
  InetSocketAddress mappedAddress(InetSocketAddress pathKey) {
    return iceTcp == null ? null : iceTcp.remoteAddress(pathKey);
  }

  int localPort() {
    InetSocketAddress a = (InetSocketAddress) udp.localAddress();
    return a == null ? -1 : a.getPort();
  }

  long nowMillis() {
    return TimeUnit.NANOSECONDS.toMillis(loop.nowNanos());
  }

  DtlsCertificate certificate() {
    return certificate;
  }

  DtlsConfig dtlsConfig() {
    return dtlsConfig;
  }

  ExecutorService dtlsPool() {
    return dtlsPool;
  }

  InetAddress announcedAddress() {
    return announced;
  }

  SecureRandom random() {
    return random;
  }

  EventLoop loop() {
    return loop;
  }

  Stats stats() {
    return stats;
  }

  // --------------------------------------------------------------------------------------------------- peers

  @Override
  public Peer open(String connectionId, String channelId, Role role, boolean audio, boolean video,
      Runnable onMediaFailed) {
    return open(connectionId, channelId, role, audio, video, false, onMediaFailed);
  }

  @Override
  public Peer open(String connectionId, String channelId, Role role, boolean audio, boolean video, boolean screen,
      Runnable onMediaFailed) {
    RtcPeer p = new RtcPeer(this, routers.join(channelId, connectionId), connectionId, role, audio, video, screen,
        onMediaFailed);
    peers.put(connectionId, p);
    byUfrag.put(p.localUfrag(), p);
    stats.inc("media.peers_opened");
    return p;
  }

  void removed(RtcPeer p) {
    if (iceTcp != null) {
      iceTcp.ownerClosed(p);
    }
    peers.remove(p.connectionId);
    byUfrag.values().removeIf(v -> v == p);
    byAddress.values().removeIf(v -> v == p);
    routers.leave(p.channel, p.connectionId);
  }

  /**
   * After an ICE restart: routes {@code ufrag} (the new one) and {@code previous} (still accepted by the agent
   * until the restart completes) to {@code p}, and forgets the older ufrags of {@code p}.
   */
  void ufragChanged(RtcPeer p, String ufrag, String previous) {
    byUfrag.entrySet().removeIf(e -> e.getValue() == p && !e.getKey().equals(previous));
    byUfrag.put(ufrag, p);
  }

  void addressValidated(RtcPeer p, InetSocketAddress a) {
    if (iceTcp != null && IceTcp.isPath(a)) {
      iceTcp.validated(a, p); // (the path now carries DTLS and media too; byAddress routes its packets below)
    }
    RtcPeer prev = byAddress.put(a, p);
    if (prev != null && prev != p) {
      stats.inc("udp.address_moved");
    }
    byte[] hello = dtlsHold.take(a, nowMillis());
    if (hello != null) {
      // after the check's own output is drained (this runs inside the peer's drain): next on the loop
      stats.inc("udp.dtls_held_delivered");
      loop.execute(() -> {
        if (byAddress.get(a) == p) {
          p.handleDatagram(hello, a);
        }
      });
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
        stats.inc("udp.datagrams_in");
        ByteBuf content = packet.content();
        int n = content.readableBytes();
        if (n > MAX_DATAGRAM || n == 0) {
          stats.inc("udp.dropped.size");
          return;
        }
        byte[] data = ByteBufUtil.getBytes(content, content.readerIndex(), n);
        if ((++datagramsSeen & Metrics.FORWARD_SAMPLE_MASK) != 0) {
          onDatagram(data, packet.sender());
        } else {
          // one datagram in FORWARD_SAMPLE_EVERY is timed to its last forwarded copy (held timer, no lookup)
          long t0 = System.nanoTime();
          long before = rtpForwarded;
          onDatagram(data, packet.sender());
          if (rtpForwarded != before) {
            forwardingLatency.record(System.nanoTime() - t0, TimeUnit.NANOSECONDS);
          }
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
      // Receive errors (e.g. an ICMP error surfacing on the socket) cost the datagram only.
      stats.inc("udp.receive_errors");
      LOG.debug("udp: {}", cause.toString());
    }
  }

  /** An ICE-TCP frame: handled exactly as a datagram from the path's key. */
  @Override
  public void onPacket(byte[] packet, InetSocketAddress pathKey) {
    onDatagram(packet, pathKey);
  }

  @Override
  public void pathClosed(InetSocketAddress pathKey) {
    byAddress.remove(pathKey);
  }

  void onDatagram(byte[] data, InetSocketAddress from) {
    PacketKind kind = Demux.classify(data);
    if (kind == PacketKind.UNKNOWN) {
      stats.inc("udp.dropped.unknown_kind");
      return;
    }
    RtcPeer p = byAddress.get(from);
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
      p = byUfrag.get(ufrag.get());
      if (p == null) {
        stats.inc("udp.dropped.unknown_ufrag");
        return;
      }
    }
    p.handleDatagram(data, from);
  }

  // --------------------------------------------------------------------------------------------------- UDP out

  void send(byte[] data, InetSocketAddress to) {
    if (closed) {
      return;
    }
    if (IceTcp.isPath(to)) { // an ICE-TCP path key (never a UDP address)
      if (iceTcp != null) {
        iceTcp.send(data, to);
      }
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
   * copy into a pooled direct buffer of the channel's allocator, which Netty releases once written.
   */
  void send(byte[] buf, int off, int len, InetSocketAddress to) {
    if (closed) {
      return;
    }
    if (!udp.isWritable()) {
      stats.inc("udp.send_dropped");
      return;
    }
    io.netty.buffer.ByteBuf b = udp.alloc().directBuffer(len, len);
    b.writeBytes(buf, off, len);
    write(new DatagramPacket(b, to));
  }

  private void write(DatagramPacket packet) {
    udp.write(packet).addListener(sent);
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

  private void sent(ChannelFuture f) {
    if (f.isSuccess()) {
      stats.inc("udp.datagrams_out");
    } else if (!closed) {
      stats.inc("udp.send_errors");
    }
  }

  // ---------------------------------------------------------------------------------------------------- router

  @Override
  public void sendRtp(ChannelRouters.Channel ch, RouterOutput.Rtp rtp) {
    RtcPeer to = peers.get(rtp.peerId());
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
    if (to == null) {
      stats.inc("media.router_output_to_gone_peer");
      return;
    }
    to.sendRtcp(rtcp.packet());
  }

  /**
   * Counters of the live media (call on the loop): the router's, and the transports' of the peers still open
   * (those of closed peers are already in {@link Stats}).
   */
  Map<String, Long> liveCounters() {
    Map<String, Long> out = new java.util.TreeMap<>();
    routers.addLiveCounters(out);
    out.put("udp.dtls_hold_expired", dtlsHold.expired());
    out.put("udp.early_flushes", earlyFlushes);
    out.put("udp.pending_bytes_max", pendingBytesMax); // a high-water mark: never decreases
    for (RtcPeer p : peers.values()) {
      p.addLiveCounters(out);
      p.addLiveGauges(out);
    }
    return out;
  }

  void close() {
    closed = true;
    for (Iterator<RtcPeer> it = peers.values().iterator(); it.hasNext(); ) {
      RtcPeer p = it.next();
      it.remove();
      p.closeTransport();
    }
    routers.closeAll();
    if (iceTcp != null) {
      iceTcp.close();
    }
    dtlsPool.shutdownNow();
    if (tap != null) {
      tap.close();
    }
    udp.flush();
    udp.close();
  }

  boolean isClosed() {
    return closed;
  }

  /** Drops a transport's output events (called by RtcPeer). */
  static boolean isFinal(TransportOutput.Event e) {
    return e instanceof TransportOutput.Closed || e instanceof TransportOutput.Failed;
  }
}
