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
 * @param e2eeKeyMode {@code e2ee_key_mode}: how an E2EE channel agrees on keys, {@link #KEY_MODE_SENDER_KEYS} (the
 *     default when absent) or {@link #KEY_MODE_MLS}; {@code null} when not given; only with {@code e2ee}
 */
public record Connect(Role role, String channelId, JsonNode metadata, JsonNode signalingNotifyMetadata,
    boolean e2ee, boolean audio, boolean video, int receiveMaxHeight, boolean screen, String token,
    String e2eeKeyMode)
    implements SignalingMessage {

  /** The key mode of per-sender keys over pairwise channels (docs/PROTOCOL.md §3), the default. */
  public static final String KEY_MODE_SENDER_KEYS = "sender-keys";
  /** The MLS key mode (RFC 9420 + RFC 9605 §5.2, docs/PROTOCOL.md §4). */
  public static final String KEY_MODE_MLS = "mls";

  /** Whether {@code mode} is a key mode this protocol knows. */
  public static boolean isKnownKeyMode(String mode) {
    return KEY_MODE_SENDER_KEYS.equals(mode) || KEY_MODE_MLS.equals(mode);
  }

  /** A connect without an explicit key mode. */
  public Connect(Role role, String channelId, JsonNode metadata, JsonNode signalingNotifyMetadata, boolean e2ee,
      boolean audio, boolean video, int receiveMaxHeight, boolean screen, String token) {
    this(role, channelId, metadata, signalingNotifyMetadata, e2ee, audio, video, receiveMaxHeight, screen, token,
        null);
  }

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
    if (e2eeKeyMode != null && !isKnownKeyMode(e2eeKeyMode)) {
      throw new IllegalArgumentException("unknown e2ee key mode '" + e2eeKeyMode + "' (expected '"
          + KEY_MODE_SENDER_KEYS + "' or '" + KEY_MODE_MLS + "')");
    }
    if (e2eeKeyMode != null && !e2ee) {
      throw new IllegalArgumentException("an e2ee key mode needs e2ee");
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
        screen, accessToken, e2eeKeyMode);
  }

  /** This connect asking for key mode {@code mode} (which implies e2ee). */
  public Connect withKeyMode(String mode) {
    return new Connect(role, channelId, metadata, signalingNotifyMetadata, true, audio, video, receiveMaxHeight,
        screen, token, mode);
  }

  /** The key mode in effect: none without e2ee, else the given one or the default. */
  public String effectiveKeyMode() {
    if (!e2ee) {
      return null;
    }
    return e2eeKeyMode == null ? KEY_MODE_SENDER_KEYS : e2eeKeyMode;
  }

  /** The record's fields with the token redacted. */
  @Override
  public String toString() {
    return "Connect[role=" + role + ", channelId=" + channelId + ", e2ee=" + e2ee + ", audio=" + audio + ", video="
        + video + ", receiveMaxHeight=" + receiveMaxHeight + ", screen=" + screen + ", token="
        + (token == null ? "none" : "present") + (e2eeKeyMode == null ? "" : ", e2eeKeyMode=" + e2eeKeyMode) + "]";
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
