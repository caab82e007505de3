package dev.veil.server;

import dev.veil.signaling.Role;
import dev.veil.webrtc.dtls.DtlsCertificate;
import dev.veil.webrtc.dtls.DtlsConfig;
import dev.veil.webrtc.ice.IceLiteAgent;
import dev.veil.webrtc.mux.Demux;
import dev.veil.webrtc.mux.PacketKind;
import dev.veil.webrtc.router.Router;
import dev.veil.webrtc.router.RouterConfig;
import dev.veil.webrtc.router.RouterOutput;
import dev.veil.webrtc.router.RouterStats;
import dev.veil.webrtc.transport.TransportOutput;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The media plane: the one UDP port shared by every client, the per-connection {@code WebRtcTransport}s and the
 * {@link Router}, all confined to the event loop thread (only BouncyCastle's blocking DTLS handshakes run on a
 * small worker pool, which wakes the loop when it has output).
 *
 * <p>Demultiplexing: a datagram from a known (ICE-validated) address goes to that address's transport; a STUN
 * Binding request from a new address is routed by the local ufrag in its USERNAME (the transport then
 * authenticates it); anything else from an unknown address is dropped and counted.
 */
final class RtcMedia implements Media {
  private static final Logger LOG = LoggerFactory.getLogger(RtcMedia.class);
  private static final int MAX_DATAGRAM = 1500;

  private final EventLoop loop;
  private final ServerConfig cfg;
  private final Stats stats;
  private final DatagramChannel udp;
  private final ByteBuffer rx = ByteBuffer.allocateDirect(MAX_DATAGRAM + 1);
  private final ByteBuffer tx = ByteBuffer.allocateDirect(MAX_DATAGRAM * 2);
  private final Map<String, RtcPeer> peers = new HashMap<>();
  private final Map<String, RtcPeer> byUfrag = new HashMap<>();
  private final Map<InetSocketAddress, RtcPeer> byAddress = new HashMap<>();
  private final SecureRandom random = new SecureRandom();
  private final InetAddress announced;
  private final DtlsCertificate certificate;
  private final DtlsConfig dtlsConfig = DtlsConfig.defaults();
  private final ExecutorService dtlsPool;
  final Router router;
  private EventLoop.Timer routerTimer;
  private long routerDeadline = Long.MAX_VALUE;
  private boolean closed;
  /** TEST ONLY (--test-forward-tap): records forwarded VP8 payloads; null in production. */
  ForwardTap tap;

  RtcMedia(EventLoop loop, ServerConfig cfg, Stats stats) throws IOException {
    this.loop = loop;
    this.cfg = cfg;
    this.stats = stats;
    this.announced = InetAddress.getByName(cfg.announcedAddress());
    try {
      this.certificate = DtlsCertificate.generate(random, System.currentTimeMillis());
    } catch (GeneralSecurityException e) {
      throw new IOException("cannot make the DTLS certificate", e);
    }
    AtomicInteger n = new AtomicInteger();
    this.dtlsPool = new ThreadPoolExecutor(0, Math.max(4, cfg.maxConnections()), 30, TimeUnit.SECONDS,
        new SynchronousQueue<>(), r -> {
          Thread t = new Thread(r, "veil-dtls-" + n.incrementAndGet());
          t.setDaemon(true);
          return t;
        });
    // Key-frame requests stay rate-limited to one per producer per 500 ms, but a consumer still waiting for its
    // first key frame asks again every 250 ms (instead of 1 s): a subscriber that starts just after another one
    // (whose request used up the interval) then waits about 0.5 s for its first picture, not over a second.
    RouterConfig d = RouterConfig.defaults();
    this.router = new Router(new RouterConfig(d.keyFrameRequestMinIntervalMillis(), 250,
        d.receiverReportIntervalMillis(), d.retransmissionCacheSize(), d.nackUpstreamHoldMillis()), random);
    this.udp = DatagramChannel.open();
    udp.setOption(java.net.StandardSocketOptions.SO_RCVBUF, 4 * 1024 * 1024);
    udp.setOption(java.net.StandardSocketOptions.SO_SNDBUF, 4 * 1024 * 1024);
    udp.bind(new InetSocketAddress(cfg.rtcBindAddress(), cfg.rtcPort()));
    loop.register(udp, this::readable);
    LOG.info("DTLS certificate {}", certificate.fingerprint().toSdpValue());
  }

