package dev.veil.server;

import dev.veil.server.Conn.Channel;
import dev.veil.server.Conn.State;
import dev.veil.signaling.Mls;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The hub's side of the MLS delivery service (docs/PROTOCOL.md §4): checks a member's {@code mls} message, feeds
 * joins and leaves of channels in the 'mls' key mode to the {@link MlsDeliveryService}, delivers what it sends and
 * runs its timer. Runs on the loop, called by the {@link Hub}.
 */
final class HubMls {
  private final Hub hub;
  private final Scheduler loop;
  private final ServerConfig cfg;
  private final Stats stats;
  private final Wire wire;
  private final Map<String, Conn> byId;
  private final MlsDeliveryService service = new MlsDeliveryService();
  private Scheduler.Cancellable mlsTimer;
  private long mlsTimerAt = Long.MAX_VALUE;

  HubMls(Hub hub, Scheduler loop, ServerConfig cfg, Stats stats, Wire wire, Map<String, Conn> byId) {
    this.hub = hub;
    this.loop = loop;
    this.cfg = cfg;
    this.stats = stats;
    this.wire = wire;
    this.byId = byId;
  }

  /** {@code c} became active: a member of the group if its channel is in the 'mls' key mode. */
  void joined(Conn c) {
    if (c.channel.mls()) {
      service.onJoin(c.channel.id, c.id, nowMillis());
      flush();
    }
  }

  /** Active member {@code c} left {@code ch}. */
  void left(Channel ch, Conn c) {
    if (ch.mls()) {
      service.onLeave(ch.id, c.id, nowMillis());
      flush();
    }
  }

  /** {@code mls}: a key package, proposal or commit for the channel's MLS delivery service (docs/PROTOCOL.md §4). */
  void onMls(Conn c, Mls m) {
    if (c.state == State.NEW) {
      hub.violation(c, "mls before connect");
      return;
    }
    if (!c.channel.mls()) {
      stats.inc("mls.rejected.not_mls");
      hub.violation(c, "mls messages need a channel in the 'mls' key mode");
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
    String bad = service.onMessage(c.channel.id, c.id, m, nowMillis());
    flush();
    if (bad != null) {
      stats.inc("mls.rejected.malformed");
      hub.violation(c, bad);
    }
  }

  private void flush() {
    for (MlsDeliveryService.Send s; (s = service.pollOutput()) != null; ) {
      Conn to = byId.get(s.to());
      if (to != null && to.state == State.ACTIVE) {
        stats.inc("mls.delivered");
        hub.send(to, s.message());
      }
    }
    long next = service.nextTimeoutMillis();
    if (next != mlsTimerAt) {
      Hub.cancel(mlsTimer);
      mlsTimer = null;
      mlsTimerAt = next;
      if (next != Long.MAX_VALUE) {
        long delay = Math.max(0, next - nowMillis());
        mlsTimer = loop.schedule(TimeUnit.MILLISECONDS.toNanos(delay), () -> {
          mlsTimer = null;
          mlsTimerAt = Long.MAX_VALUE;
          service.handleTimeout(nowMillis());
          flush();
        });
      }
    }
  }

  private long nowMillis() {
    return TimeUnit.NANOSECONDS.toMillis(loop.nowNanos());
  }
}
