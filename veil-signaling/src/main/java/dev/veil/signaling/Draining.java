package dev.veil.signaling;

/**
 * {@code draining}: server to client, the server is shutting down gracefully (docs/PROTOCOL.md §1.10). It accepts no
 * new connects; the member may stay until the deadline, after which the server disconnects it ({@code disconnect}
 * {@code "server shutting down"}). A client should reconnect (to another node, or the same address behind a load
 * balancer that has taken this node out) before then.
 *
 * @param deadlineMs milliseconds from this message until the server closes the connections still open
 */
public record Draining(long deadlineMs) implements SignalingMessage {
  /** The largest deadline a server announces (a day). */
  public static final long MAX_DEADLINE_MS = 86_400_000L;

  public Draining {
    if (deadlineMs < 0 || deadlineMs > MAX_DEADLINE_MS) {
      throw new IllegalArgumentException("deadline_ms must be 0.." + MAX_DEADLINE_MS);
    }
  }

  @Override
  public String type() {
    return "draining";
  }
}
