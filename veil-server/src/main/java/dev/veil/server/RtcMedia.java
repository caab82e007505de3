package dev.veil.server;

import dev.veil.signaling.Role;
import dev.veil.webrtc.dtls.DtlsCertificate;
import dev.veil.webrtc.dtls.DtlsConfig;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The media plane: the one UDP port shared by every client, served by one or more {@link MediaLane}s (a media loop
 * thread each, with its own socket on that port), the per-connection {@code WebRtcTransport}s and the channels'
 * routers. What is shared between lanes is read-mostly and lock-free: the DTLS certificate, the DTLS handshake pool
 * (BouncyCastle's blocking handshakes run there, never on a media loop; a worker wakes the connection's lane when it
 * has output) and the demultiplexing maps (validated address → connection, local ICE ufrag → connection;
 * {@link ConcurrentHashMap}s written by the owning lane, read by whichever lane's socket got the datagram).
 *
 * <p>Channels are pinned to lanes ({@link LanePlacement}): a channel's router and every member's transport live on
 * one lane, so one channel's forwarding is touched by one thread only and no packet crosses threads after the
 * receive stage. The signaling hub calls {@link #open} and the {@link Media.Peer} methods from its own thread: with
 * one lane that is the lane's own loop (everything on one thread, as before); with several the hub has a thread of
 * its own, calls that return a value wait for the lane ({@link EventLoop#call}: only the signaling thread ever
 * waits, never a media loop), the others are posted in order, and a lane reports a failed connection by posting to
 * the hub's thread.
 */
final class RtcMedia implements Media {
  private static final Logger LOG = LoggerFactory.getLogger(RtcMedia.class);
  /** Longest the signaling thread waits for a media loop to run one of its calls. */
  static final long CALL_TIMEOUT_MILLIS = 10_000;

  private final ServerConfig cfg;
  private final Stats stats;
  private final SecureRandom random = new SecureRandom();
  private final InetAddress announced;
  private final DtlsCertificate certificate;
  private final DtlsConfig dtlsConfig;
  private final ExecutorService dtlsPool;
  private final EventLoop signaling;
  private final MediaLane[] lanes;
  private final List<MediaLane> laneList;
  /** The signaling thread's: which lane serves which channel. */
  private final LanePlacement placement;
  private final Map<String, RtcPeer> byUfrag = new ConcurrentHashMap<>();
  private final Map<InetSocketAddress, RtcPeer> byAddress = new ConcurrentHashMap<>();
  /**
   * The ICE-TCP listener, on lane 0's loop (its packets go through lane 0's demultiplexing, handed to their
   * connection's lane like any datagram), or null when rtc_tcp_port is off.
   */
  private IceTcp iceTcp;

  /** One lane on {@code loop}, which also runs the hub (the single-thread server). */
  RtcMedia(EventLoop loop, ServerConfig cfg, Stats stats) throws IOException {
    this(new EventLoop[] {loop}, loop, cfg, stats);
  }

  /**
   * One lane per loop of {@code loops}; {@code signaling} is the hub's thread ({@code loops[0]} when there is one
   * loop, else a thread of its own).
   */
  RtcMedia(EventLoop[] loops, EventLoop signaling, ServerConfig cfg, Stats stats) throws IOException {
    this.cfg = cfg;
    this.stats = stats;
    this.signaling = signaling;
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
    this.lanes = new MediaLane[loops.length];
    this.placement = new LanePlacement(loops.length);
    // several lanes share the port; so does every connected socket (PeerSocket), also with one lane
    boolean reusePort = loops.length > 1 || (PeerSocket.ENABLED && loops[0].isEpoll());
    if (reusePort && cfg.rtcPort() != 0) {
      refuseTakenPort(cfg.rtcBindAddress(), cfg.rtcPort());
    }
    try {
      for (int i = 0; i < loops.length; i++) {
        int port = i == 0 ? cfg.rtcPort() : lanes[0].localPort();
        lanes[i] = new MediaLane(this, i, loops[i], i == 0 ? random : new SecureRandom(), cfg, stats, reusePort,
            port);
      }
    } catch (IOException | RuntimeException e) {
      for (MediaLane l : lanes) {
        if (l != null) {
          l.abandon();
        }
      }
      dtlsPool.shutdownNow();
      throw e;
    }
    this.laneList = List.of(lanes);
    if (cfg.net().iceTcp()) {
      try {
        this.iceTcp = new IceTcp(lanes[0].loop(), stats, new IceTcp.Packets() {
          @Override
          public void onPacket(byte[] packet, InetSocketAddress pathKey) {
            lanes[0].onDatagram(packet, pathKey); // an ICE-TCP frame: handled exactly as a datagram from the path
          }

          @Override
          public void pathClosed(InetSocketAddress pathKey) {
            byAddress.remove(pathKey);
          }
        }, cfg.rtcBindAddress(), cfg.net().rtcTcpPort(), 2 * cfg.maxConnections());
      } catch (IOException e) {
        for (MediaLane l : lanes) {
          l.abandon();
        }
        dtlsPool.shutdownNow();
        throw e;
      }
      LOG.info("ICE-TCP passive candidate on TCP {}:{}", cfg.rtcBindAddress(), iceTcp.localPort());
    }
    if (lanes.length > 1) {
      LOG.info("{} media loops on UDP port {} (SO_REUSEPORT)", lanes.length, localPort());
    }
    LOG.info("DTLS certificate {}", certificate.fingerprint().toSdpValue());
  }

  int localPort() {
    return lanes[0].localPort();
  }

  /** The bound ICE-TCP port, or 0 when ICE-TCP is off (then no TCP candidate is offered). */
  int tcpPort() {
    return iceTcp == null ? 0 : iceTcp.localPort();
  }

  /** The real remote address of an ICE-TCP path key (for STUN's XOR-MAPPED-ADDRESS), or null; any lane. */
  InetSocketAddress mappedAddress(InetSocketAddress pathKey) {
    return iceTcp == null ? null : iceTcp.remoteAddress(pathKey);
  }

  /** A connection that may own ICE-TCP paths closed (any lane; IceTcp runs on lane 0). */
  void iceTcpOwnerClosed(RtcPeer p) {
    if (iceTcp != null) {
      onIceTcpLoop(() -> iceTcp.ownerClosed(p));
    }
  }

  /** An ICE check validated an ICE-TCP path for {@code p} (any lane). */
  void iceTcpValidated(InetSocketAddress pathKey, RtcPeer p) {
    if (iceTcp != null) {
      onIceTcpLoop(() -> iceTcp.validated(pathKey, p));
    }
  }

  /** Sends {@code data} (not reused by the caller) on an ICE-TCP path, from lane {@code from}. */
  void iceTcpSend(MediaLane from, byte[] data, InetSocketAddress pathKey) {
    if (iceTcp != null) {
      onIceTcpLoop(() -> iceTcp.send(data, pathKey));
    }
  }

  private void onIceTcpLoop(Runnable r) {
    if (lanes[0].loop().inLoop()) {
      r.run();
    } else {
      lanes[0].loop().execute(r);
    }
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

  /**
   * Fails if {@code port} is taken, also by a socket with SO_REUSEPORT: a second server started on the port of a
   * running one would otherwise join its SO_REUSEPORT group (same user) and take a share of its clients' datagrams.
   * A socket without SO_REUSEPORT cannot bind a port that any socket holds, so one is bound and closed first.
   */
  private static void refuseTakenPort(String bind, int port) throws IOException {
    try (java.net.DatagramSocket probe = new java.net.DatagramSocket(null)) {
      probe.setReuseAddress(false);
      probe.bind(new InetSocketAddress(bind, port));
    } catch (java.net.SocketException e) {
      throw new IOException("cannot bind UDP " + bind + ":" + port + ": in use (another server on this port?): "
          + e.getMessage(), e);
    }
  }

  InetAddress announcedAddress() {
    return announced;
  }

  List<MediaLane> lanes() {
    return laneList;
  }

  MediaLane lane(int i) {
    return lanes[i];
  }

  /** The lane whose socket sends to {@code to} when a lane spreads its sends ({@link MediaLane#spreadsEgress()}). */
  MediaLane egressLane(InetSocketAddress to) {
    return lanes[Math.floorMod(to.getAddress().hashCode() * 31 + to.getPort(), lanes.length)];
  }

  // ------------------------------------------------------------------------------------------ demultiplexing

  RtcPeer peerAt(InetSocketAddress a) {
    return byAddress.get(a);
  }

  RtcPeer peerByUfrag(String ufrag) {
    return byUfrag.get(ufrag);
  }

  void registerUfrag(String ufrag, RtcPeer p) {
    byUfrag.put(ufrag, p);
  }

  /** Routes datagrams from {@code a} to {@code p}; returns the connection it was routed to before, or null. */
  RtcPeer registerAddress(InetSocketAddress a, RtcPeer p) {
    return byAddress.put(a, p);
  }

  void ufragChanged(RtcPeer p, String ufrag, String previous) {
    byUfrag.entrySet().removeIf(e -> e.getValue() == p && !e.getKey().equals(previous));
    byUfrag.put(ufrag, p);
  }

  void unregister(RtcPeer p) {
    byUfrag.values().removeIf(v -> v == p);
    byAddress.values().removeIf(v -> v == p);
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
    if (lanes.length == 1) {
      // one lane: the hub runs on its loop and calls the peer directly, as the single-thread server always did
      return lanes[0].open(connectionId, channelId, role, audio, video, screen, onMediaFailed);
    }
    int i = placement.join(channelId);
    MediaLane lane = lanes[i];
    Runnable failed = () -> signaling.execute(onMediaFailed);
    RtcPeer p;
    try {
      p = lane.loop().call(() -> lane.open(connectionId, channelId, role, audio, video, screen, failed),
          CALL_TIMEOUT_MILLIS);
    } catch (RuntimeException e) {
      placement.leave(channelId);
      throw e;
    }
    return new LanePeer(lane, p, channelId);
  }

  /**
   * Runs {@code task} on the lane of {@code channelId} with that lane and the channel's router there (null if the
   * channel has no router on it now); nothing if no lane serves the channel. Signaling thread; the cascade's media
   * side (docs/PROTOCOL.md §1.9.3) drives its node links' bridges with it.
   */
  void onChannelLane(String channelId, java.util.function.BiConsumer<MediaLane, ChannelRouters.Channel> task) {
    int i = lanes.length == 1 ? 0 : placement.laneOf(channelId);
    if (i < 0) {
      return;
    }
    MediaLane lane = lanes[i];
    lane.loop().execute(() -> task.accept(lane, lane.routers.channel(channelId)));
  }

  /** The lane of a channel with connections, or -1 (signaling thread; tests). */
  int laneOf(String channelId) {
    return placement.laneOf(channelId);
  }

  /**
   * A connection on another thread's lane, driven from the signaling thread: calls with a result wait for the lane,
   * the others are posted to it (in order: the lane's task queue is FIFO, so a close or an ICE restart is done
   * before the next offer runs).
   */
  private final class LanePeer implements Peer {
    private final MediaLane lane;
    private final RtcPeer p;
    private final String channelId;
    private boolean closed;

    LanePeer(MediaLane lane, RtcPeer p, String channelId) {
      this.lane = lane;
      this.p = p;
      this.channelId = channelId;
    }

    @Override
    public String offer(List<Track> receive) {
      List<Track> copy = List.copyOf(receive);
      return lane.loop().call(() -> p.offer(copy), CALL_TIMEOUT_MILLIS);
    }

    @Override
    public List<Track> answer(String sdp) throws MediaException {
      try {
        return lane.loop().call(() -> p.answer(sdp), CALL_TIMEOUT_MILLIS);
      } catch (CompletionException e) {
        if (e.getCause() instanceof MediaException m) {
          throw m;
        }
        throw e;
      }
    }

    @Override
    public void restartIce() {
      lane.loop().execute(p::restartIce);
    }

    @Override
    public void setReceiveMaxHeight(int maxHeight, String trackId) {
      lane.loop().execute(() -> p.setReceiveMaxHeight(maxHeight, trackId));
    }

    /** The snapshot the lane took at the previous call (asked for again now, without waiting: reports are ~1/s). */
    private volatile dev.veil.signaling.DownlinkStats downlinkStats;

    @Override
    public dev.veil.signaling.DownlinkStats downlinkStats() {
      lane.loop().execute(() -> downlinkStats = p.downlinkStats());
      return downlinkStats;
    }

    @Override
    public void close() {
      if (closed) {
        return;
      }
      closed = true;
      placement.leave(channelId);
      lane.loop().execute(p::close);
    }
  }

  // ------------------------------------------------------------------------------------------------ counters

  /**
   * The live counters of every lane, each read on its own loop, summed (a high-water mark: the largest); waits at
   * most {@code timeoutMillis} in all. Call from outside the lanes (with one lane, from its loop).
   */
  Map<String, Long> liveCounters(long timeoutMillis) throws Exception {
    if (lanes.length == 1 && lanes[0].loop().inLoop()) {
      return lanes[0].liveCounters();
    }
    List<CompletableFuture<Map<String, Long>>> parts = new ArrayList<>();
    for (MediaLane l : lanes) {
      CompletableFuture<Map<String, Long>> f = new CompletableFuture<>();
      l.loop().execute(() -> f.complete(l.liveCounters()));
      parts.add(f);
    }
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
    Map<String, Long> out = new java.util.TreeMap<>();
    for (CompletableFuture<Map<String, Long>> f : parts) {
      long left = Math.max(1, deadline - System.nanoTime());
      for (Map.Entry<String, Long> e : f.get(left, TimeUnit.NANOSECONDS).entrySet()) {
        out.merge(e.getKey(), e.getValue(), e.getKey().endsWith("_max") ? Math::max : Long::sum);
      }
    }
    return out;
  }

  /** Closes every lane (each on its loop); the caller then stops the loops and {@link #closePool()}. */
  void close() {
    for (MediaLane l : lanes) {
      l.loop().execute(l::close);
    }
    if (iceTcp != null) {
      lanes[0].loop().execute(iceTcp::close);
    }
  }

  /** After the lanes have closed: stops the DTLS pool and the test tap. */
  void closePool() {
    dtlsPool.shutdownNow();
    for (MediaLane l : lanes) {
      if (l.tap != null) {
        l.tap.close();
      }
    }
  }
}
