package dev.veil.server;

import dev.veil.server.Conn.State;
import dev.veil.signaling.Data;
import dev.veil.signaling.E2ee;
import java.util.function.BiConsumer;
import java.util.function.Function;

/**
 * The E2EE relay (docs/PROTOCOL.md §1.4): checks a client's {@code e2ee} message and delivers it, stamped with the
 * true sender, to the one addressee in the same channel; and the data relay (§1.7): a client's {@code data} message,
 * stamped likewise, to its addressee or to every other active member. The server never reads either payload (in an
 * E2EE channel both are ciphertext). Runs on the loop, called by the {@link Hub}.
 */
final class E2eeRelay {
  /** Largest decoded {@code data} payload: a chat message or small app state, never a file transfer. */
  static final int DATA_PAYLOAD_MAX_BYTES = 16 * 1024;

  private final Scheduler clock;
  private final ServerConfig cfg;
  private final Stats stats;
  private final Wire wire;
  private final Function<String, Conn> members;
  private final BiConsumer<Conn, String> violation;
  /** The cascade (messages to members of other nodes), or null. */
  HubCascade cascade;

  E2eeRelay(Scheduler clock, ServerConfig cfg, Stats stats, Wire wire, Function<String, Conn> members,
      BiConsumer<Conn, String> violation) {
    this.clock = clock;
    this.cfg = cfg;
    this.stats = stats;
    this.wire = wire;
    this.members = members;
    this.violation = violation;
  }

  void onE2ee(Conn c, E2ee m) {
    if (m.to() == null) {
      violation.accept(c, "an e2ee message from a client must have 'to', not 'from'");
      return;
    }
    if (c.state == State.NEW) {
      violation.accept(c, "e2ee before connect");
      return;
    }
    if (!c.connect.e2ee()) {
      stats.inc("e2ee.rejected.not_e2ee");
      violation.accept(c, "e2ee messages need a connection made with e2ee: true");
      return;
    }
    if (m.payloadLength() > cfg.e2eePayloadMaxBytes()) {
      stats.inc("e2ee.rejected.too_large");
      violation.accept(c, "e2ee payload of " + m.payloadLength() + " bytes exceeds " + cfg.e2eePayloadMaxBytes());
      return;
    }
    if (!c.e2eeBucket.tryTake(clock.nowNanos())) {
      stats.inc("e2ee.rejected.rate");
      wire.softError(c, "e2ee message dropped: more than " + cfg.e2eeMessagesPerSecond() + " per second");
      return;
    }
    if (c.state != State.ACTIVE) {
      stats.inc("e2ee.rejected.not_active");
      wire.softError(c, "e2ee message dropped: answer the offer first");
      return;
    }
    Conn to = members.apply(m.to());
    if (to == c) {
      stats.inc("e2ee.rejected.self");
      wire.softError(c, "e2ee message dropped: addressed to the sender");
      return;
    }
    if (to == null && cascade != null && cascade.relayTo(c, m.to(), m.stampedFrom(c.id))) {
      stats.inc("e2ee.relayed");
      return;
    }
    if (to == null || to.channel != c.channel || to.state != State.ACTIVE) {
      stats.inc("e2ee.rejected.no_destination");
      wire.softError(c, "e2ee message dropped: " + m.to() + " is not connected in channel " + c.channel.id);
      return;
    }
    stats.inc("e2ee.relayed");
    wire.send(to, m.stampedFrom(c.id));
  }

  void onData(Conn c, Data m) {
    if (m.from() != null) {
      violation.accept(c, "a data message from a client must not have 'from'");
      return;
    }
    if (c.state == State.NEW) {
      violation.accept(c, "data before connect");
      return;
    }
    if (m.payloadLength() > DATA_PAYLOAD_MAX_BYTES) {
      stats.inc("data.rejected.too_large");
      violation.accept(c, "data payload of " + m.payloadLength() + " bytes exceeds " + DATA_PAYLOAD_MAX_BYTES);
      return;
    }
    if (!c.dataBucket.tryTake(clock.nowNanos())) {
      stats.inc("data.rejected.rate");
      wire.softError(c, "data message dropped: more than " + cfg.e2eeMessagesPerSecond() + " per second");
      return;
    }
    if (c.state != State.ACTIVE) {
      stats.inc("data.rejected.not_active");
      wire.softError(c, "data message dropped: answer the offer first");
      return;
    }
    Data out = m.stampedFrom(c.id);
    if (m.to() != null) {
      Conn to = members.apply(m.to());
      if (to == null && cascade != null && cascade.relayTo(c, m.to(), out)) {
        stats.inc("data.relayed");
        return;
      }
      if (to == c || to == null || to.channel != c.channel || to.state != State.ACTIVE) {
        stats.inc("data.rejected.no_destination");
        wire.softError(c, "data message dropped: " + m.to() + " is not another member of channel " + c.channel.id);
        return;
      }
      stats.inc("data.relayed");
      wire.send(to, out);
      return;
    }
    for (Conn to : c.channel.active()) {
      if (to != c) {
        stats.inc("data.relayed");
        wire.send(to, out);
      }
    }
    if (cascade != null) {
      cascade.relayToAll(c, out);
    }
  }
}