  int localPort() {
    try {
      return ((InetSocketAddress) udp.getLocalAddress()).getPort();
    } catch (IOException e) {
      return -1;
    }
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
  public Peer open(String connectionId, Role role, boolean audio, boolean video, Runnable onMediaFailed) {
    RtcPeer p = new RtcPeer(this, connectionId, role, audio, video, onMediaFailed);
    peers.put(connectionId, p);
    byUfrag.put(p.localUfrag(), p);
    stats.inc("media.peers_opened");
    return p;
  }

  void removed(RtcPeer p) {
    peers.remove(p.connectionId);
    byUfrag.values().removeIf(v -> v == p);
    byAddress.values().removeIf(v -> v == p);
    router.closePeer(p.connectionId);
    drainRouter();
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
    RtcPeer prev = byAddress.put(a, p);
    if (prev != null && prev != p) {
      stats.inc("udp.address_moved");
    }
  }

  // ---------------------------------------------------------------------------------------------------- UDP in

  private void readable(SelectionKey key) {
    for (int i = 0; i < 256; i++) {
      rx.clear();
      SocketAddress from;
      try {
        from = udp.receive(rx);
      } catch (IOException e) {
        stats.inc("udp.receive_errors");
        return;
      }
      if (from == null) {
        return;
      }
      rx.flip();
      stats.inc("udp.datagrams_in");
      if (rx.remaining() > MAX_DATAGRAM || rx.remaining() == 0) {
        stats.inc("udp.dropped.size");
        continue;
      }
      byte[] data = new byte[rx.remaining()];
      rx.get(data);
      onDatagram(data, (InetSocketAddress) from);
    }
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
    tx.clear();
    tx.put(data).flip();
    try {
      if (udp.send(tx, to) == 0) {
        stats.inc("udp.send_dropped");
      } else {
        stats.inc("udp.datagrams_out");
      }
    } catch (IOException e) {
      stats.inc("udp.send_errors");
    }
  }

  // ---------------------------------------------------------------------------------------------------- router

  void routeRtp(RtcPeer from, byte[] packet) {
    router.handleRtp(from.connectionId, packet, 0, packet.length, nowMillis());
    drainRouter();
  }

  void routeRtcp(RtcPeer from, byte[] packet) {
    router.handleRtcp(from.connectionId, packet, 0, packet.length, nowMillis());
    drainRouter();
  }

  /** Sends what the router produced and re-arms its timer. */
  void drainRouter() {
    RouterOutput o;
    while ((o = router.pollOutput()) != null) {
      RtcPeer to = peers.get(o.peerId());
      if (to == null) {
        stats.inc("media.router_output_to_gone_peer");
        continue;
      }
      if (o instanceof RouterOutput.Rtp rtp) {
        if (tap != null) {
          tap.record(router, rtp);
        }
        to.sendRtp(rtp.packet());
      } else if (o instanceof RouterOutput.Rtcp rtcp) {
        to.sendRtcp(rtcp.packet());
      }
    }
    armRouter();
  }

  private void armRouter() {
    long now = nowMillis();
    long next = router.poll(now);
    // poll() may have produced receiver reports or key-frame requests
    RouterOutput o;
    while ((o = router.pollOutput()) != null) {
      RtcPeer to = peers.get(o.peerId());
      if (to == null) {
        continue;
      }
      if (o instanceof RouterOutput.Rtp rtp) {
        to.sendRtp(rtp.packet());
      } else if (o instanceof RouterOutput.Rtcp rtcp) {
        to.sendRtcp(rtcp.packet());
      }
    }
    if (next != routerDeadline || routerTimer == null) {
      if (routerTimer != null) {
        routerTimer.cancel();
      }
      routerDeadline = next;
      long delay = Math.max(1, next - now);
      routerTimer = loop.schedule(TimeUnit.MILLISECONDS.toNanos(Math.min(delay, 60_000)), () -> {
        routerTimer = null;
        if (!closed) {
          armRouter();
        }
      });
    }
  }

  /**
   * Counters of the live media (call on the loop): the router's, and the transports' of the peers still open
   * (those of closed peers are already in {@link Stats}).
   */
  Map<String, Long> liveCounters() {
    Map<String, Long> out = new java.util.TreeMap<>();
    RouterStats r = router.stats();
    out.put("router.rtp_received", r.rtpReceived());
    out.put("router.rtp_forwarded", r.rtpForwarded());
    out.put("router.rtp_malformed", r.rtpMalformed());
    out.put("router.rtp_unknown_ssrc", r.rtpUnknownSsrc());
    out.put("router.rtp_wrong_payload_type", r.rtpWrongPayloadType());
    out.put("router.rtp_dropped_before_key_frame", r.rtpDroppedBeforeKeyFrame());
    out.put("router.rtcp_received", r.rtcpReceived());
    out.put("router.rtcp_malformed", r.rtcpMalformed());
    out.put("router.nacked_packets", r.nackedPackets());
    out.put("router.retransmitted_from_cache", r.retransmittedFromCache());
    out.put("router.nacked_upstream", r.nackedUpstream());
    out.put("router.key_frame_requests_sent", r.keyFrameRequestsSent());
    out.put("router.key_frame_requests_suppressed", r.keyFrameRequestsSuppressed());
    out.put("router.sender_reports_sent", r.senderReportsSent());
    out.put("router.receiver_reports_sent", r.receiverReportsSent());
    for (RtcPeer p : peers.values()) {
      p.addLiveCounters(out);
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
    dtlsPool.shutdownNow();
    if (tap != null) {
      tap.close();
    }
    try {
      udp.close();
    } catch (IOException e) {
      LOG.debug("closing udp", e);
    }
  }

  boolean isClosed() {
    return closed;
  }

  /** Drops a transport's output events (called by RtcPeer). */
  static boolean isFinal(TransportOutput.Event e) {
    return e instanceof TransportOutput.Closed || e instanceof TransportOutput.Failed;
  }
}
