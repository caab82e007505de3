package dev.veil.server;

import dev.veil.signaling.Answer;
import dev.veil.server.auth.AuthWebhook;
import dev.veil.server.auth.TokenVerifier;
import dev.veil.server.auth.Verdict;
import dev.veil.server.cluster.ChannelPlacement;
import dev.veil.server.cluster.Route;
import dev.veil.signaling.Redirect;
import dev.veil.signaling.Connect;
import dev.veil.signaling.ConnectionInfo;
import dev.veil.signaling.Disconnect;
import dev.veil.signaling.Data;
import dev.veil.signaling.E2ee;
import dev.veil.signaling.Mls;
import dev.veil.signaling.IceRestart;
import dev.veil.signaling.Receive;
import dev.veil.signaling.Notify;
import dev.veil.signaling.Offer;
import dev.veil.signaling.DownlinkStats;
import dev.veil.signaling.Ping;
import dev.veil.signaling.Pong;
import dev.veil.signaling.ReAnswer;
import dev.veil.signaling.ReOffer;
import dev.veil.signaling.SignalingCodec;
import dev.veil.signaling.SignalingException;
import dev.veil.signaling.SignalingMessage;
import dev.veil.server.Conn.Channel;
import dev.veil.server.Conn.State;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The signaling logic: channels, connections, offer/answer, re-offers, notify, keepalive and the E2EE relay.
 * Everything here runs on the {@link EventLoop}; the WebSocket callbacks only post to it.
 */
final class Hub {
  private static final Logger LOG = LoggerFactory.getLogger(Hub.class);

  /** WebSocket close codes used by the server. */
  static final int CLOSE_NORMAL = 1000;
  static final int CLOSE_POLICY = 1008;
  static final int CLOSE_GOING_AWAY = 1001;

  /** A connection may ask for at most one ICE restart in this interval (the next is answered with an error). */
  static final long ICE_RESTART_MIN_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(2);

  private final Scheduler loop;
  private final ServerConfig cfg;
  private final Stats stats;
  private final Media media;
  private final ConnectionIds ids;
  private final Wire wire;
  private final Admission admission;
  private final E2eeRelay relay;
  private final MlsDeliveryService mls = new MlsDeliveryService();
  private Scheduler.Cancellable mlsTimer;
  private long mlsTimerAt = Long.MAX_VALUE;
  private final SignalingCodec codec = new SignalingCodec();
  private final Map<String, Channel> channels = new HashMap<>();
  private final TokenVerifier access;
  /** Wall-clock milliseconds for token expiry (tests set a manual one). */
  LongSupplier wallClock = System::currentTimeMillis;
  /** The auth webhook, or {@code null} (set by the server from {@code auth.webhook_url}; tests set a fake). */
  AuthWebhook webhook;
  /** The cluster (docs/PROTOCOL.md §1.9), or {@code null}: one process, every channel is local. */
  ChannelPlacement placement;
  /** The cascade's signaling relay (docs/PROTOCOL.md §1.9.3), or {@code null} (the default): off. */
  private HubCascade cascade;
  /** Longest a connect waits for the cluster's routing decision before it is refused. */
  static final long PLACEMENT_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(5);
  private final Map<String, Conn> byId = new HashMap<>();
  /** Sockets that have not sent connect yet, oldest first (the first to evict when the pending budget is full). */
  private final Set<Conn> pendingConns = new LinkedHashSet<>();
  private int openSockets;
  private boolean shuttingDown;
  private CompletableFuture<Void> drained;
  /**
   * Disconnect a member when its access token expires during the call ({@code auth.disconnect_on_expiry}; only
   * with tokens mandatory). Set by the server before the first socket.
   */
  boolean disconnectOnExpiry = true;
  /** The graceful drain once started ({@link #startDrain}), else null. */
  private Drain drain;
  private CompletableFuture<Drain.Reason> drainDone;
  private Scheduler.Cancellable drainTimer;
  static final String DRAINING = "draining: the server is shutting down; connect to another server";

  Hub(Scheduler loop, ServerConfig cfg, Stats stats, Media media, ConnectionIds ids) {
    this.loop = loop;
    this.cfg = cfg;
    this.stats = stats;
    this.media = media;
    this.ids = ids;
    this.wire = new Wire(loop, stats, cfg.guards().outboundTotalMaxBytes(), this::outboundFailed);
    this.admission = Admission.of(cfg);
    this.access = new TokenVerifier(cfg.auth());
    this.relay = new E2eeRelay(loop, cfg, stats, wire, byId::get, this::violation);
  }

