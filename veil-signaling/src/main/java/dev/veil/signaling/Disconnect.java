package dev.veil.signaling;

/**
 * {@code disconnect}: the sender leaves (client) or is being removed (server); the WebSocket closes after it.
 *
 * @param reason why, or {@code null}
 */
public record Disconnect(String reason) implements SignalingMessage {
  @Override
  public String type() {
    return "disconnect";
  }
}
