package dev.veil.server;

import dev.veil.server.Conn.Channel;
import java.util.ArrayList;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The hub's graceful drain: runs a {@link Drain} on the loop's clock and acts on its output. */
final class HubDrain {
  /** Logs as the hub (operators filter on that logger). */
  private static final Logger LOG = LoggerFactory.getLogger(Hub.class);

  private final Hub hub;
  private final Scheduler loop;
  private final Map<String, Channel> channels;
  private final Map<String, Conn> byId;
  private final Set<Conn> pendingConns;
  /** The graceful drain once started ({@link #startDrain}), else null. */
  private Drain drain;
  private CompletableFuture<Drain.Reason> drainDone;
  private Scheduler.Cancellable drainTimer;

  HubDrain(Hub hub, Scheduler loop, Map<String, Channel> channels, Map<String, Conn> byId, Set<Conn> pendingConns) {
    this.hub = hub;
    this.loop = loop;
    this.channels = channels;
    this.byId = byId;
    this.pendingConns = pendingConns;
  }

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
          hub.refuse(c, "draining", Hub.DRAINING); // sockets without a connect yet: go elsewhere now
        }
        for (Conn c : byId.values()) {
          hub.send(c, new dev.veil.signaling.Draining(t.deadlineMs()));
        }
      } else if (o instanceof Drain.Output.Finish f) {
        LOG.info("drained: {}", f.reason() == Drain.Reason.EMPTY ? "no member left"
            : "deadline passed with " + byId.size() + " members");
        Hub.cancel(drainTimer);
        drainDone.complete(f.reason());
      }
    }
    if (!drain.finished()) {
      Hub.cancel(drainTimer);
      long at = drain.nextTimeoutMillis();
      // + 1 ms: the loop clock's nanoseconds truncated to milliseconds have then reached the deadline
      drainTimer = loop.schedule(TimeUnit.MILLISECONDS.toNanos(Math.max(0, at - nowMillis()) + 1), () -> {
        drain.handleTimeout(nowMillis());
        pumpDrain();
      });
    }
  }

  /** A member left (called while draining). */
  void membersChanged() {
    drain.membersChanged(byId.size(), nowMillis());
    loop.schedule(0, this::pumpDrain); // after this leave has finished (its socket's close included)
  }

  private long nowMillis() {
    return TimeUnit.NANOSECONDS.toMillis(loop.nowNanos());
  }
}