  /** Turns the cascade's signaling relay on, on {@code bus} (before the first socket). */
  void enableCascade(dev.veil.server.cluster.ChannelBus bus) {
    cascade = new HubCascade(loop, wire, stats, bus, channels::get, byId::get, HubCascade.MAX_REMOTE_MEMBERS);
    relay.cascade = cascade;
  }

  // -------------------------------------------------------------------------------------------- socket events

  Conn opened(WsPeer ws) {
    Conn c = wire.newConn(ws, cfg);
    openSockets++;
    stats.webSockets.set(openSockets);
    stats.inc("signaling.websockets_opened");
    if (shuttingDown) {
      refuse(c, "shutting_down", "the server is shutting down");
      return c;
    }
    if (drain != null) {
      refuse(c, "draining", DRAINING);
      return c;
    }
    if (!admission.pendingAllowed(c.address)) {
      refuse(c, Admission.Refusal.PENDING_PER_ADDRESS.label,
          "too many sockets from your address that have not sent connect");
      return c;
    }
    while (admission.pendingFull() && !pendingConns.isEmpty()) {
      // The pending budget is full: the oldest socket that has not sent connect makes room, so an idle flood
      // cannot keep a client that sends connect right away out.
      refuse(pendingConns.iterator().next(), "pending_evicted",
          "closed to make room: too many sockets have not sent connect");
    }
    admission.openPending(c.address);
    c.pending = true;
    pendingConns.add(c);
    stats.pendingSockets.set(admission.pending());
    int timeout = cfg.guards().connectTimeoutSeconds();
    c.deadline = loop.schedule(seconds(timeout), () -> {
      if (c.state == State.NEW) {
        refuse(c, "connect_timeout", "no connect within " + timeout + " s");
      }
    });
    return c;
  }

  void text(Conn c, String text) {
    if (c.state == State.CLOSED) {
      return;
    }
    if (!c.inBucket.tryTake(loop.nowNanos())) {
      stats.inc("signaling.closed.rate");
      LOG.info("{} sends more than {} messages per second: closing it", c,
          cfg.guards().signalingMessagesPerSecond());
      wire.sendError(c, "more than " + cfg.guards().signalingMessagesPerSecond() + " messages per second");
      leave(c, CLOSE_POLICY, "rate limit");
      return;
    }
    try {
      dispatch(c, text);
    } catch (RuntimeException e) {
      // A bug must cost this connection only, never the loop or the other members.
      stats.inc("signaling.internal_errors");
      LOG.error("{} internal error handling a message", c, e);
      if (c.state != State.CLOSED) {
        stats.inc("signaling.closed.internal_error");
        wire.sendError(c, "internal error");
        leave(c, 1011, "internal error");
      }
    }
  }

  private void dispatch(Conn c, String text) {
    stats.inc("signaling.messages_in");
    SignalingMessage m;
    try {
      m = codec.decode(text);
    } catch (SignalingException e) {
      stats.inc("signaling.rejected." + e.reason().name().toLowerCase());
      violation(c, "bad message: " + e.getMessage());
      return;
    }
    if (m instanceof Connect connect) {
      onConnect(c, connect);
    } else if (m instanceof Answer a) {
      onAnswer(c, a.sdp(), false);
    } else if (m instanceof ReAnswer a) {
      onAnswer(c, a.sdp(), true);
    } else if (m instanceof Pong) {
      c.missedPongs = 0;
    } else if (m instanceof Ping) {
      send(c, new Pong());
    } else if (m instanceof Disconnect) {
      LOG.info("{} disconnects", c);
      leave(c, CLOSE_NORMAL, "disconnect");
    } else if (m instanceof E2ee e) {
      relay.onE2ee(c, e);
    } else if (m instanceof Data d) {
      relay.onData(c, d);
    } else if (m instanceof Mls ml) {
      onMls(c, ml);
    } else if (m instanceof IceRestart) {
      onIceRestart(c);
    } else if (m instanceof Receive r) {
      if (c.peer == null) {
        violation(c, "receive before connect");
        return;
      }
      c.peer.setReceiveMaxHeight(r.maxHeight(), r.trackId());
    } else {
      violation(c, "'" + m.type() + "' is sent by the server only");
    }
  }

  void binary(Conn c) {
    if (c.state != State.CLOSED) {
      stats.inc("signaling.rejected.binary");
      violation(c, "binary frames are not part of the signaling protocol");
    }
  }

