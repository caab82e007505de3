package dev.veil.signaling;

import java.util.Objects;

/** {@code error}: the server rejected a message; {@code reason} says why in plain words. */
public record ErrorMessage(String reason) implements SignalingMessage {

  public ErrorMessage {
    Objects.requireNonNull(reason, "reason");
  }

  @Override
  public String type() {
    return "error";
  }
}
