package dev.veil.client;

import dev.veil.webrtc.rtp.RtpException;
import dev.veil.webrtc.rtp.RtpHeader;
import dev.veil.webrtc.rtp.Vp8Descriptor;
import java.io.ByteArrayOutputStream;
import java.util.HashMap;
import java.util.Map;

/**
 * Reassembles the VP8 frames of received video tracks from their RTP payloads (RFC 7741): per SSRC, a frame starts
 * with a packet whose descriptor has S=1 and partition 0, continues with consecutive sequence numbers of the same
 * timestamp and ends with the marker. A frame with a gap, a foreign timestamp or no start is dropped whole (an
 * encrypted frame cannot be repaired), and counted. Frames larger than {@link #MAX_FRAME} are dropped before they
 * grow further. Sans-IO and loop-confined: {@link #onPayload} returns the completed frame's (still sealed) bytes.
 */
final class VideoReceiver {
    /** The largest frame reassembled (as {@link Connection#MAX_SCREEN_FRAME}, plus room for the E2EE overhead). */
    static final int MAX_FRAME = Connection.MAX_SCREEN_FRAME + 1024;
    /** At most this many SSRCs are tracked at once (the server forwards at most a few hundred tracks). */
    static final int MAX_STREAMS = 1024;

    /** A completed, still sealed frame. */
    record Sealed(byte[] payload, long rtpTimestamp, int firstSequence, int lastSequence) {}

    private static final class Assembly {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        boolean active;
        long timestamp;
        int first;
        int last;
    }

    private final Map<Long, Assembly> streams = new HashMap<>();
    private long dropped;

    /** The frame this packet completes, or null. */
    Sealed onPayload(RtpHeader h, byte[] payload) {
        Vp8Descriptor d;
        try {
            d = Vp8Descriptor.parse(payload, 0, payload.length);
        } catch (RtpException e) {
            return null;
        }
        Assembly a = streams.get(h.ssrc());
        if (a == null) {
            if (streams.size() >= MAX_STREAMS) {
                streams.clear();
            }
            a = new Assembly();
            streams.put(h.ssrc(), a);
        }
        int seq = h.sequenceNumber();
        if (d.startOfPartition() && d.partitionId() == 0) {
            if (a.active) {
                dropped++; // the previous frame never ended
            }
            a.active = true;
            a.bytes.reset();
            a.timestamp = h.timestamp();
            a.first = seq;
        } else if (!a.active || seq != ((a.last + 1) & 0xffff) || h.timestamp() != a.timestamp) {
            if (a.active) {
                dropped++;
            }
            a.active = false;
            return null;
        }
        a.last = seq;
        int body = payload.length - d.length();
        if (a.bytes.size() + body > MAX_FRAME) {
            a.active = false;
            dropped++;
            return null;
        }
        a.bytes.write(payload, d.length(), body);
        if (!h.marker()) {
            return null;
        }
        a.active = false;
        if (a.bytes.size() == 0) {
            return null;
        }
        return new Sealed(a.bytes.toByteArray(), a.timestamp, a.first, a.last);
    }

    /** Forgets an SSRC (its track ended). */
    void remove(long ssrc) {
        streams.remove(ssrc);
    }

    /** Frames dropped because a packet was missing or out of place. */
    long dropped() {
        return dropped;
    }
}