  void tooLarge(Conn c) {
    if (c.state != State.CLOSED) {
      stats.inc("signaling.rejected.too_large");
      violation(c, "message too large: more than " + SignalingCodec.MAX_MESSAGE_CHARS + " characters");
    }
  }

  void closed(Conn c) {
    if (c.socketClosed) {
      return;
    }
    wire.socketClosed(c);
    openSockets--;
    stats.webSockets.set(openSockets);
    if (c.state != State.CLOSED) {
      LOG.info("{} closed its WebSocket", c);
      leave(c, -1, null);
    }
    if (drained != null && openSockets == 0) {
      drained.complete(null);
    }
  }

  /** The socket's outbound queue failed (past a bound, or stalled): it leaves without another word. */
  private void outboundFailed(Conn c, Outbound.Verdict v) {
    if (c.state != State.CLOSED) {
      leave(c, CLOSE_POLICY, v == Outbound.Verdict.STALLED ? "not reading (write stalled)" : "not reading (queue full)");
    } else {
      wire.close(c, CLOSE_POLICY, "not reading");
    }
  }

  // ------------------------------------------------------------------------------------------------- connect

  private void onConnect(Conn c, Connect m) {
    if (c.state != State.NEW || c.authorizing) {
      violation(c, "connect was already sent");
      return;
    }
    Verdict verdict = access.check(m.token(), m.channelId(), m.role(), wallClock.getAsLong());
    if (verdict instanceof Verdict.Refused no) {
      refuse(c, no.code(), no.message());
      return;
    }
    c.tokenExpiresAtMillis = ((Verdict.Allowed) verdict).expiresAtMillis();
    m = m.withToken(null); // the token is checked once and kept nowhere (never relayed to other members)
    if (webhook != null) {
      askWebhook(c, m);
      return;
    }
    place(c, m);
  }

  /**
   * In a cluster, asks where the channel lives (unless this node hosts it already): here, or a {@code redirect} to
   * the owning node's signaling URL. No answer within {@link #PLACEMENT_TIMEOUT_NANOS} refuses the connect.
   */
  private void place(Conn c, Connect m) {
    if (placement == null || channels.containsKey(m.channelId())) {
      admit(c, m);
      return;
    }
    c.authorizing = true;
    cancel(c.deadline);
    boolean[] decided = {false};
    Scheduler.Cancellable timer = loop.schedule(PLACEMENT_TIMEOUT_NANOS, () -> {
      if (!decided[0]) {
        decided[0] = true;
        c.authorizing = false;
        if (c.state != State.CLOSED) {
          refuse(c, "cluster_unavailable", "cluster_unavailable: no routing decision in time; try again");
        }
      }
    });
    c.deadline = timer;
    placement.place(m.channelId(), route -> {
      if (decided[0]) {
        return;
      }
      decided[0] = true;
      timer.cancel();
      c.authorizing = false;
      if (c.state == State.CLOSED) {
        return;
      }
      if (route instanceof Route.Local) {
        admit(c, m);
      } else if (route instanceof Route.Redirect r) {
        stats.inc("signaling.redirects");
        LOG.info("{} redirected to node {} for channel {}", c, r.owner().nodeId(), m.channelId());
        send(c, new Redirect(r.owner().signalingUrl()));
        leave(c, CLOSE_NORMAL, "redirect");
      } else if (route instanceof Route.Unavailable u) {
        refuse(c, "cluster_unavailable", "cluster_unavailable: " + u.reason() + "; try again");
      }
    });
  }

  static final String CHANNEL_MOVED = "channel_moved: another node of the cluster holds this channel now; reconnect";

  /**
   * This node lost the channel's lease (docs/PROTOCOL.md §1.9.4, split-brain): rather than keep a second copy of
   * the channel, every member gets {@code error channel_moved} and is closed; the SDKs reconnect and the directory
   * routes them to the lease holder.
   */
  void leaseLost(String channelId, dev.veil.server.cluster.NodeInfo owner) {
    Channel ch = channels.get(channelId);
    if (ch == null) {
      return;
    }
    stats.inc("cluster.leases_lost");
    LOG.warn("channel {} moved to node {}: sending its {} members away", channelId,
        owner == null ? "(unknown)" : owner.nodeId(), ch.members.size());
    for (Conn c : List.copyOf(ch.members.values())) {
      wire.sendError(c, CHANNEL_MOVED);
      leave(c, CLOSE_GOING_AWAY, "channel_moved");
    }
  }

