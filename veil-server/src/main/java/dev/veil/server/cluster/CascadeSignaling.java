package dev.veil.server.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.concurrent.Executor;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * The shell of {@link CascadeCoordinator} on a {@link ChannelBus} (docs/PROTOCOL.md §1.9.3): every call runs on the
 * hub's loop ({@code loop}); the bus's deliveries are handed to that loop; the coordinator's {@code Publish} outputs
 * go to the bus and everything else to {@code deliver} (remote joins and leaves to notify, messages to deliver to a
 * local member). The node listens to a channel's bus while it has a local member in it.
 */
public final class CascadeSignaling {
  private final CascadeCoordinator coordinator;
  private final ChannelBus bus;
  private final Executor loop;
  private final LongSupplier clock;
  private final Consumer<CascadeCoordinator.Output> deliver;

  public CascadeSignaling(CascadeCoordinator coordinator, ChannelBus bus, Executor loop, LongSupplier clockMillis,
      Consumer<CascadeCoordinator.Output> deliver) {
    this.coordinator = coordinator;
    this.bus = bus;
    this.loop = loop;
    this.clock = clockMillis;
    this.deliver = deliver;
  }

  /** Loop thread: a local member became active in a cascaded channel. */
  public void localJoined(String channelId, long epoch, String connectionId, String role, JsonNode metadata) {
    if (!coordinator.active(channelId)) {
      bus.subscribe(channelId, m -> loop.execute(() -> {
        coordinator.onBus(m, clock.getAsLong());
        drain();
      }));
    }
    coordinator.localJoined(channelId, epoch, connectionId, role, metadata, clock.getAsLong());
    drain();
  }

  /** Loop thread: a local member left. */
  public void localLeft(String channelId, String connectionId) {
    coordinator.localLeft(channelId, connectionId);
    drain();
    if (!coordinator.active(channelId)) {
      bus.unsubscribe(channelId);
    }
  }

  /** Loop thread: relays a stamped signaling message to remote member {@code to}; false if none has that id. */
  public boolean relayTo(String channelId, String to, String message) {
    boolean sent = coordinator.relayTo(channelId, to, message);
    drain();
    return sent;
  }

  /** Loop thread: relays a stamped broadcast {@code data} message to the channel's other nodes. */
  public boolean relayToAll(String channelId, String message) {
    boolean sent = coordinator.relayToAll(channelId, message);
    drain();
    return sent;
  }

  /** Loop thread: the channel's lease epoch, carried by every later message (docs/PROTOCOL.md §1.9.4). */
  public void setEpoch(String channelId, long epoch) {
    coordinator.setEpoch(channelId, epoch);
  }

  /** Loop thread: a media-side body ({@code link}, {@code tracks}) to the channel's other nodes. */
  public boolean publishMedia(String channelId, com.fasterxml.jackson.databind.node.ObjectNode body) {
    boolean sent = coordinator.publishMedia(channelId, body);
    drain();
    return sent;
  }

  /** Loop thread: rosters and expiries; call again at {@link #nextTimeoutMillis()}. */
  public void tick() {
    coordinator.tick(clock.getAsLong());
    drain();
  }

  /** The coordinator (queries: remote members, counts); loop thread. */
  public CascadeCoordinator coordinator() {
    return coordinator;
  }

  public long nextTimeoutMillis() {
    return coordinator.nextTimeoutMillis();
  }

  private void drain() {
    CascadeCoordinator.Output o;
    while ((o = coordinator.pollOutput()) != null) {
      if (o instanceof CascadeCoordinator.Output.Publish p) {
        try {
          bus.publish(p.channelId(), p.epoch(), p.body());
        } catch (RuntimeException e) {
          // the bus (Redis) failed: pub/sub is at-most-once anyway; the next roster repairs. (A bus refuses a
          // publish under epoch 0, the epoch not known yet: the roster once it is known repeats everything.)
        }
      } else {
        deliver.accept(o);
      }
    }
  }
}
