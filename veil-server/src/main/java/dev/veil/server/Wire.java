package dev.veil.server;

import dev.veil.signaling.ErrorMessage;
import dev.veil.signaling.SignalingCodec;
import dev.veil.signaling.SignalingMessage;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The output side of every WebSocket, on the loop: encodes messages, admits each through its socket's bounded
 * {@link Outbound} queue, accounts the writes the transport reports done, rate-limits error replies that do not
 * close the socket, and closes sockets gracefully with a hard close after {@link #CLOSE_GRACE_NANOS} for a client
 * that never completes the close handshake.
 *
 * <p>All queues together are bounded too ({@code limits.outbound_total_max_bytes}): past it the sockets with the
 * largest queues are dropped, so that the heap the queues take has one bound whatever the number of sockets.
 *
 * <p>A socket whose queue is past a bound or stalled is never written to again: the message is dropped, the socket
 * is reported to {@code onOutboundFailed} (on a fresh loop task, so that no caller sees a member vanish in the
 * middle of its loop over a channel) and, once the hub has let it leave, dropped at once ({@link WsPeer#abort}).
 */
final class Wire {
  private static final Logger LOG = LoggerFactory.getLogger(Wire.class);

  /** Time a client has to complete the close handshake before its socket is dropped. */
  static final long CLOSE_GRACE_NANOS = TimeUnit.SECONDS.toNanos(2);
  /** Error replies that keep the socket open: at most this many a second per socket, past a burst of 10. */
  static final int ERROR_REPLIES_PER_SECOND = 5;
  static final int ERROR_REPLY_BURST = 10;

  private final Scheduler clock;
  private final Stats stats;
  private final BiConsumer<Conn, Outbound.Verdict> onOutboundFailed;
  private final long totalMaxBytes;
  private final SignalingCodec codec = new SignalingCodec();
  /** Every socket not yet reported closed. */
  private final Set<Conn> open = new HashSet<>();
  /** Bytes queued to the sockets whose queue has not failed (a failed one's bytes are on their way out). */
  private long liveBytes;

  Wire(Scheduler clock, Stats stats, long totalMaxBytes, BiConsumer<Conn, Outbound.Verdict> onOutboundFailed) {
    this.clock = clock;
    this.stats = stats;
    this.totalMaxBytes = totalMaxBytes;
    this.onOutboundFailed = onOutboundFailed;
  }

  /** A connection object for a new socket, with its bounded queue and buckets. */
  Conn newConn(WsPeer ws, ServerConfig cfg) {
    ServerConfig.Guards g = cfg.guards();
    long now = clock.nowNanos();
    Conn c = new Conn(ws, ws.addressKey(),
        new Outbound(g.outboundMaxBytes(), g.outboundMaxMessages(),
            TimeUnit.SECONDS.toNanos(g.writeStallTimeoutSeconds())),
        new TokenBucket(g.signalingMessagesPerSecond(), g.signalingBurst(), now),
        new TokenBucket(ERROR_REPLIES_PER_SECOND, ERROR_REPLY_BURST, now));
    open.add(c);
    return c;
  }

  /** Queues {@code m} to {@code c}, unless its queue failed; a queue past a bound or stalled fails here. */
  void send(Conn c, SignalingMessage m) {
    if (c.outboundFailed || c.socketClosed) {
      stats.inc("signaling.messages_dropped");
      return;
    }
    sendEncoded(c, codec.encode(m));
  }

  /**
   * Sends {@code m} to each of {@code to} except {@code except} (may be null), encoded once: a join or leave in a
   * channel of N members is N - 1 identical notifies, and a join storm of N peers N² of them.
   */
  void broadcast(List<Conn> to, Conn except, SignalingMessage m) {
    String text = null;
    for (Conn o : to) {
      if (o == except) {
        continue;
      }
      if (o.outboundFailed || o.socketClosed) {
        stats.inc("signaling.messages_dropped");
        continue;
      }
      if (text == null) {
        text = codec.encode(m);
      }
      sendEncoded(o, text);
    }
  }

  /** Queues the encoded message {@code text} to {@code c} under its outbound limits (see {@link #send}). */
  private void sendEncoded(Conn c, String text) {
    int bytes = Outbound.utf8Length(text);
    if (liveBytes + bytes > totalMaxBytes) {
      shed(bytes);
      if (c.outboundFailed) {
        stats.inc("signaling.messages_dropped");
        return;
      }
    }
    Outbound.Verdict v = c.out.admit(bytes, clock.nowNanos());
    if (v != Outbound.Verdict.OK) {
      fail(c, v, null);
      stats.inc("signaling.messages_dropped");
      return;
    }
    liveBytes += bytes;
    stats.inc("signaling.messages_out");
    stats.outboundBytes.addAndGet(bytes);
    stats.outboundMessages.incrementAndGet();
    c.ws.sendText(text, () -> written(c, bytes));
  }

  /** Checks {@code c}'s queue for a stall (the keepalive tick calls it: a pong does not excuse a stalled reader). */
  boolean checkStall(Conn c) {
    if (!c.outboundFailed && c.out.stalled(clock.nowNanos())) {
      fail(c, Outbound.Verdict.STALLED, null);
      return true;
    }
    return c.outboundFailed;
  }

  /**
   * All queues together would pass their budget: drops the sockets with the largest queues (the slowest readers)
   * until {@code incoming} more bytes fit.
   */
  private void shed(int incoming) {
    while (liveBytes + incoming > totalMaxBytes) {
      Conn worst = null;
      for (Conn o : open) {
        if (!o.outboundFailed && o.out.bytes() > 0 && (worst == null || o.out.bytes() > worst.out.bytes())) {
          worst = o;
        }
      }
      if (worst == null) {
        return;
      }
      fail(worst, Outbound.Verdict.TOO_MANY_BYTES, "outbound_total");
    }
  }

  private void written(Conn c, int bytes) {
    if (!c.outboundFailed) {
      liveBytes -= bytes;
    }
    c.out.written(bytes, clock.nowNanos());
    stats.outboundBytes.addAndGet(-bytes);
    stats.outboundMessages.decrementAndGet();
  }

  private void fail(Conn c, Outbound.Verdict v, String why) {
    if (c.outboundFailed) {
      return;
    }
    c.outboundFailed = true;
    liveBytes -= c.out.bytes();
    String label = why != null ? why : switch (v) {
      case TOO_MANY_BYTES -> "outbound_bytes";
      case TOO_MANY_MESSAGES -> "outbound_messages";
      default -> "write_stall";
    };
    stats.inc("signaling.closed." + label);
    LOG.info("{} does not read: {} ({} messages, {} bytes queued); dropping it", c, label, c.out.messages(),
        c.out.bytes());
    clock.schedule(0, () -> onOutboundFailed.accept(c, v));
  }

  /** An error that closes the socket right after: always sent. */
  void sendError(Conn c, String reason) {
    stats.inc("signaling.errors_sent");
    send(c, new ErrorMessage(truncate(reason, SignalingCodec.MAX_REASON_CHARS)));
  }

  /** An error that leaves the socket open (a dropped message): sent unless this socket earns too many of them. */
  void softError(Conn c, String reason) {
    if (!c.errorBucket.tryTake(clock.nowNanos())) {
      stats.inc("signaling.errors_suppressed");
      return;
    }
    sendError(c, reason);
  }

  /**
   * Closes {@code c}'s socket: a close frame behind what is queued, and a hard close if the client has not
   * completed the close within the grace time. A socket whose queue failed is dropped at once.
   */
  void close(Conn c, int code, String reason) {
    if (c.socketClosed) {
      return;
    }
    c.ws.close(code, truncate(reason == null ? "" : reason, 120));
    if (c.outboundFailed) {
      c.ws.abort();
      return;
    }
    if (c.hardClose == null) {
      c.hardClose = clock.schedule(CLOSE_GRACE_NANOS, () -> {
        if (!c.socketClosed) {
          stats.inc("signaling.hard_closes");
          LOG.debug("{} did not complete the close within the grace time: dropped", c);
          c.ws.abort();
        }
      });
    }
  }

  /** The transport reports the socket closed. */
  void socketClosed(Conn c) {
    c.socketClosed = true;
    open.remove(c);
    if (c.hardClose != null) {
      c.hardClose.cancel();
    }
  }

  static String truncate(String s, int max) {
    return s.length() <= max ? s : s.substring(0, max);
  }
}