  /** Holds the connect until the auth webhook allows it; no answer within the timeout denies. */
  private void askWebhook(Conn c, Connect m) {
    c.authorizing = true;
    cancel(c.deadline);
    boolean[] decided = {false};
    Scheduler.Cancellable timer = loop.schedule(TimeUnit.MILLISECONDS.toNanos(cfg.auth().webhookTimeoutMillis()),
        () -> {
          if (!decided[0]) {
            decided[0] = true;
            c.authorizing = false;
            if (c.state != State.CLOSED) {
              refuse(c, "webhook_denied", "webhook_denied: the auth webhook did not answer in time");
            }
          }
        });
    c.deadline = timer;
    webhook.ask(AuthWebhook.request(m, c.address), allowed -> {
      if (decided[0]) {
        return;
      }
      decided[0] = true;
      timer.cancel();
      c.authorizing = false;
      if (c.state == State.CLOSED) {
        return;
      }
      if (allowed) {
        place(c, m);
      } else {
        refuse(c, "webhook_denied", "webhook_denied: the auth webhook denied this connect");
      }
    });
  }

  private void admit(Conn c, Connect m) {
    if (drain != null) {
      refuse(c, "draining", DRAINING);
      return;
    }
    if (m.e2ee() && !cfg.e2ee()) {
      refuse(c, "e2ee_disabled", "e2ee is disabled on this server (e2ee = false in the server config)");
      return;
    }
    Channel ch = channels.get(m.channelId());
    if (ch != null && ch.e2ee != m.e2ee()) {
      refuse(c, "e2ee_mismatch", ch.e2ee
          ? "channel " + ch.id + " is end-to-end encrypted: connect with e2ee: true"
          : "channel " + ch.id + " is not end-to-end encrypted: connect without e2ee");
      return;
    }
    if (ch != null && ch.e2ee && !ch.keyMode.equals(m.effectiveKeyMode())) {
      refuse(c, "key_mode_mismatch", "channel " + ch.id + " uses the '" + ch.keyMode + "' key mode: connect with "
          + "e2ee_key_mode '" + ch.keyMode + "'");
      return;
    }
    if (ch == null && channels.size() >= cfg.maxChannels()) {
      refuse(c, "too_many_channels", "too many channels");
      return;
    }
    if (ch != null && ch.members.size() >= cfg.maxConnectionsPerChannel()) {
      refuse(c, "channel_full", "channel " + ch.id + " is full");
      return;
    }
    releasePending(c);
    Admission.Refusal r = admission.join(c.address);
    if (r != null) {
      refuse(c, r.label, r == Admission.Refusal.SERVER_FULL ? "the server is full"
          : "too many connections from your address");
      return;
    }
    c.joined = true;
    cancel(c.deadline);
    if (ch == null) {
      ch = new Channel(m.channelId(), m.e2ee(), m.effectiveKeyMode());
      channels.put(ch.id, ch);
      stats.channels.set(channels.size());
      if (placement != null) {
        placement.channelOpened(ch.id);
      }
    }
    c.id = ids.next();
    c.connect = m;
    c.channel = ch;
    c.e2eeBucket = new TokenBucket(cfg.e2eeMessagesPerSecond(), cfg.e2eeBurst(), loop.nowNanos());
    c.dataBucket = new TokenBucket(cfg.e2eeMessagesPerSecond(), cfg.e2eeBurst(), loop.nowNanos());
    ch.members.put(c.id, c);
    byId.put(c.id, c);
    stats.connections.set(byId.size());
    stats.inc("signaling.connects");
    c.peer = media.open(c.id, ch.id, m.role(), m.audio(), m.video(), m.screen(), () -> {
      if (c.state != State.CLOSED) {
        LOG.info("{} media failed", c);
        leave(c, CLOSE_GOING_AWAY, "media connection failed");
      }
    });
    c.peer.setReceiveMaxHeight(m.receiveMaxHeight(), null);
    String sdp = offerFor(c);
    c.state = State.OFFERED;
    LOG.info("{} joins channel {} as {}{}", c, ch.id, m.role().wire(), m.e2ee() ? " (e2ee)" : "");
    // TURN servers with credentials for this connection only (TURN REST: they expire after turn.ttl_seconds)
    NetConfig.Turn turn = cfg.net().turn();
    send(c, new Offer(c.id, ch.id, sdp, ch.e2ee, cfg.pingIntervalSeconds(),
        turn == null ? List.of() : List.of(turn.credentialsFor(c.id, wallClock.getAsLong() / 1000))));
    armAnswerDeadline(c);
    c.pinger = loop.schedule(seconds(cfg.pingIntervalSeconds()), () -> ping(c));
    if (disconnectOnExpiry && access.tokenRequired() && c.tokenExpiresAtMillis != Long.MAX_VALUE) {
      armTokenExpiry(c);
    }
    if (m.role().receives()) {
      c.downlinkTimer = loop.schedule(seconds(1), () -> reportDownlink(c));
    }
  }

