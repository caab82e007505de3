package dev.veil.client;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The counters behind {@link ReceiveStats}: one set per received track, written on the connection's loop thread
 * only (by {@link ReceiverFeedback} for packets, NACKs, RTX and PLIs, by the connection for frames) and read as a
 * snapshot from any thread. The tracks are those of the current offer ({@link #setTracks}); a track that goes adds
 * its counts to the retired total. Single writer: the fields are volatile, each write a plain store.
 */
final class ReceiveCounters {
    /** One track's counters (loop thread writes). */
    static final class Stream {
        final Track track;
        volatile long packets;
        volatile long bytes;
        volatile long lost;
        volatile long nacks;
        volatile long rtx;
        volatile long rtxRecovered;
        volatile long plis;
        volatile long framesDelivered;
        volatile long framesDropped;
        volatile long decryptFailures;

        Stream(Track track) {
            this.track = track;
        }

        ReceiveStats.Counts counts() {
            return new ReceiveStats.Counts(packets, bytes, lost, nacks, rtx, rtxRecovered, plis, framesDelivered,
                    framesDropped, decryptFailures);
        }
    }

    /** The current tracks by SSRC (offer order) and the counts of the gone ones; replaced whole by setTracks. */
    private record State(Map<Long, Stream> streams, ReceiveStats.Counts retired) {}

    private volatile State state = new State(Map.of(), ReceiveStats.Counts.ZERO);

    /** The tracks of the current offer (loop thread): new ones start at zero, gone ones are retired. */
    void setTracks(Collection<Track> tracks) {
        Map<Long, Stream> old = state.streams();
        Map<Long, Stream> now = new LinkedHashMap<>();
        for (Track t : tracks) {
            Stream s = old.get(t.ssrc());
            now.put(t.ssrc(), s != null && s.track.equals(t) ? s : new Stream(t));
        }
        ReceiveStats.Counts r = state.retired();
        for (Stream s : old.values()) {
            if (now.get(s.track.ssrc()) != s) {
                r = r.plus(s.counts());
            }
        }
        state = new State(now, r);
    }

    /** The counters of the track received on {@code ssrc}, or null. */
    Stream stream(long ssrc) {
        return state.streams().get(ssrc);
    }

    /**
     * A held audio frame of {@code connectionId} was delivered once its key arrived (loop thread): it counted as not
     * decrypted when it came, and is delivered now.
     */
    void released(String connectionId) {
        for (Stream s : state.streams().values()) {
            if (s.track.connectionId().equals(connectionId) && s.track.kind().equals("audio")) {
                s.framesDelivered++;
                s.decryptFailures = Math.max(0, s.decryptFailures - 1);
                return;
            }
        }
    }

    /** A snapshot (any thread). */
    ReceiveStats snapshot() {
        State st = state;
        ReceiveStats.Counts total = st.retired();
        List<ReceiveStats.TrackStats> tracks = new ArrayList<>();
        for (Stream s : st.streams().values()) {
            ReceiveStats.Counts c = s.counts();
            tracks.add(new ReceiveStats.TrackStats(s.track, c));
            total = total.plus(c);
        }
        return new ReceiveStats(total, tracks);
    }
}
