package dev.veil.server;

import dev.veil.signaling.Role;
import dev.veil.webrtc.dtls.DtlsCertificate;
import dev.veil.webrtc.dtls.DtlsConfig;
import dev.veil.webrtc.router.RouterConfig;
import dev.veil.webrtc.router.RouterOutput;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelOption;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.WriteBufferWaterMark;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
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
 * handles the datagram itself if the connection is its own, else copies it into a parcel of the owning lane's
 * {@link LaneInbox} (pooled, nothing allocated per datagram; bounded: at most {@link #MAX_INBOX} datagrams waiting per
 * lane, past it they are dropped and counted {@code udp.handoff_dropped}), where the owner decrypts it in place. A
 * DTLS ClientHello from a not-yet-validated address is held by the lane that received
 * it ({@link DtlsHold}) and handed to the owner when an ICE check validates the address. All that is only for a
 * client's first datagrams: once it is connected, the lane opens a socket connected to it ({@link PeerSocket}, on
 * epoll), and the kernel gives that socket, on this lane, every later datagram of the client.
 *
 * <p>Receive and send are {@link LaneReceiver} and {@link LaneSender}; this class binds the socket and holds the
 * lane's connections, routers and counters.
 *
 * <p>Send: the owning lane writes through its own socket (same address and port as every other lane's), without a
 * flush; one flush task per loop turn hands the batch to the kernel (one {@code sendmmsg} on epoll), or at once when
 * {@code -Dveil.udpFlushBytes} are pending. A send while the socket's pending writes exceed the high-water mark
 * (4 MiB) is dropped and counted ({@code udp.send_dropped}).
 */
final class MediaLane implements ChannelRouters.Sink {
  private static final Logger LOG = LoggerFactory.getLogger(MediaLane.class);
  private static final java.lang.management.ThreadMXBean THREADS =
      java.lang.management.ManagementFactory.getThreadMXBean();
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
  /**
   * Most datagrams handed to one lane by the others and not yet handled, received and spread sends together
   * ({@code -Dveil.laneInbox}).
   */
  static final int MAX_INBOX = Integer.getInteger("veil.laneInbox", 16_384);

  final int index;
  private final RtcMedia media;
  private final EventLoop loop;
  private final Stats stats;
  /** Final counters of the routers and peers that closed on this lane (touched only on the loop). */
  private final Map<String, Long> closedCounters = new java.util.HashMap<>();
  private final SecureRandom random;
  /** The address the lane's socket is bound to (with its port: {@link #localPort()}); connected sockets too. */
  private final InetAddress bindAddress;
  private final Channel udp;
  private final LaneReceiver receiver;
  private final LaneSender sender;
  /** What other lanes hand to this one: datagrams received for its connections and, spread, datagrams to send. */
  private final LaneInbox inbox;
  /** Whether this lane sends through the other lanes' sockets too (touched only on the loop). */
  private final EgressSpreadPolicy spread;
  private final Runnable sampleCpu = this::sampleCpu;
  private final Map<String, RtcPeer> peers = new HashMap<>();
  final ChannelRouters routers;
  private boolean closed;
  /** Forwarded RTP packets written (a sampled datagram that moved it was forwarded; read by the receiver). */
  long rtpForwarded;
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
    this.receiver = new LaneReceiver(this, media, stats);
    this.random = random;
    this.bindAddress = InetAddress.getByName(cfg.rtcBindAddress());
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
        .handler(receiver)
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
    setDontFragment(udp, loop);
    this.sender = new LaneSender(this, media, loop, stats, udp);
    this.inbox = new LaneInbox(loop, MAX_INBOX,
        p -> {
          if (p.send) {
            sender.writeHandedOver(p);
          } else {
            receiver.handedOff(p);
          }
        });
    this.spread = new EgressSpreadPolicy(cfg.egressSpread());
    if (spread.samples() && THREADS.isCurrentThreadCpuTimeSupported()) {
      loop.execute(sampleCpu);
    }
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

  /** {@code IP_MTU_DISCOVER} and {@code IPV6_MTU_DISCOVER} (Linux), and their value {@code IP_PMTUDISC_PROBE}. */
  private static final io.netty.channel.unix.IntegerUnixChannelOption IP_MTU_DISCOVER =
      new io.netty.channel.unix.IntegerUnixChannelOption("IP_MTU_DISCOVER", 0 /* IPPROTO_IP */, 10);
  private static final io.netty.channel.unix.IntegerUnixChannelOption IPV6_MTU_DISCOVER =
      new io.netty.channel.unix.IntegerUnixChannelOption("IPV6_MTU_DISCOVER", 41 /* IPPROTO_IPV6 */, 23);
  private static final int PMTUDISC_PROBE = 3;
  /** Send with the DF bit ({@code -Dveil.udpDontFragment}, default on; false: the kernel's default, for measurements). */
  static final boolean DONT_FRAGMENT = !"false".equals(System.getProperty("veil.udpDontFragment"));

  /**
   * Sends this socket's datagrams with DF set and without path-MTU state ({@code IP_PMTUDISC_PROBE}, epoll only).
   * Linux's default for UDP ({@code IP_PMTUDISC_WANT}) leaves each datagram fragmentable, and for those it draws an
   * IP ID from a shared, hashed generator ({@code __ip_select_ident}: about 5 % of a media loop's CPU under the rig's
   * load); a DF datagram gets ID 0. Nothing here is ever fragmented anyway: datagrams are at most
   * {@link #MAX_DATAGRAM} bytes, and RTP and DTLS are sized for the path (RFC 8085 §3.2 asks for DF on such UDP).
   */
  private static void setDontFragment(Channel udp, EventLoop loop) {
    if (!DONT_FRAGMENT || !loop.isEpoll()) {
      return;
    }
    for (io.netty.channel.unix.IntegerUnixChannelOption o : new io.netty.channel.unix.IntegerUnixChannelOption[] {
        IP_MTU_DISCOVER, IPV6_MTU_DISCOVER}) {
      try {
        udp.config().setOption(o, PMTUDISC_PROBE); // an IPv4 socket refuses the IPv6 option: the other one does it
      } catch (RuntimeException e) {
        LOG.debug("udp: {} not set: {}", o.name(), e.toString());
      }
    }
  }

  /** IP_MTU_DISCOVER of the lane's socket (tests), or -1 if it cannot be read (not epoll). */
  int mtuDiscoverForTesting() {
    try {
      Integer v = udp.config().getOption(IP_MTU_DISCOVER);
      return v == null ? -1 : v;
    } catch (RuntimeException e) {
      return -1;
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
    byte[] hello = receiver.dtlsHold.take(a, nowMillis());
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
      byte[] hello = receiver.dtlsHold.take(a, nowMillis());
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

  /**
   * {@code p} is connected, or moved, to {@code remote} (its selected address): from now on its datagrams from there
   * come through a connected socket of this lane ({@link PeerSocket}), which replaces the one it had for an older
   * address. Not for ICE-TCP paths, nor without epoll or when {@link PeerSocket#ENABLED} is false; if the socket
   * cannot be opened, the client's datagrams keep coming through the lanes' sockets.
   */
  void openPeerSocket(RtcPeer p, InetSocketAddress remote) {
    if (!PeerSocket.ENABLED || !loop.isEpoll() || remote == null || IceTcp.isPath(remote) || p.isClosed()) {
      return;
    }
    PeerSocket old = p.socket;
    if (old != null) {
      if (old.remote.equals(remote) && !old.isClosed()) {
        return;
      }
      old.close();
      p.socket = null;
    }
    try {
      p.socket = PeerSocket.open(loop, receiver, p, new InetSocketAddress(bindAddress, localPort()), remote);
      stats.inc("udp.peer_sockets_opened");
    } catch (IOException | RuntimeException e) {
      stats.inc("udp.peer_socket_failed");
      LOG.debug("udp: no connected socket for {} at {}: {}", p.connectionId, remote, e.toString());
    }
  }

  // ------------------------------------------------------------------------------------------------- UDP in/out

  LaneReceiver receiver() {
    return receiver;
  }

  LaneSender sender() {
    return sender;
  }

  LaneInbox inbox() {
    return inbox;
  }

  /**
   * True if this lane's sends go through the socket their destination hashes to ({@link RtcMedia#egressLane}), not
   * only its own: several lanes, and {@code media_egress_spread} is on, or auto and this lane is busy (on its loop).
   */
  boolean spreadsEgress() {
    return spread.spreading() && media.lanes().size() > 1;
  }

  /** Every {@link EgressSpreadPolicy#SAMPLE_NANOS}: this loop thread's CPU time, for the auto egress spreading. */
  private void sampleCpu() {
    if (closed) {
      return;
    }
    long cpu = THREADS.getCurrentThreadCpuTime();
    if (cpu >= 0) {
      spread.sample(cpu, loop.nowNanos());
    }
    loop.schedule(EgressSpreadPolicy.SAMPLE_NANOS, sampleCpu);
  }

  /** Handles a datagram of {@code from} (on this lane's loop), as if this lane's socket had received it. */
  void onDatagram(byte[] data, InetSocketAddress from) {
    receiver.onDatagram(data, from, 0);
  }

  /**
   * Sends {@code data} to {@code to}. With egress spreading ({@link RtcMedia#egressLane}) a destination belongs to one
   * lane's socket (a hash of the address, so everything to one client leaves in order through one socket): a
   * datagram for another lane's socket is collected in this loop turn's batch for that lane and handed over at the
   * end of the turn (one task per lane and turn), so a large channel's UDP writes and {@code sendmmsg} calls are
   * shared by every core while its router and SRTP stay on its own lane.
   */
  void send(byte[] data, InetSocketAddress to) {
    sender.send(data, to);
  }

  /**
   * Sends {@code buf[off, off+len)}, which the caller reuses after the call (the router's forwarding buffer): one
   * copy into a pooled direct buffer of the channel's allocator, which Netty releases once written (also when
   * another lane's socket writes it).
   */
  void send(byte[] buf, int off, int len, InetSocketAddress to) {
    sender.send(buf, off, len, to);
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
    out.put("udp.dtls_hold_expired", receiver.dtlsHold.expired());
    out.put("udp.early_flushes", sender.earlyFlushes);
    out.put("udp.pending_bytes_max", sender.pendingBytesMax); // a high-water mark: never decreases
    out.put("udp.egress_spreading", spreadsEgress() ? 1L : 0L); // lanes spreading (a gauge, summed over lanes)
    out.put("udp.egress_spread_switches", spread.switches());
    out.merge("udp.datagrams_in", receiver.datagramsIn, Long::sum);
    out.merge("udp.datagrams_in_connected", receiver.datagramsInConnected, Long::sum);
    out.merge("udp.datagrams_out", sender.datagramsOut, Long::sum);
    out.merge("udp.send_errors", sender.sendErrors, Long::sum);
    long sockets = 0;
    for (RtcPeer p : peers.values()) {
      if (p.socket != null && !p.socket.isClosed()) {
        sockets++;
      }
      p.addLiveCounters(out);
      p.addLiveGauges(out);
    }
    out.merge("udp.peer_sockets", sockets, Long::sum); // open connected sockets (a gauge)
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
    stats.add("udp.datagrams_in", receiver.datagramsIn);
    stats.add("udp.datagrams_in_connected", receiver.datagramsInConnected);
    stats.add("udp.datagrams_out", sender.datagramsOut);
    stats.add("udp.send_errors", sender.sendErrors);
    receiver.datagramsIn = receiver.datagramsInConnected = sender.datagramsOut = sender.sendErrors = 0;
    sender.flushNow();
    udp.close();
  }

  boolean isClosed() {
    return closed;
  }
}
