package dev.veil.signaling;

import java.util.Objects;

/**
 * {@code offer}: the server's SDP offer, sent once after {@code connect}.
 *
 * @param connectionId the id the server gave this connection (26 characters of base32)
 * @param channelId the channel joined
 * @param sdp the SDP offer
 * @param e2ee whether the channel is end-to-end encrypted
 * @param pingIntervalSeconds how often the server will send {@code ping}
 */
public record Offer(String connectionId, String channelId, String sdp, boolean e2ee, int pingIntervalSeconds)
    implements SignalingMessage {

  public Offer {
    Objects.requireNonNull(connectionId, "connectionId");
    Objects.requireNonNull(channelId, "channelId");
    Objects.requireNonNull(sdp, "sdp");
  }

  @Override
  public String type() {
    return "offer";
  }
}
