package dev.veil.client;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * What this connection received, per remote track and in total ({@link Connection#receiveStats()}): a snapshot of
 * counters that only grow while the connection lives. The total also keeps the counts of tracks that ended.
 *
 * @param total every track of the connection, ended ones included
 * @param tracks the tracks received now, in the order of the server's offer
 */
public record ReceiveStats(Counts total, List<TrackStats> tracks) {
    public ReceiveStats {
        Objects.requireNonNull(total, "total");
        tracks = List.copyOf(tracks);
    }

    /**
     * Counts of one track or of all.
     *
     * @param packetsReceived RTP packets of the stream received (originals and repaired retransmissions; duplicates,
     *     RTX padding and packets that failed SRTP are not counted)
     * @param bytesReceived their RTP sizes (header and payload, SRTP removed)
     * @param packetsLost sequence numbers found missing and not (yet) received; video only (audio is not tracked)
     * @param nacksSent sequence numbers NACKed (RFC 4585 Generic NACK; each retry counts)
     * @param rtxReceived RTX packets (RFC 4588) that carried a packet, padding excluded
     * @param rtxRecovered of those, the ones that filled a gap
     * @param plisSent Picture Loss Indications sent after a loss could not be repaired
     * @param framesDelivered frames handed to the listeners (audio or video)
     * @param framesDropped video frames never delivered: abandoned incomplete (or too large), or a delta frame while
     *     waiting for the key frame after a loss
     * @param decryptFailures frames end-to-end encryption did not open: a bad tag, a replay, a key that never came
     *     (a frame held for its key counts until the key arrives, then as delivered); 0 without E2EE
     */
    public record Counts(long packetsReceived, long bytesReceived, long packetsLost, long nacksSent, long rtxReceived,
            long rtxRecovered, long plisSent, long framesDelivered, long framesDropped, long decryptFailures) {
        public static final Counts ZERO = new Counts(0, 0, 0, 0, 0, 0, 0, 0, 0, 0);

        /** The sum of these and {@code o}. */
        public Counts plus(Counts o) {
            return new Counts(packetsReceived + o.packetsReceived, bytesReceived + o.bytesReceived,
                    packetsLost + o.packetsLost, nacksSent + o.nacksSent, rtxReceived + o.rtxReceived,
                    rtxRecovered + o.rtxRecovered, plisSent + o.plisSent, framesDelivered + o.framesDelivered,
                    framesDropped + o.framesDropped, decryptFailures + o.decryptFailures);
        }
    }

    /** The counts of one received track. */
    public record TrackStats(Track track, Counts counts) {
        public TrackStats {
            Objects.requireNonNull(track, "track");
            Objects.requireNonNull(counts, "counts");
        }
    }

    /** The stats of the track {@code kind} ("audio" or "video") of the member {@code connectionId}, if received. */
    public Optional<TrackStats> track(String connectionId, String kind) {
        return tracks.stream().filter(t -> t.track().connectionId().equals(connectionId)
                && t.track().kind().equals(kind)).findFirst();
    }
}
