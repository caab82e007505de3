package dev.veil.signaling;

import java.util.Objects;

/**
 * {@code receive}: client to server, what the client wants of the video it receives, at any time after its
 * {@code answer}: the largest picture height, for one forwarded track ({@code track_id}, the track's msid id, which
 * is the id of the browser's remote MediaStreamTrack) or for every track without a preference of its own. The
 * server forwards the highest simulcast layer that fits (the top one for 0).
 *
 * @param maxHeight 0 (no limit) .. {@link Connect#MAX_RECEIVE_HEIGHT}
 * @param trackId the forwarded track, or null for the connection's default
 */
public record Receive(int maxHeight, String trackId) implements SignalingMessage {

  public Receive {
    if (maxHeight < 0 || maxHeight > Connect.MAX_RECEIVE_HEIGHT) {
      throw new IllegalArgumentException("maxHeight must be 0.." + Connect.MAX_RECEIVE_HEIGHT);
    }
    if (trackId != null && (trackId.isEmpty() || trackId.length() > 64)) {
      throw new IllegalArgumentException("trackId must be 1..64 characters");
    }
  }

  /** The connection's default for every track. */
  public static Receive all(int maxHeight) {
    return new Receive(maxHeight, null);
  }

  @Override
  public String type() {
    return "receive";
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Receive r && r.maxHeight == maxHeight && Objects.equals(r.trackId, trackId);
  }

  @Override
  public int hashCode() {
    return maxHeight * 31 + Objects.hashCode(trackId);
  }
}
