package dev.veil.server;

import dev.veil.server.Conn.State;
import dev.veil.signaling.ConnectionInfo;
import dev.veil.signaling.Notify;
import dev.veil.signaling.ReOffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The hub's offer/answer plumbing: the answer deadline, which tracks each member is offered, answers and
 * re-answers, re-offers when tracks come or go, ICE restarts, and the {@code notify} that announces a newcomer.
 * Runs on the loop, called by the {@link Hub}.
 */
final class HubNegotiation {
  /** Logs as the hub (operators filter on that logger). */
  private static final Logger LOG = LoggerFactory.getLogger(Hub.class);

  private final Hub hub;
  private final Scheduler loop;
  private final ServerConfig cfg;
  private final Stats stats;
  private final Wire wire;
  private final HubMls mls;

  HubNegotiation(Hub hub, Scheduler loop, ServerConfig cfg, Stats stats, Wire wire, HubMls mls) {
    this.hub = hub;
    this.loop = loop;
    this.cfg = cfg;
    this.stats = stats;
    this.wire = wire;
    this.mls = mls;
  }

  void armAnswerDeadline(Conn c) {
    Hub.cancel(c.deadline);
    c.deadline = loop.schedule(Hub.seconds(cfg.signalingTimeoutSeconds()), () -> {
      if (c.state == State.OFFERED || c.reofferInFlight) {
        stats.inc("signaling.answer_timeouts");
        if (c.state != State.CLOSED) {
          stats.inc("signaling.closed.answer_timeout");
          wire.sendError(c, "no answer within " + cfg.signalingTimeoutSeconds() + " s");
          hub.leave(c, Hub.CLOSE_POLICY, "answer timeout");
        }
      }
    });
  }

  /** A (re-)offer with the tracks {@code c} should receive now; remembers which they were. */
  String offerFor(Conn c) {
    List<Media.Track> tracks = c.connect.role().receives() ? tracksFor(c) : List.of();
    c.offeredTracks = trackIds(tracks);
    return c.peer.offer(tracks);
  }

  static java.util.Set<String> trackIds(List<Media.Track> tracks) {
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
    if (hub.cascade != null) {
      out.addAll(hub.cascade.remoteTracks(c.channel.id)); // members of other nodes (a cascade, §1.9.3)
    }
    return out;
  }

  // ------------------------------------------------------------------------------------------ answer, re-offer

  void onAnswer(Conn c, String sdp, boolean reAnswer) {
    boolean expected = reAnswer ? (c.state == State.ACTIVE && c.reofferInFlight) : c.state == State.OFFERED;
    if (!expected) {
      hub.violation(c, (reAnswer ? "re-answer" : "answer") + " without a pending "
          + (reAnswer ? "re-offer" : "offer"));
      return;
    }
    List<Media.Track> tracks;
    try {
      tracks = c.peer.answer(sdp);
    } catch (Media.MediaException e) {
      stats.inc("signaling.rejected.answer");
      hub.violation(c, "unusable " + (reAnswer ? "re-answer" : "answer") + ": " + e.getMessage());
      return;
    }
    Hub.cancel(c.deadline);
    c.deadline = null;
    if (!reAnswer) {
      c.published = List.copyOf(tracks);
      c.state = State.ACTIVE;
      announce(c);
      mls.joined(c);
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
  void requestReoffer(Conn c) {
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
    hub.send(c, new ReOffer(sdp));
    armAnswerDeadline(c);
  }

  /**
   * {@code ice-restart}: the server is ICE lite and never restarts on its own; on the client's request it makes new
   * local ICE credentials and sends them in a re-offer (behind a pending one, if any). At most one request per
   * {@link Hub#Hub.ICE_RESTART_MIN_INTERVAL_NANOS}; more are answered with an error and dropped.
   */
  void onIceRestart(Conn c) {
    if (c.state == State.NEW) {
      hub.violation(c, "ice-restart before connect");
      return;
    }
    if (c.state != State.ACTIVE) {
      stats.inc("signaling.ice_restart.rejected.not_active");
      wire.softError(c, "ice-restart dropped: answer the offer first");
      return;
    }
    long now = loop.nowNanos();
    if (c.lastIceRestartNanos != null && now - c.lastIceRestartNanos < Hub.ICE_RESTART_MIN_INTERVAL_NANOS) {
      stats.inc("signaling.ice_restart.rejected.rate");
      wire.softError(c, "ice-restart dropped: at most one every "
          + TimeUnit.NANOSECONDS.toMillis(Hub.ICE_RESTART_MIN_INTERVAL_NANOS) + " ms");
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
    if (hub.cascade != null) {
      existing.addAll(hub.cascade.remoteMembers(c.channel.id));
      count += hub.cascade.remoteCount(c.channel.id);
    }
    Notify created = new Notify(Notify.EventType.CONNECTION_CREATED, c.id, c.connect.role(),
        c.connect.signalingNotifyMetadata(), null, count);
    hub.broadcast(active, c, created);
    hub.send(c, new Notify(Notify.EventType.CONNECTION_CREATED, c.id, c.connect.role(),
        c.connect.signalingNotifyMetadata(), existing, count));
    if (hub.cascade != null) {
      hub.cascade.joined(c);
    }
  }
}