  /**
   * Disconnects {@code c} when its token expires ({@code token_expired}). The timer runs on the loop's clock; when
   * it fires the wall clock is asked again, so a wall clock that was set back re-arms the timer for the rest.
   */
  private void armTokenExpiry(Conn c) {
    long left = c.tokenExpiresAtMillis - wallClock.getAsLong();
    c.tokenExpiry = loop.schedule(TimeUnit.MILLISECONDS.toNanos(Math.max(0, left) + 1), () -> {
      if (c.state == State.CLOSED) {
        return;
      }
      if (wallClock.getAsLong() <= c.tokenExpiresAtMillis) {
        armTokenExpiry(c);
        return;
      }
      stats.inc("signaling.closed.token_expired");
      LOG.info("{} access token expired: disconnecting it", c);
      wire.sendError(c, "token_expired: the access token has expired");
      leave(c, CLOSE_POLICY, "token expired");
    });
  }

  /** Every second: the server's view of what it sends {@code c} (docs/PROTOCOL.md), when it changed. */
  private void reportDownlink(Conn c) {
    if (c.state == State.CLOSED || c.peer == null) {
      return;
    }
    DownlinkStats d = c.peer.downlinkStats();
    if (d != null && !d.equals(c.lastDownlinkStats) && (d.estimateBps() > 0 || !d.tracks().isEmpty())) {
      send(c, d);
      c.lastDownlinkStats = d;
    }
    c.downlinkTimer = loop.schedule(seconds(1), () -> reportDownlink(c));
  }

  private void ping(Conn c) {
    if (c.state == State.CLOSED || wire.checkStall(c)) {
      return;
    }
    if (c.missedPongs >= cfg.maxMissedPongs()) {
      stats.inc("signaling.ping_timeouts");
      stats.inc("signaling.closed.ping_timeout");
      leave(c, CLOSE_GOING_AWAY, "no pong to " + c.missedPongs + " pings");
      return;
    }
    c.missedPongs++;
    send(c, new Ping());
    c.pinger = loop.schedule(seconds(cfg.pingIntervalSeconds()), () -> ping(c));
  }

  private void armAnswerDeadline(Conn c) {
    cancel(c.deadline);
    c.deadline = loop.schedule(seconds(cfg.signalingTimeoutSeconds()), () -> {
      if (c.state == State.OFFERED || c.reofferInFlight) {
        stats.inc("signaling.answer_timeouts");
        if (c.state != State.CLOSED) {
          stats.inc("signaling.closed.answer_timeout");
          wire.sendError(c, "no answer within " + cfg.signalingTimeoutSeconds() + " s");
          leave(c, CLOSE_POLICY, "answer timeout");
        }
      }
    });
  }

  /** A (re-)offer with the tracks {@code c} should receive now; remembers which they were. */
  private String offerFor(Conn c) {
    List<Media.Track> tracks = c.connect.role().receives() ? tracksFor(c) : List.of();
    c.offeredTracks = trackIds(tracks);
    return c.peer.offer(tracks);
  }

  private static java.util.Set<String> trackIds(List<Media.Track> tracks) {
    java.util.Set<String> ids = new java.util.HashSet<>();
    for (Media.Track t : tracks) {
      ids.add(t.id());
    }
    return ids;
  }

  /** The tracks that {@code c} should receive: every track published by the other members of its channel. */
  private List<Media.Track> tracksFor(Conn c) {
    List<Media.Track> out = new ArrayList<>();
    for (Conn o : c.channel.members.values()) {
      if (o != c && o.state == State.ACTIVE) {
        out.addAll(o.published);
      }
    }
    return out;
  }

  // ------------------------------------------------------------------------------------------ answer, re-offer

