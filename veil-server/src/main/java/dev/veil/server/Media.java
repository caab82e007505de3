package dev.veil.server;

import dev.veil.signaling.Role;
import java.util.List;

/**
 * The media plane as the signaling hub drives it: one {@link Peer} (a WebRTC transport on the shared UDP port)
 * per connection, the tracks each peer publishes, and the offers that make a peer receive the tracks of others.
 * Every method runs on the event loop.
 */
interface Media {

  /** A track a connection publishes. {@code id} is unique in the server. */
  record Track(String ownerConnectionId, String id, String kind) {}

  /** Thrown for an answer the media plane cannot use. */
  final class MediaException extends Exception {
    private static final long serialVersionUID = 1L;

    MediaException(String message) {
      super(message);
    }
  }

  /** The media of one connection. */
  interface Peer {
    /**
     * An SDP offer with this peer's own send slots (if its role sends) and one sendonly m-section for each of
     * {@code receive}, in a stable order (existing m-sections keep their mid; gone tracks become inactive).
     */
    String offer(List<Track> receive);

    /** Applies the answer to the last offer; returns the tracks this peer publishes after it. */
    List<Track> answer(String sdp) throws MediaException;

    /**
     * ICE restart: new local ICE credentials, carried by the next {@link #offer}; the answer to that offer then
     * brings the client's new ones. Checks with the old credentials keep working until the first valid check
     * with the new ones, so media keeps flowing on a path that still works.
     */
    void restartIce();

    /**
     * The largest picture height this peer wants to receive (0: no limit) of the forwarded track {@code trackId},
     * or with null of every track without a preference of its own: of a simulcast track it gets the highest layer
     * that fits. Applies at once and to tracks received later.
     */
    default void setReceiveMaxHeight(int maxHeight, String trackId) {}

    /**
     * What the server knows of the media it sends this peer (its downlink estimate, and per forwarded video track
     * the layer, switches and repair), or null if nothing to report.
     */
    default dev.veil.signaling.DownlinkStats downlinkStats() {
      return null;
    }

    /** Tears down the transport and everything routed to or from it. */
    void close();
  }

  /** Creates the media of a new connection, a member of channel {@code channelId} (whose router it joins). */
  Peer open(String connectionId, String channelId, Role role, boolean audio, boolean video, Runnable onMediaFailed);

  /** As {@link #open}, with a second video uplink for screen sharing when {@code screen}. */
  default Peer open(String connectionId, String channelId, Role role, boolean audio, boolean video, boolean screen,
      Runnable onMediaFailed) {
    return open(connectionId, channelId, role, audio, video, onMediaFailed);
  }
}
