package dev.veil.signaling;

import java.util.Objects;

/** {@code re-answer}: carries one SDP. */
public record ReAnswer(String sdp) implements SignalingMessage {

  public ReAnswer {
    Objects.requireNonNull(sdp, "sdp");
  }

  @Override
  public String type() {
    return "re-answer";
  }
}