  private void onAnswer(Conn c, String sdp, boolean reAnswer) {
    boolean expected = reAnswer ? (c.state == State.ACTIVE && c.reofferInFlight) : c.state == State.OFFERED;
    if (!expected) {
      violation(c, (reAnswer ? "re-answer" : "answer") + " without a pending "
          + (reAnswer ? "re-offer" : "offer"));
      return;
    }
    List<Media.Track> tracks;
    try {
      tracks = c.peer.answer(sdp);
    } catch (Media.MediaException e) {
      stats.inc("signaling.rejected.answer");
      violation(c, "unusable " + (reAnswer ? "re-answer" : "answer") + ": " + e.getMessage());
      return;
    }
    cancel(c.deadline);
    c.deadline = null;
    if (!reAnswer) {
      c.published = List.copyOf(tracks);
      c.state = State.ACTIVE;
      announce(c);
      if (c.channel.mls()) {
        mls.onJoin(c.channel.id, c.id, nowMillis());
        flushMls();
      }
      if (!c.published.isEmpty()) {
        for (Conn o : c.channel.active()) {
          if (o != c && o.connect.role().receives()) {
            requestReoffer(o);
          }
        }
      }
    } else {
      c.reofferInFlight = false;
      stats.inc("signaling.re_answers");
    }
    // Tracks may have come or gone while the (re-)offer was out (e.g. a member published while this one had not
    // answered yet): catch up.
    if (c.reofferWanted || (c.connect.role().receives() && !trackIds(tracksFor(c)).equals(c.offeredTracks))) {
      requestReoffer(c);
    }
  }

  /** Sends {@code c} a re-offer for the current tracks of its channel, or queues one behind the pending one. */
  private void requestReoffer(Conn c) {
    if (c.state == State.OFFERED || c.reofferInFlight) {
      c.reofferWanted = true;
      return;
    }
    if (c.state != State.ACTIVE) {
      return;
    }
    c.reofferWanted = false;
    c.reofferInFlight = true;
    if (c.iceRestartWanted) {
      c.iceRestartWanted = false;
      c.peer.restartIce();
    }
    String sdp = offerFor(c);
    stats.inc("signaling.re_offers");
    send(c, new ReOffer(sdp));
    armAnswerDeadline(c);
  }

  /**
   * {@code ice-restart}: the server is ICE lite and never restarts on its own; on the client's request it makes new
   * local ICE credentials and sends them in a re-offer (behind a pending one, if any). At most one request per
   * {@link #ICE_RESTART_MIN_INTERVAL_NANOS}; more are answered with an error and dropped.
   */
  private void onIceRestart(Conn c) {
    if (c.state == State.NEW) {
      violation(c, "ice-restart before connect");
      return;
    }
    if (c.state != State.ACTIVE) {
      stats.inc("signaling.ice_restart.rejected.not_active");
      wire.softError(c, "ice-restart dropped: answer the offer first");
      return;
    }
    long now = loop.nowNanos();
    if (c.lastIceRestartNanos != null && now - c.lastIceRestartNanos < ICE_RESTART_MIN_INTERVAL_NANOS) {
      stats.inc("signaling.ice_restart.rejected.rate");
      wire.softError(c, "ice-restart dropped: at most one every "
          + TimeUnit.NANOSECONDS.toMillis(ICE_RESTART_MIN_INTERVAL_NANOS) + " ms");
      return;
    }
    c.lastIceRestartNanos = now;
    stats.inc("signaling.ice_restarts");
    LOG.info("{} asks for an ICE restart", c);
    c.iceRestartWanted = true;
    requestReoffer(c);
  }

  /** Tells the channel about the newcomer and the newcomer about the channel. */
  private void announce(Conn c) {
    List<Conn> active = c.channel.active();
    List<ConnectionInfo> existing = new ArrayList<>();
    for (Conn o : active) {
      if (o != c) {
        existing.add(new ConnectionInfo(o.id, o.connect.role(), o.connect.signalingNotifyMetadata()));
      }
    }
    int count = active.size();
    if (cascade != null) {
      existing.addAll(cascade.remoteMembers(c.channel.id));
      count += cascade.remoteCount(c.channel.id);
    }
    Notify created = new Notify(Notify.EventType.CONNECTION_CREATED, c.id, c.connect.role(),
        c.connect.signalingNotifyMetadata(), null, count);
    for (Conn o : active) {
      if (o != c) {
        send(o, created);
      }
    }
    send(c, new Notify(Notify.EventType.CONNECTION_CREATED, c.id, c.connect.role(),
        c.connect.signalingNotifyMetadata(), existing, count));
    if (cascade != null) {
      cascade.joined(c);
    }
  }

  // ----------------------------------------------------------------------------------- MLS delivery service

