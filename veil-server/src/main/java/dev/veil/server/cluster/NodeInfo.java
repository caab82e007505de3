package dev.veil.server.cluster;

import java.util.Objects;

/**
 * One veil-server node as the cluster directory lists it.
 *
 * @param nodeId the node's id (unique in the cluster)
 * @param signalingUrl where clients reach its signaling ({@code ws://HOST:PORT/signaling}); a redirect names it
 * @param mediaAddress its UDP media address ({@code HOST:PORT}), for operators and node-to-node relays
 * @param connections joined connections now (the load)
 * @param capacity most joined connections it takes ({@code limits.max_connections})
 */
public record NodeInfo(String nodeId, String signalingUrl, String mediaAddress, int connections, int capacity) {

  public NodeInfo {
    Objects.requireNonNull(nodeId, "nodeId");
    Objects.requireNonNull(signalingUrl, "signalingUrl");
    Objects.requireNonNull(mediaAddress, "mediaAddress");
    if (connections < 0 || capacity < 1) {
      throw new IllegalArgumentException("connections >= 0 and capacity >= 1");
    }
  }

  /** The share of its capacity in use, 0..1 (more when over budget). */
  public double load() {
    return (double) connections / capacity;
  }

  /** Whether it takes no more connections. */
  public boolean full() {
    return connections >= capacity;
  }

  /** This node with another load. */
  public NodeInfo withConnections(int n) {
    return new NodeInfo(nodeId, signalingUrl, mediaAddress, n, capacity);
  }
}
