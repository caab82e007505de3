package dev.veil.signaling;

import java.util.List;
import java.util.Objects;

/**
 * {@code downlink-stats}: server to client, at most about once a second and only when something changed, what the
 * server knows of the media it sends this client (docs/PROTOCOL.md §1.2): its estimate of the client's downlink and,
 * per forwarded video track, the simulcast layer it gets and the repair the server did for it.
 *
 * @param estimateBps the server's downlink estimate in bits per second (0: none, the client negotiated neither
 *     transport-cc nor goog-remb)
 * @param tracks one entry per forwarded video track (at most {@link #MAX_TRACKS})
 */
public record DownlinkStats(long estimateBps, List<Track> tracks) implements SignalingMessage {

  /** Most track entries in one message. */
  public static final int MAX_TRACKS = 256;
  /** The largest counter value (JSON numbers are exact up to 2^53). */
  public static final long MAX_COUNTER = (1L << 53) - 1;

  /**
   * One forwarded video track.
   *
   * @param trackId the track's msid id (the browser's remote MediaStreamTrack id), 1..64 characters
   * @param layer the simulcast layer it gets now (0 = lowest), -1 for a track without simulcast or none yet
   * @param switches layer switches since it started
   * @param rtxSent retransmissions sent for it (RTX or same-SSRC), answering the client's NACKs
   * @param nacksReceived sequence numbers the client NACKed
   * @param plisSent key-frame requests (PLI/FIR) the server sent the publisher on this client's behalf (its own
   *     PLI/FIR, its start and its layer switches; several subscribers' requests may share one)
   */
  public record Track(String trackId, int layer, long switches, long rtxSent, long nacksReceived, long plisSent) {
    public Track {
      Objects.requireNonNull(trackId, "trackId");
      if (trackId.isEmpty() || trackId.length() > 64) {
        throw new IllegalArgumentException("trackId must be 1..64 characters");
      }
      if (layer < -1 || layer > 7) {
        throw new IllegalArgumentException("layer must be -1..7");
      }
      for (long v : new long[] {switches, rtxSent, nacksReceived, plisSent}) {
        if (v < 0 || v > MAX_COUNTER) {
          throw new IllegalArgumentException("counters must be 0..2^53-1");
        }
      }
    }
  }

  public DownlinkStats {
    if (estimateBps < 0 || estimateBps > MAX_COUNTER) {
      throw new IllegalArgumentException("estimateBps must be 0..2^53-1");
    }
    tracks = List.copyOf(tracks);
    if (tracks.size() > MAX_TRACKS) {
      throw new IllegalArgumentException("at most " + MAX_TRACKS + " tracks");
    }
  }

  @Override
  public String type() {
    return "downlink-stats";
  }
}
