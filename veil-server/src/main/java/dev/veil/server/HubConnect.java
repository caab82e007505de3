package dev.veil.server;

import dev.veil.server.Conn.Channel;
import dev.veil.server.Conn.State;
import dev.veil.server.auth.AuthWebhook;
import dev.veil.server.auth.TokenVerifier;
import dev.veil.server.auth.Verdict;
import dev.veil.server.cluster.Route;
import dev.veil.signaling.Connect;
import dev.veil.signaling.DownlinkStats;
import dev.veil.signaling.Offer;
import dev.veil.signaling.Ping;
import dev.veil.signaling.Redirect;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The hub's {@code connect}: the access token, the auth webhook, the cluster's placement (here or a
 * {@code redirect}), admission into a channel with its first offer, and then the member's timers (token expiry,
 * keepalive pings, downlink reports). Runs on the loop, called by the {@link Hub}.
 */
final class HubConnect {
  /** Logs as the hub (operators filter on that logger). */
  private static final Logger LOG = LoggerFactory.getLogger(Hub.class);

  private final Hub hub;
  private final Scheduler loop;
  private final ServerConfig cfg;
  private final Stats stats;
  private final Media media;
  private final ConnectionIds ids;
  private final Wire wire;
  private final Admission admission;
  private final TokenVerifier access;
  private final Map<String, Channel> channels;
  private final Map<String, Conn> byId;
  private final HubNegotiation negotiation;

  HubConnect(Hub hub, Scheduler loop, ServerConfig cfg, Stats stats, Media media, ConnectionIds ids, Wire wire,
      Admission admission, TokenVerifier access, Map<String, Channel> channels, Map<String, Conn> byId,
      HubNegotiation negotiation) {
    this.hub = hub;
    this.loop = loop;
    this.cfg = cfg;
    this.stats = stats;
    this.media = media;
    this.ids = ids;
    this.wire = wire;
    this.admission = admission;
    this.access = access;
    this.channels = channels;
    this.byId = byId;
    this.negotiation = negotiation;
  }

  void onConnect(Conn c, Connect m) {
    if (c.state != State.NEW || c.authorizing) {
      hub.violation(c, "connect was already sent");
      return;
    }
    Verdict verdict = access.check(m.token(), m.channelId(), m.role(), hub.wallClock.getAsLong());
    if (verdict instanceof Verdict.Refused no) {
      hub.refuse(c, no.code(), no.message());
      return;
    }
    c.tokenExpiresAtMillis = ((Verdict.Allowed) verdict).expiresAtMillis();
    m = m.withToken(null); // the token is checked once and kept nowhere (never relayed to other members)
    if (hub.webhook != null) {
      askWebhook(c, m);
      return;
    }
    place(c, m);
  }

  /**
   * In a cluster, asks where the channel lives (unless this node hosts it already): here, or a {@code redirect} to
   * the owning node's signaling URL. No answer within {@link Hub#PLACEMENT_TIMEOUT_NANOS} refuses the connect.
   */
  private void place(Conn c, Connect m) {
    boolean hostedHere = channels.containsKey(m.channelId());
    // a channel hosted here is admitted here, unless this node is full and its channels may cascade: then the
    // cluster decides (a relay node of the channel, by redirect; docs/PROTOCOL.md §1.9.3)
    if (hub.placement == null || hostedHere && (hub.cascade == null || byId.size() < cfg.maxConnections())) {
      admit(c, m);
      return;
    }
    hub.placement.place(m.channelId(), holdUntilDecided(c, Hub.PLACEMENT_TIMEOUT_NANOS, "cluster_unavailable",
        "cluster_unavailable: no routing decision in time; try again", (Route route) -> {
          if (route instanceof Route.Local) {
            admit(c, m);
          } else if (route instanceof Route.Relay r && r.relay().nodeId().equals(hub.placement.nodeId())) {
            // the owner is full: this node relays the channel (a cascade, docs/PROTOCOL.md §1.9.3)
            LOG.info("{} joins channel {} on this relay node (owner {} full)", c, m.channelId(), r.owner().nodeId());
            admitRelayed(c, m, r.lease());
          } else if (route instanceof Route.Relay r) {
            stats.inc("signaling.redirects");
            LOG.info("{} redirected to relay node {} for channel {}", c, r.relay().nodeId(), m.channelId());
            hub.send(c, new Redirect(r.relay().signalingUrl()));
            hub.leave(c, Hub.CLOSE_NORMAL, "redirect");
          } else if (route instanceof Route.Redirect r) {
            stats.inc("signaling.redirects");
            LOG.info("{} redirected to node {} for channel {}", c, r.owner().nodeId(), m.channelId());
            hub.send(c, new Redirect(r.owner().signalingUrl()));
            hub.leave(c, Hub.CLOSE_NORMAL, "redirect");
          } else if (route instanceof Route.Unavailable u) {
            hub.refuse(c, "cluster_unavailable", "cluster_unavailable: " + u.reason() + "; try again");
          }
        }));
  }

