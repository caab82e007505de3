package dev.veil.server;

import dev.veil.webrtc.router.Consumer;
import dev.veil.webrtc.router.Router;
import dev.veil.webrtc.router.RouterConfig;
import dev.veil.webrtc.router.RouterOutput;
import dev.veil.webrtc.router.RouterStats;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.random.RandomGenerator;

/**
 * The routers of the server: one {@link Router} per channel, created when the channel's first peer opens its media
 * and closed when its last peer leaves, each with its own timer on the loop. No sockets: what a router emits goes to
 * a {@link Sink} (the UDP shell in the server, a recording fake in the in-memory harness), so forwarding and the
 * close cascade are testable on a manual clock.
 *
 * <h2>Close cascade</h2>
 * (mediasoup's vocabulary: a peer's transport carries its producers and consumers.) When a peer leaves,
 * {@link #leave}: (1) the peer's consumers close; (2) its producers close, and with each producer every consumer
 * of other peers fed by it (their subscribers get a re-offer without the track from the hub); (3) if the peer was
 * the channel's last, the router closes, its timer is cancelled, its counters are folded into {@link Stats} and
 * the channel is forgotten. Nothing of a channel outlives its last peer. The transport itself is closed by the
 * caller ({@code RtcPeer}) before the router is told.
 */
final class ChannelRouters {

  /** Where router output goes. */
  interface Sink {
    /** An RTP packet for {@code peerId} (a consumer's, forwarded or retransmitted). */
    void sendRtp(Channel channel, RouterOutput.Rtp rtp);

    /** An RTCP packet for {@code peerId}. */
    void sendRtcp(Channel channel, RouterOutput.Rtcp rtcp);

    /**
     * A forwarded RTP packet for {@code consumer}'s subscriber, in the router's reused buffer (see {@link
     * dev.veil.webrtc.router.ForwardSink}: valid only during the call, may be protected in place). By default a copy
     * goes to {@link #sendRtp}.
     */
    default void forwardRtp(Channel channel, Consumer consumer, byte[] buf, int off, int len) {
      sendRtp(channel, new RouterOutput.Rtp(consumer.peerId(), consumer.id(),
          java.util.Arrays.copyOfRange(buf, off, off + len)));
    }
  }

  /** One channel's router, the peers on it and its timer. */
  static final class Channel {
    final String id;
    final Router router;
    final Set<String> peers = new LinkedHashSet<>();
    /**
     * The node links of a cascaded channel (docs/PROTOCOL.md §1.9.3) by link peer id ({@code node:<id>}): router
     * output for such a peer goes over the link instead of to a client. Touched on the lane only.
     */
    final Map<String, dev.veil.server.cluster.relay.CascadeBridge> bridges = new HashMap<>(2);
    private Scheduler.Cancellable timer;
    private long deadline = Long.MAX_VALUE;

    Channel(String id, Router router) {
      this.id = id;
      this.router = router;
    }
  }

  private final Scheduler loop;
  private final RandomGenerator random;
  private final RouterConfig config;
  private final Stats stats;
  private final Sink sink;
  private final Map<String, Channel> channels = new HashMap<>();
  private boolean closed;

  /** Where a closing router's final counters go: by default into {@link Stats}; a media lane keeps its own. */
  private java.util.function.Consumer<Map<String, Long>> closedCounters;

  /**
   * Sends the final counters of every router that closes to {@code sink} instead of {@link Stats} (on the loop).
   * A media lane keeps them next to its live routers' counters, so that one reading on the lane's loop counts every
   * router exactly once, however the reading interleaves with closes on other lanes.
   */
  void onClosedCounters(java.util.function.Consumer<Map<String, Long>> sink) {
    this.closedCounters = sink;
  }

  ChannelRouters(Scheduler loop, RandomGenerator random, RouterConfig config, Stats stats, Sink sink) {
    this.loop = loop;
    this.random = random;
    this.config = config;
    this.stats = stats;
    this.closedCounters = m -> m.forEach(stats::add);
    this.sink = sink;
  }

  long nowMillis() {
    return TimeUnit.NANOSECONDS.toMillis(loop.nowNanos());
  }

  /** The channel's router, created for its first peer. */
  Channel join(String channelId, String peerId) {
    Channel ch = channels.get(channelId);
    if (ch == null) {
      ch = new Channel(channelId, new Router(config, random));
      Channel c = ch;
      ch.router.setForwardSink((consumer, buf, off, len) -> sink.forwardRtp(c, consumer, buf, off, len));
      channels.put(channelId, ch);
      stats.inc("router.created");
    }
    ch.peers.add(peerId);
    return ch;
  }

  /** The close cascade of one peer (see the class comment). */
  void leave(Channel ch, String peerId) {
    if (!ch.peers.remove(peerId)) {
      return;
    }
    ch.router.closePeer(peerId);
    if (ch.peers.isEmpty()) {
      close(ch);
    } else {
      drain(ch);
    }
  }

  private void close(Channel ch) {
    ch.router.close();
    if (ch.timer != null) {
      ch.timer.cancel();
      ch.timer = null;
    }
    channels.remove(ch.id, ch);
    Map<String, Long> last = new HashMap<>();
    addCounters(ch.router.stats(), last);
    closedCounters.accept(last);
    stats.inc("router.closed");
  }