  /** {@code mls}: a key package, proposal or commit for the channel's MLS delivery service (docs/PROTOCOL.md §4). */
  private void onMls(Conn c, Mls m) {
    if (c.state == State.NEW) {
      violation(c, "mls before connect");
      return;
    }
    if (!c.channel.mls()) {
      stats.inc("mls.rejected.not_mls");
      violation(c, "mls messages need a channel in the 'mls' key mode");
      return;
    }
    if (!c.e2eeBucket.tryTake(loop.nowNanos())) {
      stats.inc("mls.rejected.rate");
      wire.softError(c, "mls message dropped: more than " + cfg.e2eeMessagesPerSecond() + " per second");
      return;
    }
    if (c.state != State.ACTIVE) {
      stats.inc("mls.rejected.not_active");
      wire.softError(c, "mls message dropped: answer the offer first");
      return;
    }
    String bad = mls.onMessage(c.channel.id, c.id, m, nowMillis());
    flushMls();
    if (bad != null) {
      stats.inc("mls.rejected.malformed");
      violation(c, bad);
    }
  }

  private void flushMls() {
    for (MlsDeliveryService.Send s; (s = mls.pollOutput()) != null; ) {
      Conn to = byId.get(s.to());
      if (to != null && to.state == State.ACTIVE) {
        stats.inc("mls.delivered");
        send(to, s.message());
      }
    }
    long next = mls.nextTimeoutMillis();
    if (next != mlsTimerAt) {
      cancel(mlsTimer);
      mlsTimer = null;
      mlsTimerAt = next;
      if (next != Long.MAX_VALUE) {
        long delay = Math.max(0, next - nowMillis());
        mlsTimer = loop.schedule(TimeUnit.MILLISECONDS.toNanos(delay), () -> {
          mlsTimer = null;
          mlsTimerAt = Long.MAX_VALUE;
          mls.handleTimeout(nowMillis());
          flushMls();
        });
      }
    }
  }

  private long nowMillis() {
    return TimeUnit.NANOSECONDS.toMillis(loop.nowNanos());
  }

  // --------------------------------------------------------------------------------------------------- leave

  /** Removes {@code c} from its channel, tells the others, and closes its socket ({@code code} < 0: closed). */
  private void leave(Conn c, int code, String reason) {
    if (c.state == State.CLOSED) {
      return;
    }
    boolean wasActive = c.state == State.ACTIVE;
    c.state = State.CLOSED;
    cancel(c.deadline);
    cancel(c.pinger);
    cancel(c.downlinkTimer);
    cancel(c.tokenExpiry);
    releasePending(c);
    if (c.joined) {
      c.joined = false;
      admission.releaseJoined(c.address);
    }
    if (c.peer != null) {
      c.peer.close();
    }
    if (c.id != null) {
      byId.remove(c.id);
      stats.connections.set(byId.size());
      Channel ch = c.channel;
      ch.members.remove(c.id);
      if (wasActive) {
        List<Conn> rest = ch.active();
        Notify destroyed = new Notify(Notify.EventType.CONNECTION_DESTROYED, c.id, c.connect.role(),
            c.connect.signalingNotifyMetadata(), null,
            rest.size() + (cascade == null ? 0 : cascade.remoteCount(ch.id)));
        for (Conn o : rest) {
          send(o, destroyed);
        }
        if (cascade != null) {
          cascade.left(c);
        }
        if (!c.published.isEmpty()) {
          for (Conn o : rest) {
            if (o.connect.role().receives()) {
              requestReoffer(o);
            }
          }
        }
        if (ch.mls()) {
          mls.onLeave(ch.id, c.id, nowMillis());
          flushMls();
        }
      }
      if (ch.members.isEmpty()) {
        channels.remove(ch.id);
        stats.channels.set(channels.size());
        if (placement != null) {
          placement.channelClosed(ch.id);
        }
      }
      LOG.info("{} left channel {}{}", c, ch.id, reason == null ? "" : " (" + reason + ")");
      if (drain != null) {
        drain.membersChanged(byId.size(), nowMillis());
        loop.schedule(0, this::pumpDrain); // after this leave has finished (its socket's close included)
      }
    }
    if (code >= 0) {
      if (code != CLOSE_NORMAL) {
        send(c, new Disconnect(reason));
      }
      wire.close(c, code, reason);
    }
  }

  private void releasePending(Conn c) {
    if (c.pending) {
      c.pending = false;
      pendingConns.remove(c);
      admission.releasePending(c.address);
      stats.pendingSockets.set(admission.pending());
    }
  }

