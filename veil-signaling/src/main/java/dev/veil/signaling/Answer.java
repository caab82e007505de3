package dev.veil.signaling;

import java.util.Objects;

/** {@code answer}: carries one SDP. */
public record Answer(String sdp) implements SignalingMessage {

  public Answer {
    Objects.requireNonNull(sdp, "sdp");
  }

  @Override
  public String type() {
    return "answer";
  }
}
