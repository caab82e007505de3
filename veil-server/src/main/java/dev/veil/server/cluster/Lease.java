package dev.veil.server.cluster;

import java.util.Objects;

/**
 * A node's lease on a channel (docs/PROTOCOL.md §1.9.4): the owning node and the fencing token of this ownership.
 * Every claim or take-over of a channel gets the next {@code epoch} from the directory (atomically), so two leases
 * of one channel never compare equal even when the same node owns it twice; a refresh or release names the whole
 * lease and fails once another lease replaced it.
 *
 * @param nodeId the owning node
 * @param epoch the fencing token, from 1, increasing with every change of ownership of the channel
 */
public record Lease(String nodeId, long epoch) {
  public Lease {
    Objects.requireNonNull(nodeId, "nodeId");
    if (epoch < 1) {
      throw new IllegalArgumentException("a lease epoch is >= 1");
    }
  }

  /** The directory's value of this lease: {@code "<nodeId> <epoch>"} (node ids have no spaces). */
  String encode() {
    return nodeId + " " + epoch;
  }

  /** A directory value back into a lease, or null if it is not one. */
  static Lease decode(String v) {
    if (v == null) {
      return null;
    }
    int sp = v.lastIndexOf(' ');
    if (sp <= 0) {
      return null;
    }
    try {
      long e = Long.parseLong(v.substring(sp + 1));
      return e >= 1 ? new Lease(v.substring(0, sp), e) : null;
    } catch (NumberFormatException ex) {
      return null;
    }
  }
}
