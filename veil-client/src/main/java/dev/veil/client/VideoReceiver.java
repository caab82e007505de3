package dev.veil.client;

import dev.veil.webrtc.rtp.RtpException;
import dev.veil.webrtc.rtp.RtpHeader;
import dev.veil.webrtc.rtp.Vp8Descriptor;
import java.io.ByteArrayOutputStream;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

/**
 * Reassembles the VP8 frames of received video tracks from their RTP payloads (RFC 7741): per SSRC, a frame is the
 * packets of one timestamp from one whose descriptor has S=1 and partition 0 to the one with the marker, with every
 * sequence number in between. Packets may arrive out of order — a retransmission (NACK/RTX, {@link NackTracker})
 * repairs a loss after later packets arrived — so up to {@link #MAX_PENDING} incomplete frames wait per SSRC; a frame
 * is returned when its last missing packet arrives, and the oldest incomplete frame is dropped (counted) when a
 * newer one would exceed that. A frame cannot be repaired otherwise (an encrypted frame is all or nothing). Frames
 * larger than {@link #MAX_FRAME} are dropped before they grow further; packets of a frame already returned are
 * ignored. Sans-IO and loop-confined: {@link #onPayload} returns the completed frame's (still sealed) bytes.
 */
final class VideoReceiver {
    /** The largest frame reassembled (as {@link Connection#MAX_SCREEN_FRAME}, plus room for the E2EE overhead). */
    static final int MAX_FRAME = Connection.MAX_SCREEN_FRAME + 1024;
    /** At most this many SSRCs are tracked at once (the server forwards at most a few hundred tracks). */
    static final int MAX_STREAMS = 1024;
    /** Incomplete frames waiting for a packet, per SSRC. */
    static final int MAX_PENDING = 4;
    /** Packets of one frame at most (bounds empty-bodied packets too). */
    static final int MAX_PACKETS = 4096;
    /** Timestamps of returned frames remembered per SSRC (their late duplicates are ignored). */
    private static final int DONE_KEPT = 16;

    /** A completed, still sealed frame. */
    record Sealed(byte[] payload, long rtpTimestamp, int firstSequence, int lastSequence) {}

    /** One frame being assembled: its packets' bodies by sequence number. */
    private static final class Pending {
        final long timestamp;
        final Map<Integer, byte[]> bodies = new HashMap<>();
        int bytes;
        int first = -1;
        int last = -1;

        Pending(long timestamp) {
            this.timestamp = timestamp;
        }
    }

    private static final class Stream {
        /** Oldest first. */
        final ArrayDeque<Pending> pending = new ArrayDeque<>();
        final ArrayDeque<Long> done = new ArrayDeque<>();
    }

    private final Map<Long, Stream> streams = new HashMap<>();
    private long dropped;

    /** The frame this packet completes, or null. */
    Sealed onPayload(RtpHeader h, byte[] payload) {
        Vp8Descriptor d;
        try {
            d = Vp8Descriptor.parse(payload, 0, payload.length);
        } catch (RtpException e) {
            return null;
        }
        Stream s = streams.get(h.ssrc());
        if (s == null) {
            if (streams.size() >= MAX_STREAMS) {
                streams.clear();
            }
            s = new Stream();
            streams.put(h.ssrc(), s);
        }
        long ts = h.timestamp();
        if (s.done.contains(ts)) {
            return null; // a late copy of a packet of a frame already returned
        }
        Pending f = null;
        for (Pending p : s.pending) {
            if (p.timestamp == ts) {
                f = p;
                break;
            }
        }
        if (f == null) {
            if (s.pending.size() >= MAX_PENDING) {
                s.pending.pollFirst();
                dropped++;
            }
            f = new Pending(ts);
            s.pending.addLast(f);
        }
        int seq = h.sequenceNumber();
        int body = payload.length - d.length();
        if (f.bodies.containsKey(seq)) {
            return null;
        }
        if (f.bytes + body > MAX_FRAME || f.bodies.size() >= MAX_PACKETS) {
            s.pending.remove(f);
            dropped++;
            return null;
        }
        f.bodies.put(seq, java.util.Arrays.copyOfRange(payload, d.length(), payload.length));
        f.bytes += body;
        if (d.startOfPartition() && d.partitionId() == 0) {
            f.first = seq;
        }
        if (h.marker()) {
            f.last = seq;
        }
        if (f.first < 0 || f.last < 0) {
            return null;
        }
        int count = ((f.last - f.first) & 0xffff) + 1;
        if (count > f.bodies.size()) {
            return null; // a packet in between is still missing
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(f.bytes);
        for (int i = 0; i < count; i++) {
            byte[] b = f.bodies.get((f.first + i) & 0xffff);
            if (b == null) {
                return null; // (a packet of the timestamp outside first..last took the place: wait on)
            }
            out.write(b, 0, b.length);
        }
        s.pending.remove(f);
        s.done.addLast(ts);
        if (s.done.size() > DONE_KEPT) {
            s.done.pollFirst();
        }
        if (out.size() == 0) {
            return null;
        }
        return new Sealed(out.toByteArray(), ts, f.first, f.last);
    }

    /** Forgets an SSRC (its track ended). */
    void remove(long ssrc) {
        streams.remove(ssrc);
    }

    /** Frames dropped: pushed out while a packet was still missing, or too large. */
    long dropped() {
        return dropped;
    }

    /** Incomplete frames waiting now (all SSRCs). */
    int pending() {
        int n = 0;
        for (Iterator<Stream> it = streams.values().iterator(); it.hasNext(); ) {
            n += it.next().pending.size();
        }
        return n;
    }
}
