package dev.veil.signaling;

/** {@code pong}: the answer to {@link Ping}. */
public record Pong() implements SignalingMessage {
  @Override
  public String type() {
    return "pong";
  }
}
