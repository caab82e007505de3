package dev.veil.client;

import dev.veil.webrtc.rtp.RtpException;
import dev.veil.webrtc.rtp.RtpHeader;
import dev.veil.webrtc.rtp.Vp8Descriptor;
import java.io.ByteArrayOutputStream;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Reassembles the VP8 frames of received video tracks from their RTP payloads (RFC 7741): per SSRC, a frame is the
 * packets of one timestamp from one whose descriptor has S=1 and partition 0 to the one with the marker, with every
 * sequence number in between. Packets may arrive out of order — a retransmission (NACK/RTX, {@link NackTracker})
 * repairs a loss after later packets arrived — so up to {@link #MAX_PENDING} frames wait per SSRC, and frames come out
 * in order: a completed frame waits behind an older incomplete one (a decoder needs the one it refers to first), and
 * all of them come out when its last missing packet arrives. When a newer frame would exceed that, the oldest
 * incomplete frame is abandoned (dropped, counted, and reported in {@link Out#abandoned()} so that the caller can
 * ask for a key frame) and the completed ones behind it come out. A frame cannot be repaired otherwise (an encrypted
 * frame is all or nothing). A completed key frame (VP8 P bit clear; the first byte stays clear under E2EE) abandons
 * the frames waiting before it at once: it needs none of them. Frames larger than {@link #MAX_FRAME} are abandoned
 * before they grow further; packets of a frame already returned or abandoned are ignored. Sans-IO and loop-confined:
 * {@link #onPayload} returns the completed frames' (still sealed) bytes.
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

    /**
     * What one packet led to.
     *
     * @param frames the frames that came out, oldest first (empty frames are left out)
     * @param abandoned frames of the packet's SSRC given up just now (the ones after them depend on a lost frame)
     */
    record Out(List<Sealed> frames, int abandoned) {
        static final Out NONE = new Out(List.of(), 0);
    }

    /** One frame being assembled: its packets' bodies by sequence number. */
    private static final class Pending {
        final long timestamp;
        final Map<Integer, byte[]> bodies = new HashMap<>();
        int bytes;
        int first = -1;
        int last = -1;
        /** Set once complete (null for an empty frame: nothing to return, but it no longer blocks). */
        Sealed sealed;
        boolean complete;

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

    /** The frames this packet lets out (in order), and whether older frames were abandoned for it. */
    Out onPayload(RtpHeader h, byte[] payload) {
        Vp8Descriptor d;
        try {
            d = Vp8Descriptor.parse(payload, 0, payload.length);
        } catch (RtpException e) {
            return Out.NONE;
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
            return Out.NONE; // a late copy of a packet of a frame already returned or abandoned
        }
        Pending f = null;
        for (Pending p : s.pending) {
            if (p.timestamp == ts) {
                f = p;
                break;
            }
        }
        int abandoned = 0;
        if (f != null && f.complete) {
            return Out.NONE; // a late copy of a packet of a completed frame waiting behind an older one
        }
        if (f == null) {
            if (s.pending.size() >= MAX_PENDING) {
                abandon(s, s.pending.peekFirst()); // (the head is incomplete: completed heads come out at once)
                abandoned++;
            }
            f = new Pending(ts);
            s.pending.addLast(f);
        }
        int seq = h.sequenceNumber();
        int body = payload.length - d.length();
        if (f.bodies.containsKey(seq)) {
            return release(s, abandoned);
        }
        if (f.bytes + body > MAX_FRAME || f.bodies.size() >= MAX_PACKETS) {
            abandon(s, f);
            return release(s, abandoned + 1);
        }
        f.bodies.put(seq, java.util.Arrays.copyOfRange(payload, d.length(), payload.length));
        f.bytes += body;
        if (d.startOfPartition() && d.partitionId() == 0) {
            f.first = seq;
        }
        if (h.marker()) {
            f.last = seq;
        }
        if (f.first >= 0 && f.last >= 0) {
            complete(f);
            if (f.sealed != null && (f.sealed.payload()[0] & 1) == 0) {
                // a key frame (the VP8 P bit, in the clear prefix with E2EE too) needs no older frame: the
                // incomplete ones before it are abandoned now rather than hold it back
                for (Pending p; (p = s.pending.peekFirst()) != f; ) {
                    abandon(s, p);
                    abandoned++;
                }
            }
        }
        return release(s, abandoned);
    }

    /** Assembles {@code f} if every packet from its first to its last is there. */
    private static void complete(Pending f) {
        int count = ((f.last - f.first) & 0xffff) + 1;
        if (count > f.bodies.size()) {
            return; // a packet in between is still missing
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(f.bytes);
        for (int i = 0; i < count; i++) {
            byte[] b = f.bodies.get((f.first + i) & 0xffff);
            if (b == null) {
                return; // (a packet of the timestamp outside first..last took the place: wait on)
            }
            out.write(b, 0, b.length);
        }
        f.complete = true;
        f.bodies.clear();
        f.sealed = out.size() == 0 ? null : new Sealed(out.toByteArray(), f.timestamp, f.first, f.last);
    }

    private void abandon(Stream s, Pending f) {
        s.pending.remove(f);
        dropped++;
        remember(s, f.timestamp);
    }

    private static void remember(Stream s, long ts) {
        s.done.addLast(ts);
        if (s.done.size() > DONE_KEPT) {
            s.done.pollFirst();
        }
    }

    /** The completed frames at the head of the queue, out. */
    private static Out release(Stream s, int abandoned) {
        List<Sealed> out = null;
        while (!s.pending.isEmpty() && s.pending.peekFirst().complete) {
            Pending p = s.pending.pollFirst();
            remember(s, p.timestamp);
            if (p.sealed != null) {
                if (out == null) {
                    out = new ArrayList<>(2);
                }
                out.add(p.sealed);
            }
        }
        return out == null && abandoned == 0 ? Out.NONE : new Out(out == null ? List.of() : out, abandoned);
    }

    /** Forgets an SSRC (its track ended). */
    void remove(long ssrc) {
        streams.remove(ssrc);
    }

    /** Frames abandoned: pushed out while a packet was still missing, or too large. */
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
