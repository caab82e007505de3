package dev.veil.server.cluster;

/** Where a connect for a channel goes ({@link ChannelRouter#route}). */
public sealed interface Route {
  /** This node owns the channel: admit the connect here. */
  record Local() implements Route { }

  /** Another live node owns the channel: answer {@code redirect} with its signaling URL. */
  record Redirect(NodeInfo owner) implements Route { }

  /**
   * The owner is at its budget: the connect goes to {@code relay}, a relay node of the channel (a cascade,
   * docs/PROTOCOL.md §1.9.3), recorded in the directory under the owner's {@code lease}. Only
   * {@link ChannelRouter#routeCascading} decides this; the hub does not serve it yet.
   */
  record Relay(NodeInfo owner, NodeInfo relay, Lease lease) implements Route { }

  /** No decision could be made (directory unreachable, claims kept racing): refuse, the client retries. */
  record Unavailable(String reason) implements Route { }
}
