package dev.veil.server.cluster;

import java.util.function.Consumer;

/** What the signaling hub asks the cluster: where a connect goes, and which channels this node hosts. */
public interface ChannelPlacement {
  /**
   * Decides where a connect for {@code channelId} goes; {@code done} gets the {@link Route} later, on the hub's
   * thread.
   */
  void place(String channelId, Consumer<Route> done);

  /** This node now hosts {@code channelId} (its claim is refreshed while it lives). Hub thread. */
  void channelOpened(String channelId);

  /** The last member of {@code channelId} left: its claim is released. Hub thread. */
  void channelClosed(String channelId);

  /** This node's id in the cluster ({@link Route.Relay} names it when the connect stays here). */
  default String nodeId() {
    return "";
  }

  /**
   * This node now relays {@code channelId} (a cascade, docs/PROTOCOL.md §1.9.3) under the owner's lease
   * {@code ownerLease}: its relay record is kept while the owner's lease stays exactly that one. Hub thread.
   */
  default void relayOpened(String channelId, Lease ownerLease) { }

  /** The last member of a relayed channel left: the relay record is dropped. Hub thread. */
  default void relayClosed(String channelId) { }
}
