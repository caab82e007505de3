package dev.veil.signaling;

import java.util.Objects;

/** {@code re-offer}: carries one SDP. */
public record ReOffer(String sdp) implements SignalingMessage {

  public ReOffer {
    Objects.requireNonNull(sdp, "sdp");
  }

  @Override
  public String type() {
    return "re-offer";
  }
}
