package dev.veil.server;

import java.util.HashMap;
import java.util.Map;

/**
 * Which media lane serves which channel (sans-IO; the signaling thread's). A channel is pinned to one lane for as
 * long as it has connections: its router and every transport of its members live on that lane's thread, so none of
 * them is touched by two threads. A new channel goes to the lane with the fewest connections (the lowest index on a
 * tie); when the channel's last connection leaves it is forgotten, and a later channel of the same id may land on
 * another lane.
 */
final class LanePlacement {
  private static final class Pinned {
    final int lane;
    int connections;

    Pinned(int lane) {
      this.lane = lane;
    }
  }

  private final int[] connections;
  private final Map<String, Pinned> channels = new HashMap<>();

  LanePlacement(int lanes) {
    if (lanes < 1) {
      throw new IllegalArgumentException("lanes must be at least 1");
    }
    this.connections = new int[lanes];
  }

  /** A connection joins {@code channelId}: its lane (the channel's, or a new pin for a new channel). */
  int join(String channelId) {
    Pinned p = channels.get(channelId);
    if (p == null) {
      int best = 0;
      for (int i = 1; i < connections.length; i++) {
        if (connections[i] < connections[best]) {
          best = i;
        }
      }
      p = new Pinned(best);
      channels.put(channelId, p);
    }
    p.connections++;
    connections[p.lane]++;
    return p.lane;
  }

  /** A connection of {@code channelId} left; the channel is forgotten with its last one. */
  void leave(String channelId) {
    Pinned p = channels.get(channelId);
    if (p == null) {
      return;
    }
    p.connections--;
    connections[p.lane]--;
    if (p.connections == 0) {
      channels.remove(channelId);
    }
  }

  /** The lane of a channel with connections, or -1. */
  int laneOf(String channelId) {
    Pinned p = channels.get(channelId);
    return p == null ? -1 : p.lane;
  }

  /** Connections on {@code lane}. */
  int connections(int lane) {
    return connections[lane];
  }

  /** Channels with connections. */
  int channels() {
    return channels.size();
  }
}
