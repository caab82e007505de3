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
 * @param iceServers STUN/TURN servers for the client's ICE configuration, with their (time-limited) credentials;
 *     empty when the server has none configured (then absent on the wire)
 */
public record Offer(String connectionId, String channelId, String sdp, boolean e2ee, int pingIntervalSeconds,
    java.util.List<IceServer> iceServers) implements SignalingMessage {

  /** At most this many entries in {@code ice_servers}. */
  public static final int MAX_ICE_SERVERS = 8;

  public Offer {
    Objects.requireNonNull(connectionId, "connectionId");
    Objects.requireNonNull(channelId, "channelId");
    Objects.requireNonNull(sdp, "sdp");
    iceServers = iceServers == null ? java.util.List.of() : java.util.List.copyOf(iceServers);
    if (iceServers.size() > MAX_ICE_SERVERS) {
      throw new IllegalArgumentException("more than " + MAX_ICE_SERVERS + " ICE servers");
    }
  }

  /** An offer without ICE servers. */
  public Offer(String connectionId, String channelId, String sdp, boolean e2ee, int pingIntervalSeconds) {
    this(connectionId, channelId, sdp, e2ee, pingIntervalSeconds, java.util.List.of());
  }

  @Override
  public String type() {
    return "offer";
  }
}
