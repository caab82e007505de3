package dev.veil.server;

import java.util.HashMap;
import java.util.Map;

/**
 * Who may hold a socket (sans-IO): two separate budgets, one for WebSockets that have not sent {@code connect}
 * ("pending") and one for joined connections, each also limited per source address. An idle flood then only ever
 * fills the pending budget, and from one address only its share of it; it cannot keep an honest client from
 * joining. The hub calls {@link #openPending} when a socket opens, {@link #join} on {@code connect}, and the
 * matching release when the socket leaves that state.
 */
final class Admission {
  /** Why a socket is refused. The names are the {@code signaling.refused.*} counter labels. */
  enum Refusal {
    PENDING_PER_ADDRESS("pending_per_address"),
    SERVER_FULL("server_full"),
    CONNECTIONS_PER_ADDRESS("connections_per_address");

    final String label;

    Refusal(String label) {
      this.label = label;
    }
  }

  private final int maxPending;
  private final int maxPendingPerAddress;
  private final int maxConnections;
  private final int maxConnectionsPerAddress;
  private final Map<String, Integer> pendingByAddress = new HashMap<>();
  private final Map<String, Integer> joinedByAddress = new HashMap<>();
  private int pending;
  private int joined;

  Admission(int maxPending, int maxPendingPerAddress, int maxConnections, int maxConnectionsPerAddress) {
    this.maxPending = maxPending;
    this.maxPendingPerAddress = maxPendingPerAddress;
    this.maxConnections = maxConnections;
    this.maxConnectionsPerAddress = maxConnectionsPerAddress;
  }

  static Admission of(ServerConfig cfg) {
    ServerConfig.Guards g = cfg.guards();
    return new Admission(g.maxPendingSockets(), g.maxPendingSocketsPerAddress(), cfg.maxConnections(),
        g.maxConnectionsPerAddress());
  }

  /** True if the pending budget is full, so that a new socket needs the oldest pending one evicted first. */
  boolean pendingFull() {
    return pending >= maxPending;
  }

  /** True if {@code address} may open another pending socket. */
  boolean pendingAllowed(String address) {
    return pendingByAddress.getOrDefault(address, 0) < maxPendingPerAddress;
  }

  /** A new socket from {@code address}: counted as pending, or refused (then not counted). */
  Refusal openPending(String address) {
    if (pendingByAddress.getOrDefault(address, 0) >= maxPendingPerAddress) {
      return Refusal.PENDING_PER_ADDRESS;
    }
    pending++;
    pendingByAddress.merge(address, 1, Integer::sum);
    return null;
  }

  /** A pending socket sent connect, was refused or closed: it no longer counts as pending. */
  void releasePending(String address) {
    pending--;
    decrement(pendingByAddress, address);
  }

  /** A connect from {@code address}: counted as joined, or refused (then not counted). */
  Refusal join(String address) {
    if (joined >= maxConnections) {
      return Refusal.SERVER_FULL;
    }
    if (joinedByAddress.getOrDefault(address, 0) >= maxConnectionsPerAddress) {
      return Refusal.CONNECTIONS_PER_ADDRESS;
    }
    joined++;
    joinedByAddress.merge(address, 1, Integer::sum);
    return null;
  }

  /** A joined connection left. */
  void releaseJoined(String address) {
    joined--;
    decrement(joinedByAddress, address);
  }

  int pending() {
    return pending;
  }

  int joined() {
    return joined;
  }

  /** Addresses with a pending or joined socket (the maps never hold a zero count). */
  int addressesTracked() {
    return pendingByAddress.size() + joinedByAddress.size();
  }

  private static void decrement(Map<String, Integer> m, String address) {
    m.computeIfPresent(address, (k, v) -> v <= 1 ? null : v - 1);
  }

  /**
   * The key a source address is limited by: the IP address itself, except that an IPv6 address counts by its /64
   * (one subscriber's allocation).
   */
  static String addressKey(java.net.InetAddress a) {
    if (a instanceof java.net.Inet6Address) {
      byte[] b = a.getAddress();
      StringBuilder sb = new StringBuilder("v6:");
      for (int i = 0; i < 8; i++) {
        sb.append(String.format("%02x", b[i] & 0xff));
      }
      return sb.append("/64").toString();
    }
    return a.getHostAddress();
  }
}
