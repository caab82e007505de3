package dev.veil.server.cluster.relay;

/**
 * The budget of one node link of a cascaded channel (docs/PROTOCOL.md §1.9.3), sans-IO: how much media the other
 * node may feed into this node's router for the channel. Packets and bytes per second are token buckets (a burst of
 * one second's worth), and the tracks imported over the link are capped
 * ({@link Limits#maxTracks}, checked by the caller where the announcements arrive). A link over its budget is closed, that link
 * only: the channel, its local members and the node's other links go on. Not thread-safe: one link's thread.
 */
public final class RelayBudget {
  /** The limits of one link. */
  public record Limits(int packetsPerSecond, long bytesPerSecond, int maxTracks) {
    public Limits {
      if (packetsPerSecond < 1 || bytesPerSecond < 1 || maxTracks < 1) {
        throw new IllegalArgumentException("relay budget: every limit >= 1");
      }
    }

    /**
     * The default: 5,000 packets and 5 MB per second (a few dozen publishers' audio and simulcast video, far above
     * what one channel's members publish), 64 tracks.
     */
    public static Limits defaults() {
      return new Limits(5_000, 5_000_000, 64);
    }
  }

  private final Limits limits;
  private double packets;
  private double bytes;
  private long last;
  private String exceeded;

  public RelayBudget(Limits limits, long nowMillis) {
    this.limits = java.util.Objects.requireNonNull(limits, "limits");
    this.packets = limits.packetsPerSecond();
    this.bytes = limits.bytesPerSecond();
    this.last = nowMillis;
  }

  public Limits limits() {
    return limits;
  }

  /**
   * One packet of {@code len} bytes from the link: true if it fits the budget. Once a packet did not fit the link is
   * over budget for good ({@link #exceeded()}); the caller closes it.
   */
  public boolean admit(int len, long nowMillis) {
    if (exceeded != null) {
      return false;
    }
    long dt = Math.max(0, nowMillis - last);
    last = Math.max(last, nowMillis);
    packets = Math.min(limits.packetsPerSecond(), packets + dt * limits.packetsPerSecond() / 1000.0);
    bytes = Math.min(limits.bytesPerSecond(), bytes + dt * limits.bytesPerSecond() / 1000.0);
    if (packets < 1) {
      exceeded = "more than " + limits.packetsPerSecond() + " packets per second";
      return false;
    }
    if (bytes < len) {
      exceeded = "more than " + limits.bytesPerSecond() + " bytes per second";
      return false;
    }
    packets -= 1;
    bytes -= len;
    return true;
  }

  /** Why the link went over its budget, or null. */
  public String exceeded() {
    return exceeded;
  }
}