  /** The live router for a channel id, or null (tests). */
  Channel channel(String channelId) {
    return channels.get(channelId);
  }

  int size() {
    return channels.size();
  }

  void routeRtp(Channel ch, String peerId, byte[] packet) {
    ch.router.handleRtp(peerId, packet, 0, packet.length, nowMillis());
    drain(ch);
  }

  /** Routes the plain RTP packet {@code buf[off, off+len)} (a receive buffer the caller reuses after the call). */
  void routeRtp(Channel ch, String peerId, byte[] buf, int off, int len) {
    ch.router.handleRtp(peerId, buf, off, len, nowMillis());
    drain(ch);
  }

  /** Routes the plain RTCP compound {@code buf[off, off+len)} (a receive buffer the caller reuses after the call). */
  void routeRtcp(Channel ch, String peerId, byte[] buf, int off, int len) {
    ch.router.handleRtcp(peerId, buf, off, len, nowMillis());
    drain(ch);
  }

  void routeRtcp(Channel ch, String peerId, byte[] packet) {
    ch.router.handleRtcp(peerId, packet, 0, packet.length, nowMillis());
    drain(ch);
  }

  /** Sends what the router produced, runs its timers and re-arms its timer. */
  void drain(Channel ch) {
    send(ch);
    if (closed || ch.router.isClosed()) {
      return;
    }
    long now = nowMillis();
    long next = ch.router.poll(now);
    send(ch); // receiver reports, key-frame requests, upstream NACKs
    if (next != ch.deadline || ch.timer == null) {
      if (ch.timer != null) {
        ch.timer.cancel();
      }
      ch.deadline = next;
      long delay = Math.max(1, next == Long.MAX_VALUE ? 60_000 : next - now);
      ch.timer = loop.schedule(TimeUnit.MILLISECONDS.toNanos(Math.min(delay, 60_000)), () -> {
        ch.timer = null;
        if (!closed && !ch.router.isClosed()) {
          drain(ch);
        }
      });
    }
  }

  private void send(Channel ch) {
    RouterOutput o;
    while ((o = ch.router.pollOutput()) != null) {
      if (o instanceof RouterOutput.Rtp rtp) {
        sink.sendRtp(ch, rtp);
      } else if (o instanceof RouterOutput.Rtcp rtcp) {
        sink.sendRtcp(ch, rtcp);
      }
    }
  }

  /** Adds the live routers' counters (no channel ids: one sum per counter). */
  void addLiveCounters(Map<String, Long> out) {
    for (Channel ch : channels.values()) {
      addCounters(ch.router.stats(), out);
      out.merge("router.simulcast_layers_known", (long) ch.router.simulcastLayersKnown(), Long::sum);
      out.merge("router.simulcast_layer_switches", ch.router.simulcastLayerSwitches(), Long::sum);
    }
  }

  private static void addCounters(RouterStats r, Map<String, Long> out) {
    out.merge("router.rtp_received", r.rtpReceived(), Long::sum);
    out.merge("router.rtp_forwarded", r.rtpForwarded(), Long::sum);
    out.merge("router.rtp_malformed", r.rtpMalformed(), Long::sum);
    out.merge("router.rtp_unknown_ssrc", r.rtpUnknownSsrc(), Long::sum);
    out.merge("router.rtp_wrong_payload_type", r.rtpWrongPayloadType(), Long::sum);
    out.merge("router.rtp_dropped_before_key_frame", r.rtpDroppedBeforeKeyFrame(), Long::sum);
    out.merge("router.rtcp_received", r.rtcpReceived(), Long::sum);
    out.merge("router.rtcp_malformed", r.rtcpMalformed(), Long::sum);
    out.merge("router.nacked_packets", r.nackedPackets(), Long::sum);
    out.merge("router.retransmitted_from_cache", r.retransmittedFromCache(), Long::sum);
    out.merge("router.retransmitted_rtx", r.retransmittedRtx(), Long::sum);
    out.merge("router.retransmissions_suppressed", r.retransmissionsSuppressed(), Long::sum);
    out.merge("router.retransmissions_skipped_draining", r.retransmissionsSkippedDraining(), Long::sum);
    out.merge("router.nacked_upstream", r.nackedUpstream(), Long::sum);
    out.merge("router.upstream_lost", r.upstreamLost(), Long::sum);
    out.merge("router.upstream_recovered", r.upstreamRecovered(), Long::sum);
    out.merge("router.upstream_given_up", r.upstreamGivenUp(), Long::sum);
    out.merge("router.key_frame_requests_sent", r.keyFrameRequestsSent(), Long::sum);
    out.merge("router.pli_sent", r.pliSent(), Long::sum);
    out.merge("router.fir_sent", r.firSent(), Long::sum);
    out.merge("router.key_frame_requests_suppressed", r.keyFrameRequestsSuppressed(), Long::sum);
    out.merge("router.sender_reports_sent", r.senderReportsSent(), Long::sum);
    out.merge("router.receiver_reports_sent", r.receiverReportsSent(), Long::sum);
  }

  /** Server shutdown: closes every router (the peers' transports are closed by the caller). */
  void closeAll() {
    closed = true;
    for (Channel ch : channels.values().toArray(new Channel[0])) {
      close(ch);
    }
  }
}
