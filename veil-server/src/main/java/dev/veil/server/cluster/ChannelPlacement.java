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
}
