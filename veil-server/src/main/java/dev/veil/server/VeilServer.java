package dev.veil.server;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The whole SFU: HTTP + WebSocket signaling (Jetty), the UDP media port and the event loops that own the state. With
 * {@code media_loops = 1} one loop runs the signaling hub and all media; with N &gt; 1 the hub has a thread of its
 * own ({@code veil-signaling}) and N media loops ({@code veil-loop-0} ..) each own a socket on the media port and
 * the channels placed on them ({@link RtcMedia}).
 */
public final class VeilServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(VeilServer.class);

  private final ServerConfig cfg;
  private final OpsConfig ops;
  private final dev.veil.server.cluster.ClusterConfig clusterCfg;
  /** This node's cluster membership, or null without a cluster. */
  private ClusterMembership membership;
  /** The membership's node, or null without a cluster. */
  private dev.veil.server.cluster.ClusterNode cluster;
  /** The cascade's bus (docs/PROTOCOL.md §1.9.3), or null: no cascade. */
  private dev.veil.server.cluster.ChannelBus cascadeBus;
  private dev.veil.server.cluster.relay.RelayBudget.Limits cascadeBudget =
      dev.veil.server.cluster.relay.RelayBudget.Limits.defaults();
  private volatile boolean crashed;
  private final Stats stats = new Stats();
  private final long startedNanos = System.nanoTime();
  /** The signaling hub's loop (with one media loop, that loop). */
  private EventLoop loop;
  /** The media loops (with one, {@code {loop}}). */
  private EventLoop[] mediaLoops = new EventLoop[0];
  private RtcMedia media;
  private Hub hub;
  /** Jetty: signaling, {@code /health}, {@code /metrics} and the admin port. */
  private HttpFront http;
  /** The graceful drain's outcome once started ({@link #drain()}), else null. */
  private volatile java.util.concurrent.CompletableFuture<Drain.Reason> drain;
  private volatile java.util.function.Consumer<Drain.Reason> drainedHandler = r -> { };
  private volatile boolean stopped;
  private java.nio.file.Path forwardTapFile;
  /** The first fatal error, or null: the server cannot be trusted to work any more (health "failed"). */
  private volatile Throwable fatal;
  private volatile java.util.function.Consumer<Throwable> fatalHandler = t -> { };
  /** The loops' heartbeats: loop lag and "stalled" for {@code /health}. */
  final LoopHeartbeats heartbeats = new LoopHeartbeats(stats.metrics);

  /** Time shutdown waits for the members' sockets to close after their disconnect before stopping HTTP. */
  static final long SHUTDOWN_DRAIN_MILLIS = 5000;

  public VeilServer(ServerConfig cfg) {
    this(cfg, dev.veil.server.cluster.ClusterConfig.none());
  }

  /**
   * A node of a cluster (docs/PROTOCOL.md §1.9) when {@code cluster.enabled()}: it registers in the Redis directory
   * at start and redirects connects for channels another node owns; otherwise one process, as {@link
   * #VeilServer(ServerConfig)}.
   */
  public VeilServer(ServerConfig cfg, dev.veil.server.cluster.ClusterConfig cluster) {
    this(cfg, cluster, OpsConfig.defaults());
  }

  /** With the operations settings ({@link OpsConfig}: log format, drain, admin port, token expiry). */
  public VeilServer(ServerConfig cfg, OpsConfig ops) {
    this(cfg, dev.veil.server.cluster.ClusterConfig.none(), ops);
  }

  public VeilServer(ServerConfig cfg, dev.veil.server.cluster.ClusterConfig cluster, OpsConfig ops) {
    this.cfg = cfg;
    this.clusterCfg = java.util.Objects.requireNonNull(cluster, "cluster");
    this.ops = java.util.Objects.requireNonNull(ops, "ops");
  }

  /**
   * TEST ONLY: record the forwarded VP8, H.264, VP9 and AV1 payloads to {@code file} ({@link ForwardTap}); call before {@link #start()}.
   * Only the hidden flag {@code --test-forward-tap} calls it; never the configuration file.
   */
  public void enableForwardTapForTesting(java.nio.file.Path file) {
    this.forwardTapFile = file;
  }

  /**
   * TEST ONLY: hands every forwarded RTP packet to {@code tamper} (a hostile server, {@link ForwardTamper}); null
   * stops it. For the hostile-server test suites; no configuration key or command-line flag reaches it.
   */
  public void setForwardTamperForTesting(ForwardTamper tamper) {
    if (media == null) {
      throw new IllegalStateException("start the server first");
    }
    // set on each media loop, which alone reads it (no volatile read on the forwarding path)
    for (MediaLane lane : media.lanes()) {
      lane.loop().call(() -> lane.tamper = tamper, 5000);
    }
  }

  /**
   * What to do after a fatal error (an {@link Error} on the event loop, the loop thread ending, or any {@link
   * #fail} call): Main exits the process non-zero so that a supervisor restarts it. Called once, on the thread
   * that failed; {@link #health()} already reports "failed" then.
   */
  public void onFatal(java.util.function.Consumer<Throwable> handler) {
    this.fatalHandler = handler;
  }

  /** The first fatal error, or null. */
  public Throwable failure() {
    return fatal;
  }

  /**
   * Marks the server failed for good: a FATAL log line, {@code /health} answers 503 {@code "failed"} from now on,
   * and the fatal handler runs (once). For errors after which the server's state cannot be trusted.
   */
  public void fail(String what, Throwable t) {
    synchronized (this) {
      if (fatal != null) {
        return;
      }
      fatal = t;
    }
    try {
      LOG.error("FATAL: {}: {} -- the server cannot go on; it reports failed and exits", what, t.toString(), t);
    } catch (Throwable ignored) {
      // logging itself may fail (out of memory): the handler must still run
    }
    fatalHandler.accept(t);
  }

  /**
   * TEST ONLY: runs {@code task} on the event loop (the hidden flag {@code --test-fatal-injection} uses it to
   * throw an Error there). Never reachable from the configuration or the network.
   */
  void runOnLoopForTesting(Runnable task) {
    loop.execute(task);
  }

  /** TEST ONLY: the media plane (touch a lane on its own loop only, {@code lane.loop().execute}). */
  RtcMedia mediaForTesting() {
    return media;
  }

  /** True if an event loop is stuck in some task ({@link LoopHeartbeats#stalled()}). */
  boolean loopStalled() {
    return loop != null && !stopped && heartbeats.stalled();
  }

  /** Binds the ports and starts serving. */
  public void start() throws Exception {
    int n = cfg.mediaLoopCount();
    mediaLoops = new EventLoop[n];
    if (n == 1) {
      loop = new EventLoop("veil-loop", this::fail);
      mediaLoops[0] = loop;
    } else {
      for (int i = 0; i < n; i++) {
        mediaLoops[i] = new EventLoop("veil-loop-" + i, this::fail);
      }
      loop = new EventLoop("veil-signaling", this::fail);
    }
    try {
      media = new RtcMedia(mediaLoops, loop, cfg, stats);
    } catch (Exception e) {
      stopLoops(); // the Netty loop threads may already run (the bind registered the channels)
      loop = null;
      throw e;
    }
    if (forwardTapFile != null) {
      ForwardTap tap = new ForwardTap(forwardTapFile);
      for (MediaLane lane : media.lanes()) {
        lane.tap = tap; // set before the loops serve anyone
      }
      LOG.warn("TEST ONLY forward tap on: forwarded VP8, H.264, VP9 and AV1 payloads are written to {}", forwardTapFile);
    }
    hub = new Hub(loop, cfg, stats, media, new ConnectionIds(new SecureRandom()));
    hub.disconnectOnExpiry = ops.tokenExpiryDisconnect();
    if (cfg.auth().webhookUrl() != null) {
      hub.webhook = new dev.veil.server.auth.HttpAuthWebhook(java.net.URI.create(cfg.auth().webhookUrl()),
          java.time.Duration.ofMillis(cfg.auth().webhookTimeoutMillis()), loop);
    }
    heartbeats.startLoops(allLoops());

    Metrics metrics = stats.metrics;
    metrics.bindCounters(this::counters);
    bindGauges(metrics);
    metrics.bindJvmAndProcess();
    metrics.bindNetty(loop.nettyGroup());

    http = new HttpFront(cfg, ops, loop, hub, this::fail, metrics, this::health, this::metrics, this::adminDrain);
    if (clusterCfg.enabled()) {
      http.openPublicPort(); // the bound port is part of the node's default signaling URL
      joinCluster();
    }
    http.start();
    LOG.info("veil-server up: http {} rtc udp {} tcp {} announced {} e2ee {} turn {} media loops {}", httpPort(),
        rtcPort(), rtcTcpPort() == 0 ? "off" : rtcTcpPort(), cfg.announcedAddress(), cfg.e2ee(), cfg.net().turn(),
        mediaLoops.length);
  }

  /** Registers this node in the cluster directory (before HTTP accepts anything); throws if Redis is unreachable. */
  private void joinCluster() {
    membership = new ClusterMembership(clusterCfg, cfg, http.httpPort(), media.localPort(), stats, loop);
    cluster = membership.node();
    membership.register(hub);
    if (cluster.config().cascade()) {
      enableCascade(cluster.config());
    }
  }

  private void enableCascade(dev.veil.server.cluster.ClusterConfig cc) {
    cascadeBus = CascadeWiring.enable(cc, cfg, loop, hub, media, cascadeBudget);
  }

  /** TEST ONLY: the budget of each node link of a cascade (docs/PROTOCOL.md §1.9.3); call before {@link #start()}. */
  public void setCascadeBudgetForTesting(dev.veil.server.cluster.relay.RelayBudget.Limits limits) {
    this.cascadeBudget = java.util.Objects.requireNonNull(limits, "limits");
  }

  /**
   * TEST ONLY: the node link of {@code channelId} to node {@code nodeId} (its state and counters), or null. Any thread.
   */
  public dev.veil.server.cluster.relay.RelayTransport cascadeLinkForTesting(String channelId, String nodeId) {
    HubCascade c = hub == null ? null : hub.cascade;
    HubCascadeMedia m = c == null ? null : c.media();
    return m == null ? null : m.transport(channelId, nodeId);
  }

  /** This node's cluster membership, or null without a cluster. */
  public dev.veil.server.cluster.ClusterNode cluster() {
    return cluster;
  }

  /**
   * TEST ONLY: dies as a crashed node does, as far as the others can tell: no more heartbeats or claim refreshes,
   * no deregistration (its directory entries expire on their own), no {@code disconnect} to the members (their
   * WebSockets just close), HTTP and UDP closed.
   */
  public void crashForTesting() {
    crashed = true;
    if (cluster != null) {
      cluster.abandon();
    }
    close();
  }

  /** The bound HTTP port. */
  public int httpPort() {
    return http.httpPort();
  }

  /** The bound admin port, or -1 without one. */
  public int adminPort() {
    return http.adminPort();
  }

  /** The bound ICE-TCP port, or 0 when ICE-TCP is off. */
  public int rtcTcpPort() {
    return media.tcpPort();
  }

  /** The bound UDP port. */
  public int rtcPort() {
    return media.localPort();
  }

  public Stats stats() {
    return stats;
  }

  /**
   * Every counter: the server's, plus the live router and transport counters (read on the event loop; empty if
   * the loop does not answer within a second).
   */
  public Map<String, Long> counters() {
    if (loop != null && media != null && !stopped) {
      // Stats plus every lane's live and closed counters. Each lane reports its live routers and peers together with
      // the final counters of those that closed on it, read on its own loop, so a close is never missed or counted
      // twice. With one media loop the whole reading runs on that loop.
      java.util.concurrent.CompletableFuture<Map<String, Long>> live = new java.util.concurrent.CompletableFuture<>();
      Runnable read = () -> {
        try {
          Map<String, Long> all = new java.util.TreeMap<>(stats.snapshot());
          media.liveCounters(1000).forEach((k, v) -> all.merge(k, v, Long::sum));
          live.complete(all);
        } catch (Exception e) {
          live.completeExceptionally(e);
        }
      };
      if (mediaLoops.length == 1) {
        loop.execute(read);
      } else {
        read.run();
      }
      try {
        return live.get(1, java.util.concurrent.TimeUnit.SECONDS);
      } catch (Exception e) {
        Map<String, Long> out = new java.util.TreeMap<>(stats.snapshot());
        out.put("health.live_counters_unavailable", 1L);
        return out;
      }
    }
    return new java.util.TreeMap<>(stats.snapshot());
  }

  /**
   * {@code GET /health}: readiness and load. {@code status} is {@code "ok"} (ready: 200), or {@code "draining"},
   * {@code "stopping"}, {@code "stalled"}, {@code "failed"} (503).
   */
  ObjectNode health() {
    ObjectNode o = JsonNodeFactory.instance.objectNode();
    Throwable f = fatal;
    boolean draining = drain != null;
    String status = f != null ? "failed" : stopped ? "stopping" : loopStalled() ? "stalled"
        : draining ? "draining" : "ok";
    o.put("status", status);
    if (f != null) {
      o.put("error", f.getClass().getName());
    }
    o.put("ready", status.equals("ok"));
    o.put("draining", draining);
    o.put("uptime_seconds", (System.nanoTime() - startedNanos) / 1_000_000_000L);
    o.put("e2ee", cfg.e2ee());
    o.put("http_port", httpPort());
    o.put("rtc_port", rtcPort());
    o.put("rtc_tcp_port", rtcTcpPort());
    o.put("channels", stats.channels());
    if (cluster != null) {
      o.put("cluster_node", cluster.config().nodeId());
    }
    o.put("connections", stats.connections());
    o.put("websockets", stats.webSockets());
    o.put("pending_websockets", stats.pendingSockets());
    o.put("max_connections", cfg.maxConnections());
    // the share of the connection budget in use: what a load balancer or a cluster compares nodes by
    o.put("load", Math.round(1000.0 * stats.connections() / cfg.maxConnections()) / 1000.0);
    o.put("loop_lag_ms", Math.round(heartbeats.lagNanos() / 1e4) / 100.0);
    ObjectNode counters = o.putObject("counters");
    for (Map.Entry<String, Long> e : counters().entrySet()) {
      counters.put(e.getKey(), e.getValue());
    }
    return o;
  }

  /**
   * {@code GET /metrics}: the same counters and gauges as {@link #health()}, the histograms, and the JVM, process,
   * Jetty and Netty meters, in the Prometheus text format 0.0.4 ({@link Metrics}).
   */
  String metrics() {
    return stats.metrics.scrape();
  }

  private void bindGauges(Metrics m) {
    m.gauge("veil.channels", "Channels with at least one member.", stats, Stats::channels);
    m.gauge("veil.connections", "Connections that have joined a channel.", stats, Stats::connections);
    m.gauge("veil.websockets", "Open signaling WebSockets (joined or not).", stats, Stats::webSockets);
    m.gauge("veil.uptime.seconds", "Seconds since the server started.", this,
        s -> (System.nanoTime() - s.startedNanos) / 1_000_000_000L);
    m.gauge("veil.e2ee.enabled", "1 if the server accepts end-to-end encrypted channels.", cfg, c -> c.e2ee() ? 1 : 0);
    m.gauge("veil.pending.websockets", "Open signaling WebSockets that have not sent connect.", stats,
        Stats::pendingSockets);
    m.gauge("veil.outbound.queued.bytes", "Bytes queued to signaling WebSockets and not yet written.", stats,
        Stats::outboundQueuedBytes);
    m.gauge("veil.outbound.queued.messages", "Messages queued to signaling WebSockets and not yet written.", stats,
        Stats::outboundQueuedMessages);
    m.gauge("veil.healthy", "0 after a fatal error (the server then exits) or while the event loop is stuck.", this,
        s -> s.fatal == null && !s.loopStalled() ? 1 : 0);
  }

  /**
   * Starts the graceful drain (docs/PROTOCOL.md §1.10): new connects are refused ({@code draining}), every member is
   * sent {@code draining} with the deadline ({@code drain_timeout_seconds}), {@code /health} answers 503
   * {@code "draining"}; the future completes once no member is left or at the deadline, and the drained handler
   * runs. Idempotent: a second call returns the same future.
   */
  public synchronized java.util.concurrent.CompletableFuture<Drain.Reason> drain() {
    if (drain != null) {
      return drain;
    }
    java.util.concurrent.CompletableFuture<Drain.Reason> done = new java.util.concurrent.CompletableFuture<>();
    drain = done;
    if (loop == null || hub == null || stopped) {
      done.complete(Drain.Reason.EMPTY);
    } else {
      if (cluster != null && !crashed) {
        cluster.leave(); // off the directory first: members that reconnect now go to the other nodes
      }
      long ms = ops.drainTimeoutSeconds() * 1000L;
      loop.execute(() -> hub.startDrain(ms).whenComplete((r, t) -> done.complete(t == null ? r : Drain.Reason.TIMEOUT)));
    }
    done.thenAccept(r -> drainedHandler.accept(r));
    return done;
  }

  /** What to do once a drain has finished (Main exits the process). */
  public void onDrained(java.util.function.Consumer<Drain.Reason> handler) {
    this.drainedHandler = handler;
  }

  /** SIGTERM: drain (bounded by {@code drain_timeout_seconds} and a little), then {@link #close()}. */
  public void drainAndClose() {
    if (fatal == null && !stopped) {
      try {
        drain().get(ops.drainTimeoutSeconds() * 1000L + SHUTDOWN_DRAIN_MILLIS,
            java.util.concurrent.TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (Exception e) {
        LOG.warn("drain: {}", e.toString());
      }
    }
    close();
  }

  /** {@code POST /admin/drain} on the admin port: starts the drain, answers what it started. */
  private ObjectNode adminDrain() {
    boolean already = drain != null;
    drain();
    ObjectNode o = JsonNodeFactory.instance.objectNode();
    o.put("status", "draining");
    o.put("already_draining", already);
    o.put("deadline_ms", ops.drainTimeoutSeconds() * 1000L);
    o.put("connections", stats.connections());
    LOG.info("admin: drain requested{}", already ? " (already draining)" : "");
    return o;
  }

  /** Closes every connection, stops HTTP and the UDP port. Idempotent. */
  @Override
  public synchronized void close() {
    if (stopped) {
      return;
    }
    stopped = true;
    heartbeats.stop();
    LOG.info("veil-server stopping");
    if (membership != null) {
      membership.close(!crashed); // a crash: no deregistration, the entries expire on their own
    }
    if (cascadeBus != null && (crashed || fatal != null)) {
      CascadeWiring.closeLinks(loop, hub); // a crash as the other nodes see it: the node links go silent at once
    }
    if (loop != null && hub != null && fatal == null && !crashed) {
      // Every member gets disconnect {server shutting down}; wait (bounded) until their sockets have closed, so the
      // message is flushed before Jetty stops and closes whatever is left with its own 1001.
      java.util.concurrent.CompletableFuture<java.util.concurrent.CompletableFuture<Void>> started =
          new java.util.concurrent.CompletableFuture<>();
      loop.execute(() -> started.complete(hub.shutdown()));
      try {
        started.get(SHUTDOWN_DRAIN_MILLIS, java.util.concurrent.TimeUnit.MILLISECONDS)
            .get(SHUTDOWN_DRAIN_MILLIS, java.util.concurrent.TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (Exception e) {
        LOG.warn("shutdown: not every socket closed in time ({})", e.toString());
      }
    }
    try {
      if (http != null) {
        http.stop();
      }
    } catch (Exception e) {
      LOG.warn("stopping HTTP: {}", e.toString());
    }
    if (loop != null) {
      media.close();
      stopLoops();
      media.closePool();
    }
    if (cascadeBus != null) {
      cascadeBus.close();
    }
    stats.metrics.close();
    LOG.info("veil-server stopped");
  }

  /** The hub's loop and the media loops, each once. */
  private java.util.List<EventLoop> allLoops() {
    java.util.List<EventLoop> all = new java.util.ArrayList<>();
    if (loop != null) {
      all.add(loop);
    }
    for (EventLoop l : mediaLoops) {
      if (l != null && l != loop) {
        all.add(l);
      }
    }
    return all;
  }

  /** Stops the media loops (after the tasks already posted), then the hub's. */
  private void stopLoops() {
    java.util.List<EventLoop> all = allLoops();
    java.util.Collections.reverse(all);
    for (EventLoop l : all) {
      try {
        l.stop(3000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  InetSocketAddress rtcAddress() {
    return new InetSocketAddress(cfg.announcedAddress(), rtcPort());
  }
}