  // ---------------------------------------------------------------------------------------------------- utils

  /** An error the client caused by breaking the protocol: error, then close this socket only. */
  private void violation(Conn c, String reason) {
    stats.inc("signaling.violations");
    stats.inc("signaling.closed.violation");
    LOG.info("{} protocol violation: {}", c, reason);
    sendError(c, reason);
    leave(c, CLOSE_POLICY, "protocol violation");
  }

  /** A socket or connect that cannot be accepted: error, then close; counted as {@code signaling.refused.<label>}. */
  private void refuse(Conn c, String label, String reason) {
    stats.inc("signaling.refused." + label);
    if (c.pending || label.startsWith("pending") || label.equals("shutting_down")) {
      LOG.debug("{} refused: {}", c, reason); // floods of idle sockets: counted, not logged one by one
    } else {
      LOG.info("{} refused: {}", c, reason);
    }
    wire.sendError(c, reason);
    leave(c, CLOSE_POLICY, reason);
  }

  private void sendError(Conn c, String reason) {
    wire.sendError(c, reason);
  }

  private void send(Conn c, SignalingMessage m) {
    wire.send(c, m);
  }

  private static void cancel(Scheduler.Cancellable t) {
    if (t != null) {
      t.cancel();
    }
  }

  private static long seconds(int s) {
    return TimeUnit.SECONDS.toNanos(s);
  }

  /**
   * Server shutdown: refuses new sockets, sends every member {@code disconnect {reason: "server shutting down"}}
   * and closes every socket (behind what is queued to it). The future completes once every socket has closed
   * (the hard close after {@link Wire#CLOSE_GRACE_NANOS} bounds the wait).
   */
  CompletableFuture<Void> shutdown() {
    shuttingDown = true;
    drained = new CompletableFuture<>();
    List<Conn> all = new ArrayList<>(pendingConns);
    all.addAll(byId.values());
    for (Conn c : all) {
      stats.inc("signaling.closed.shutdown");
      leave(c, CLOSE_GOING_AWAY, "server shutting down");
    }
    if (openSockets == 0) {
      drained.complete(null);
    }
    return drained;
  }

  int channelCount() {
    return channels.size();
  }

  // --------------------------------------------------------------------------------------------------- drain

  /**
   * Graceful drain ({@link Drain}): refuses new sockets and connects ({@code draining}), tells every member
   * {@code draining} with the deadline, and completes with {@link Drain.Reason#EMPTY} once the last member has left
   * or {@link Drain.Reason#TIMEOUT} at the deadline (the caller then shuts down, which disconnects the rest). A
   * second call returns the first drain's future.
   */
  CompletableFuture<Drain.Reason> startDrain(long timeoutMillis) {
    if (drain != null) {
      return drainDone;
    }
    drain = new Drain(timeoutMillis);
    drainDone = new CompletableFuture<>();
    LOG.info("draining: {} members in {} channels, deadline in {} ms", byId.size(), channels.size(), timeoutMillis);
    drain.start(byId.size(), nowMillis());
    pumpDrain();
    return drainDone;
  }

  /** True once a drain has started. */
  boolean draining() {
    return drain != null;
  }

  private void pumpDrain() {
    if (drain == null) {
      return;
    }
    for (Drain.Output o; (o = drain.pollOutput()) != null; ) {
      if (o instanceof Drain.Output.TellMembers t) {
        for (Conn c : new ArrayList<>(pendingConns)) {
          refuse(c, "draining", DRAINING); // sockets without a connect yet: go elsewhere now
        }
        for (Conn c : byId.values()) {
          send(c, new dev.veil.signaling.Draining(t.deadlineMs()));
        }
      } else if (o instanceof Drain.Output.Finish f) {
        LOG.info("drained: {}", f.reason() == Drain.Reason.EMPTY ? "no member left"
            : "deadline passed with " + byId.size() + " members");
        cancel(drainTimer);
        drainDone.complete(f.reason());
      }
    }
    if (!drain.finished()) {
      cancel(drainTimer);
      long at = drain.nextTimeoutMillis();
      // + 1 ms: the loop clock's nanoseconds truncated to milliseconds have then reached the deadline
      drainTimer = loop.schedule(TimeUnit.MILLISECONDS.toNanos(Math.max(0, at - nowMillis()) + 1), () -> {
        drain.handleTimeout(nowMillis());
        pumpDrain();
      });
    }
  }

}
