package dev.veil.signaling;

/** {@code ping}: keepalive; the receiver answers with {@link Pong}. */
public record Ping() implements SignalingMessage {
  @Override
  public String type() {
    return "ping";
  }
}
