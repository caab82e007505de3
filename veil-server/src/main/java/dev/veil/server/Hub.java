package dev.veil.server;

import dev.veil.signaling.Answer;
import dev.veil.server.auth.AuthWebhook;
import dev.veil.server.auth.TokenVerifier;
import dev.veil.server.cluster.ChannelPlacement;
import dev.veil.signaling.Connect;
import dev.veil.signaling.Disconnect;
import dev.veil.signaling.Data;
import dev.veil.signaling.E2ee;
import dev.veil.signaling.Mls;
import dev.veil.signaling.IceRestart;
import dev.veil.signaling.Receive;
import dev.veil.signaling.Notify;
import dev.veil.signaling.Ping;
import dev.veil.signaling.Pong;
import dev.veil.signaling.ReAnswer;
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
 * Everything here runs on the {@link EventLoop}; the WebSocket callbacks only post to it. The hub owns the sockets,
 * the message dispatch and a member's leave; its jobs live in package-private classes: {@link HubConnect}
 * (token, auth webhook, placement, admission), {@link HubNegotiation} (offer/answer, re-offers, ICE restarts,
 * {@code notify}), {@link E2eeRelay}, {@link HubMls}, {@link HubDrain} and {@link HubCascade}.
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
  private final Wire wire;
  private final Admission admission;
  private final E2eeRelay relay;
  private final HubMls mls;
  private final HubNegotiation negotiation;
  private final HubConnect connect;
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
  HubCascade cascade;
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
  /** The graceful drain (started by {@link #startDrain}). */
  private final HubDrain drain;
  static final String DRAINING = "draining: the server is shutting down; connect to another server";

  Hub(Scheduler loop, ServerConfig cfg, Stats stats, Media media, ConnectionIds ids) {
    this.loop = loop;
    this.cfg = cfg;
    this.stats = stats;
    this.wire = new Wire(loop, stats, cfg.guards().outboundTotalMaxBytes(), this::outboundFailed);
    this.admission = Admission.of(cfg);
    this.access = new TokenVerifier(cfg.auth());
    this.relay = new E2eeRelay(loop, cfg, stats, wire, byId::get, this::violation);
    this.mls = new HubMls(this, loop, cfg, stats, wire, byId);
    this.negotiation = new HubNegotiation(this, loop, cfg, stats, wire, mls);
    this.connect = new HubConnect(this, loop, cfg, stats, media, ids, wire, admission, access, channels, byId,
        negotiation);
    this.drain = new HubDrain(this, loop, channels, byId, pendingConns);
  }

  /** Turns the cascade's signaling relay on, on {@code bus} (before the first socket). */
  void enableCascade(dev.veil.server.cluster.ChannelBus bus) {
    cascade = new HubCascade(loop, wire, stats, bus, channels::get, byId::get, HubCascade.MAX_REMOTE_MEMBERS);
    relay.cascade = cascade;
  }

  /**
   * Turns the whole cascade on (docs/PROTOCOL.md §1.9.3): the signaling relay on {@code bus} and the node links
   * keyed by {@code relaySecret}, on sockets bound to {@code bindAddress} and announced as {@code advertisedHost}.
   */
  void enableCascade(dev.veil.server.cluster.ChannelBus bus, String nodeId, byte[] relaySecret,
      java.net.InetAddress bindAddress, String advertisedHost, HubCascadeMedia.Lanes lanes,
      dev.veil.server.cluster.relay.RelayBudget.Limits budget) {
    enableCascade(bus);
    cascade.enableMedia(new HubCascadeMedia(loop, stats, nodeId, relaySecret, bindAddress, advertisedHost, lanes,
        budget, channels::get, negotiation::requestReoffer));
  }

  /**
   * This node holds the lease of a channel it hosts (a claim, or a take-over): its epoch goes on the channel's bus
   * messages from now on (docs/PROTOCOL.md §1.9.4).
   */
  void leaseHeld(String channelId, dev.veil.server.cluster.Lease lease) {
    Channel ch = channels.get(channelId);
    if (ch != null && !ch.relay && lease.nodeId().equals(placement == null ? "" : placement.nodeId())) {
      ch.epoch = Math.max(ch.epoch, lease.epoch());
      if (cascade != null) {
        cascade.setEpoch(channelId, ch.epoch);
      }
    }
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
    if (drain.draining()) {
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
      this.connect.onConnect(c, connect);
    } else if (m instanceof Answer a) {
      negotiation.onAnswer(c, a.sdp(), false);
    } else if (m instanceof ReAnswer a) {
      negotiation.onAnswer(c, a.sdp(), true);
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
      mls.onMls(c, ml);
    } else if (m instanceof IceRestart) {
      negotiation.onIceRestart(c);
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
  long nowMillis() {
    return TimeUnit.NANOSECONDS.toMillis(loop.nowNanos());
  }

  // --------------------------------------------------------------------------------------------------- leave

  /** Removes {@code c} from its channel, tells the others, and closes its socket ({@code code} < 0: closed). */
  void leave(Conn c, int code, String reason) {
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
        wire.broadcast(rest, null, destroyed);
        if (cascade != null) {
          cascade.left(c);
        }
        if (!c.published.isEmpty()) {
          for (Conn o : rest) {
            if (o.connect.role().receives()) {
              negotiation.requestReoffer(o);
            }
          }
        }
        mls.left(ch, c);
      }
      if (ch.members.isEmpty()) {
        channels.remove(ch.id);
        stats.channels.set(channels.size());
        if (placement != null) {
          if (ch.relay) {
            placement.relayClosed(ch.id);
          } else {
            placement.channelClosed(ch.id);
          }
        }
      }
      LOG.info("{} left channel {}{}", c, ch.id, reason == null ? "" : " (" + reason + ")");
      if (drain.draining()) {
        drain.membersChanged();
      }
    }
    if (code >= 0) {
      if (code != CLOSE_NORMAL) {
        send(c, new Disconnect(reason));
      }
      wire.close(c, code, reason);
    }
  }

  void releasePending(Conn c) {
    if (c.pending) {
      c.pending = false;
      pendingConns.remove(c);
      admission.releasePending(c.address);
      stats.pendingSockets.set(admission.pending());
    }
  }

  // ---------------------------------------------------------------------------------------------------- utils

  /** An error the client caused by breaking the protocol: error, then close this socket only. */
  void violation(Conn c, String reason) {
    stats.inc("signaling.violations");
    stats.inc("signaling.closed.violation");
    LOG.info("{} protocol violation: {}", c, reason);
    sendError(c, reason);
    leave(c, CLOSE_POLICY, "protocol violation");
  }

  /** A socket or connect that cannot be accepted: error, then close; counted as {@code signaling.refused.<label>}. */
  void refuse(Conn c, String label, String reason) {
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

  void send(Conn c, SignalingMessage m) {
    wire.send(c, m);
  }

  /** Sends {@code m} to every one of {@code to} but {@code except}, encoded once. */
  void broadcast(List<Conn> to, Conn except, SignalingMessage m) {
    wire.broadcast(to, except, m);
  }

  static void cancel(Scheduler.Cancellable t) {
    if (t != null) {
      t.cancel();
    }
  }

  static long seconds(int s) {
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
    if (cascade != null) {
      cascade.close();
    }
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

  /** Starts the graceful drain ({@link HubDrain#startDrain}). */
  CompletableFuture<Drain.Reason> startDrain(long timeoutMillis) {
    return drain.startDrain(timeoutMillis);
  }

  /** True once a drain has started. */
  boolean draining() {
    return drain.draining();
  }
}