  /** Holds the connect until the auth webhook allows it; no answer within the timeout denies. */
  private void askWebhook(Conn c, Connect m) {
    hub.webhook.ask(AuthWebhook.request(m, c.address), holdUntilDecided(c,
        TimeUnit.MILLISECONDS.toNanos(cfg.auth().webhookTimeoutMillis()), "webhook_denied",
        "webhook_denied: the auth webhook did not answer in time", (Boolean allowed) -> {
          if (allowed) {
            place(c, m);
          } else {
            hub.refuse(c, "webhook_denied", "webhook_denied: the auth webhook denied this connect");
          }
        }));
  }

  /**
   * Holds a connect ({@code authorizing}) until an asynchronous decision arrives or {@code timeoutNanos} pass,
   * whichever comes first; the other is then ignored. A timeout refuses the connect with {@code reason} and {@code
   * timeoutDetail}. Returns the callback for the decision: it hands the decision to {@code decided} only while the
   * connection is open.
   */
  private <T> java.util.function.Consumer<T> holdUntilDecided(Conn c, long timeoutNanos, String reason,
      String timeoutDetail, java.util.function.Consumer<T> decided) {
    c.authorizing = true;
    Hub.cancel(c.deadline);
    boolean[] done = {false};
    Scheduler.Cancellable timer = loop.schedule(timeoutNanos, () -> {
      if (!done[0]) {
        done[0] = true;
        c.authorizing = false;
        if (c.state != State.CLOSED) {
          hub.refuse(c, reason, timeoutDetail);
        }
      }
    });
    c.deadline = timer;
    return value -> {
      if (done[0]) {
        return;
      }
      done[0] = true;
      timer.cancel();
      c.authorizing = false;
      if (c.state != State.CLOSED) {
        decided.accept(value);
      }
    };
  }

  private void admitRelayed(Conn c, Connect m, dev.veil.server.cluster.Lease ownerLease) {
    relayLease = ownerLease;
    try {
      admit(c, m);
    } finally {
      relayLease = null;
    }
  }

  /** The owner's lease while {@link #admitRelayed} admits (the channel it may create is a relay's copy). */
  private dev.veil.server.cluster.Lease relayLease;

