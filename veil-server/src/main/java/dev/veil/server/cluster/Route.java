package dev.veil.server.cluster;

/** Where a connect for a channel goes ({@link ChannelRouter#route}). */
public sealed interface Route {
  /** This node owns the channel: admit the connect here. */
  record Local() implements Route { }

  /** Another live node owns the channel: answer {@code redirect} with its signaling URL. */
  record Redirect(NodeInfo owner) implements Route { }

  /** No decision could be made (directory unreachable, claims kept racing): refuse, the client retries. */
  record Unavailable(String reason) implements Route { }
}
