package dev.veil.signaling;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Objects;

/**
 * {@code connect}: the first message of a client.
 *
 * @param role what the connection does with media
 * @param channelId the channel to join, {@code [A-Za-z0-9._~:@+-]{1,255}}
 * @param metadata free JSON for the application (never shown to other clients), or {@code null}
 * @param signalingNotifyMetadata free JSON shown to the other members in {@code notify}, or {@code null}
 * @param e2ee whether the client will encrypt its media end to end
 * @param audio whether the client sends audio (only meaningful when {@code role.sends()})
 * @param video whether the client sends video (only meaningful when {@code role.sends()})
 * @param receiveMaxHeight the largest picture height the client wants to receive ({@code receive_max_height}):
 *     the server forwards it the highest simulcast layer that fits; 0 for no limit
 * @param screen whether the client wants a second video uplink for screen sharing (only with {@code role.sends()}):
 *     the server offers one more recvonly video m-line, which the client fills and empties with replaceTrack
 *     (no renegotiation), and forwards it as a track labelled {@code screen} (docs/PROTOCOL.md §1.3)
 * @param token the access token (a JWT, at most {@link #MAX_TOKEN_CHARS} characters) or {@code null}; never shown to
 *     other members and never in {@link #toString()}
 */
public record Connect(Role role, String channelId, JsonNode metadata, JsonNode signalingNotifyMetadata,
    boolean e2ee, boolean audio, boolean video, int receiveMaxHeight, boolean screen, String token)
    implements SignalingMessage {

  /** The longest {@code token} accepted. */
  public static final int MAX_TOKEN_CHARS = 4096;

  /** The largest {@code receive_max_height} accepted. */
  public static final int MAX_RECEIVE_HEIGHT = 8192;

  /** A connect without a receive height limit, a screen-share uplink or an access token. */
  public Connect(Role role, String channelId, JsonNode metadata, JsonNode signalingNotifyMetadata, boolean e2ee,
      boolean audio, boolean video) {
    this(role, channelId, metadata, signalingNotifyMetadata, e2ee, audio, video, 0, false, null);
  }

  /** A connect without a screen-share uplink or an access token. */
  public Connect(Role role, String channelId, JsonNode metadata, JsonNode signalingNotifyMetadata, boolean e2ee,
      boolean audio, boolean video, int receiveMaxHeight) {
    this(role, channelId, metadata, signalingNotifyMetadata, e2ee, audio, video, receiveMaxHeight, false, null);
  }

  /** A connect without an access token. */
  public Connect(Role role, String channelId, JsonNode metadata, JsonNode signalingNotifyMetadata, boolean e2ee,
      boolean audio, boolean video, int receiveMaxHeight, boolean screen) {
    this(role, channelId, metadata, signalingNotifyMetadata, e2ee, audio, video, receiveMaxHeight, screen, null);
  }

  public Connect {
    Objects.requireNonNull(role, "role");
    Objects.requireNonNull(channelId, "channelId");
    if (receiveMaxHeight < 0 || receiveMaxHeight > MAX_RECEIVE_HEIGHT) {
      throw new IllegalArgumentException("receiveMaxHeight must be 0.." + MAX_RECEIVE_HEIGHT);
    }
    if (token != null && token.length() > MAX_TOKEN_CHARS) {
      throw new IllegalArgumentException("token longer than " + MAX_TOKEN_CHARS + " characters");
    }
    metadata = metadata == null ? null : metadata.deepCopy();
    signalingNotifyMetadata = signalingNotifyMetadata == null ? null : signalingNotifyMetadata.deepCopy();
  }

  /** A connect with audio and video and no metadata. */
  public static Connect of(Role role, String channelId, boolean e2ee) {
    return new Connect(role, channelId, null, null, e2ee, true, true);
  }

  /** This connect carrying {@code accessToken} (or none). */
  public Connect withToken(String accessToken) {
    return new Connect(role, channelId, metadata, signalingNotifyMetadata, e2ee, audio, video, receiveMaxHeight,
        screen, accessToken);
  }

  /** The record's fields with the token redacted. */
  @Override
  public String toString() {
    return "Connect[role=" + role + ", channelId=" + channelId + ", e2ee=" + e2ee + ", audio=" + audio + ", video="
        + video + ", receiveMaxHeight=" + receiveMaxHeight + ", screen=" + screen + ", token="
        + (token == null ? "none" : "present") + "]";
  }

  @Override
  public JsonNode metadata() {
    return metadata == null ? null : metadata.deepCopy();
  }

  @Override
  public JsonNode signalingNotifyMetadata() {
    return signalingNotifyMetadata == null ? null : signalingNotifyMetadata.deepCopy();
  }

  @Override
  public String type() {
    return "connect";
  }
}