  private void admit(Conn c, Connect m) {
    if (hub.draining()) {
      hub.refuse(c, "draining", Hub.DRAINING);
      return;
    }
    if (m.e2ee() && !cfg.e2ee()) {
      hub.refuse(c, "e2ee_disabled", "e2ee is disabled on this server (e2ee = false in the server config)");
      return;
    }
    Channel ch = channels.get(m.channelId());
    if (ch != null && ch.e2ee != m.e2ee()) {
      hub.refuse(c, "e2ee_mismatch", ch.e2ee
          ? "channel " + ch.id + " is end-to-end encrypted: connect with e2ee: true"
          : "channel " + ch.id + " is not end-to-end encrypted: connect without e2ee");
      return;
    }
    if (ch != null && ch.e2ee && !ch.keyMode.equals(m.effectiveKeyMode())) {
      hub.refuse(c, "key_mode_mismatch", "key_mode_mismatch: channel " + ch.id + " uses the '" + ch.keyMode
          + "' key mode: connect with e2ee_key_mode '" + ch.keyMode + "'");
      return;
    }
    if (ch == null && channels.size() >= cfg.maxChannels()) {
      hub.refuse(c, "too_many_channels", "too many channels");
      return;
    }
    if (ch != null && ch.members.size() >= cfg.maxConnectionsPerChannel()) {
      hub.refuse(c, "channel_full", "channel " + ch.id + " is full");
      return;
    }
    hub.releasePending(c);
    Admission.Refusal r = admission.join(c.address);
    if (r != null) {
      hub.refuse(c, r.label, r == Admission.Refusal.SERVER_FULL ? "the server is full"
          : "too many connections from your address");
      return;
    }
    c.joined = true;
    Hub.cancel(c.deadline);
    if (ch == null) {
      ch = new Channel(m.channelId(), m.e2ee(), m.effectiveKeyMode());
      channels.put(ch.id, ch);
      stats.channels.set(channels.size());
      if (hub.placement != null && relayLease != null) {
        ch.relay = true;
        ch.epoch = relayLease.epoch();
        hub.placement.relayOpened(ch.id, relayLease);
      } else if (hub.placement != null) {
        hub.placement.channelOpened(ch.id);
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
        hub.leave(c, Hub.CLOSE_GOING_AWAY, "media connection failed");
      }
    });
    c.peer.setReceiveMaxHeight(m.receiveMaxHeight(), null);
    String sdp = negotiation.offerFor(c);
    c.state = State.OFFERED;
    LOG.info("{} joins channel {} as {}{}", c, ch.id, m.role().wire(), m.e2ee() ? " (e2ee)" : "");
    // TURN servers with credentials for this connection only (TURN REST: they expire after turn.ttl_seconds)
    NetConfig.Turn turn = cfg.net().turn();
    hub.send(c, new Offer(c.id, ch.id, sdp, ch.e2ee, cfg.pingIntervalSeconds(),
        turn == null ? List.of() : List.of(turn.credentialsFor(c.id, hub.wallClock.getAsLong() / 1000))));
    negotiation.armAnswerDeadline(c);
    c.pinger = loop.schedule(Hub.seconds(cfg.pingIntervalSeconds()), () -> ping(c));
    if (hub.disconnectOnExpiry && access.tokenRequired() && c.tokenExpiresAtMillis != Long.MAX_VALUE) {
      armTokenExpiry(c);
    }
    if (m.role().receives()) {
      c.downlinkTimer = loop.schedule(Hub.seconds(1), () -> reportDownlink(c));
    }
  }

  /**
   * Disconnects {@code c} when its token expires ({@code token_expired}). The timer runs on the loop's clock; when
   * it fires the wall clock is asked again, so a wall clock that was set back re-arms the timer for the rest.
   */
  private void armTokenExpiry(Conn c) {
    long left = c.tokenExpiresAtMillis - hub.wallClock.getAsLong();
    c.tokenExpiry = loop.schedule(TimeUnit.MILLISECONDS.toNanos(Math.max(0, left) + 1), () -> {
      if (c.state == State.CLOSED) {
        return;
      }
      if (hub.wallClock.getAsLong() <= c.tokenExpiresAtMillis) {
        armTokenExpiry(c);
        return;
      }
      stats.inc("signaling.closed.token_expired");
      LOG.info("{} access token expired: disconnecting it", c);
      wire.sendError(c, "token_expired: the access token has expired");
      hub.leave(c, Hub.CLOSE_POLICY, "token expired");
    });
  }

  /** Every second: the server's view of what it sends {@code c} (docs/PROTOCOL.md), when it changed. */
  private void reportDownlink(Conn c) {
    if (c.state == State.CLOSED || c.peer == null) {
      return;
    }
    DownlinkStats d = c.peer.downlinkStats();
    if (d != null && !d.equals(c.lastDownlinkStats) && (d.estimateBps() > 0 || !d.tracks().isEmpty())) {
      hub.send(c, d);
      c.lastDownlinkStats = d;
    }
    c.downlinkTimer = loop.schedule(Hub.seconds(1), () -> reportDownlink(c));
  }

  private void ping(Conn c) {
    if (c.state == State.CLOSED || wire.checkStall(c)) {
      return;
    }
    if (c.missedPongs >= cfg.maxMissedPongs()) {
      stats.inc("signaling.ping_timeouts");
      stats.inc("signaling.closed.ping_timeout");
      hub.leave(c, Hub.CLOSE_GOING_AWAY, "no pong to " + c.missedPongs + " pings");
      return;
    }
    c.missedPongs++;
    hub.send(c, new Ping());
    c.pinger = loop.schedule(Hub.seconds(cfg.pingIntervalSeconds()), () -> ping(c));
  }
}
