package dev.veil.webrtc.router;

import dev.veil.webrtc.rtp.HeaderExtension;
import dev.veil.webrtc.rtp.RtpHeader;
import dev.veil.webrtc.rtp.RtpPacket;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * One subscriber's copy of a {@link Producer} (mediasoup's simple Consumer). It sends with its own SSRC and payload
 * type and rewrites sequence numbers and timestamps so that the subscriber sees one continuous stream across pauses
 * and producer switches:
 *
 * <pre>
 *   out_seq = in_seq + seqOffset   (mod 2^16)      out_ts = in_ts + tsOffset   (mod 2^32)
 * </pre>
 *
 * The offsets are fixed at a sync point: the first packet forwarded after creation, {@link Router#resumeConsumer}
 * or {@link Router#switchProducer}; for video the sync point must be the first packet of a key frame. At a sync
 * point the next out_seq is the last one sent + 1 and the next out_ts the last one sent plus the wall-clock time
 * elapsed since, in clock units (the first sync uses random initial values). Between sync points losses stay
 * visible as gaps, so the subscriber NACKs them; a NACKed out_seq maps back to in_seq with the same offset, which is
 * only valid back to the sync point.
 *
 * <p>Publisher header extensions are stripped (their ids and send times mean nothing to the subscriber); if the
 * subscriber negotiated the MID extension, the consumer's mid is written instead.
 */
public final class Consumer {

    private final String id;
    private final String peerId;
    private final ConsumerParams params;
    private final List<HeaderExtension> extensions;
    /** {@link #extensions} as an encoded header-extension block (profile, length, elements), empty if none. */
    private final byte[] extensionBlock;
    /** Whatever the server attached ({@link #attach}), e.g. its peer object, so a forward needs no lookup. */
    private Object attachment;
    Producer producer;
    boolean paused;
    boolean closed;

    // sequence/timestamp mapping
    boolean synced;
    boolean started;
    int seqOffset;
    long tsOffset;
    // Extended (unwrapped) sequence numbers, so that "before the sync point" and "sent under the current mapping"
    // stay right however many packets have passed since the sync (a 16-bit comparison flips after 32,768).
    long syncInExt;
    long highestInExt;
    long syncOutExt;
    long lastOutExt;
    int lastOutSeq;
    long lastOutTs;
    long lastOutMillis;
    private final int initialSeq;
    private final long initialTs;
    /** Next sequence number of the RTX stream (RFC 4588: its own sequence space), when RTX is negotiated. */
    private int rtxSeq;

    long packetsSent;
    long octetsSent;
    /** Sequence numbers the subscriber NACKed, retransmissions sent, key-frame requests sent on its behalf. */
    long nacksReceived;
    long retransmissionsSent;
    long keyFrameRequests;
    /** The simulcast group it consumes (its layer switcher decides what it gets), or null. */
    SimulcastGroup simulcast;
    /** VP8 PictureID/TL0PICIDX continuity across layer switches (simulcast VP8 consumers only). */
    private dev.veil.webrtc.router.simulcast.Vp8PictureIdRewriter vp8Ids;
    /** Whether the packet {@link #mapLayer} passed last is the newest sent. */
    private boolean lastMappedNewest;

    Consumer(String id, String peerId, Producer producer, ConsumerParams params, int initialSeq, long initialTs,
            int initialRtxSeq) {
        this.id = id;
        this.rtxSeq = initialRtxSeq & 0xFFFF;
        this.peerId = peerId;
        this.producer = producer;
        this.params = params;
        this.initialSeq = initialSeq;
        this.initialTs = initialTs;
        this.extensions = params.midExtensionId() > 0
                ? List.of(new HeaderExtension(params.midExtensionId(), params.mid().getBytes(StandardCharsets.US_ASCII)))
                : List.of();
        RtpHeader h = RtpHeader.of(false, 0, 0, 0, 0).withExtensions(extensions);
        byte[] encoded = new byte[h.encodedLength()];
        h.writeTo(encoded, 0, false);
        this.extensionBlock = java.util.Arrays.copyOfRange(encoded, RtpHeader.FIXED_LENGTH, encoded.length);
    }

    /** Attaches an object of the caller's (the server's peer) to this consumer; null detaches. */
    public void attach(Object o) {
        attachment = o;
    }

    /** What {@link #attach} attached, or null. */
    public Object attachment() {
        return attachment;
    }

    /** The most bytes a rewrite adds to a packet (a new header-extension block). */
    int headerGrowth() {
        return extensionBlock.length;
    }

    /** The consumer id given by the server. */
    public String id() {
        return id;
    }

    /** The subscribing peer (connection id). */
    public String peerId() {
        return peerId;
    }

    /** The producer currently feeding this consumer. */
    public Producer producer() {
        return producer;
    }

    /** The SSRC this consumer sends with. */
    public long ssrc() {
        return params.ssrc();
    }

    /** The parameters given at creation. */
    public ConsumerParams params() {
        return params;
    }

    /** Whether it consumes a simulcast producer (its layer is chosen by the router's layer switcher). */
    public boolean simulcast() {
        return simulcast != null;
    }

    /** Whether paused by {@link Router#pauseConsumer}. */
    public boolean paused() {
        return paused;
    }

    /** Whether a video consumer still waits for a key frame before forwarding (after start, resume or switch). */
    public boolean waitingForKeyFrame() {
        return !synced && !paused && producer.codec().needsKeyFrame() && simulcast == null;
    }

    /** RTP packets sent (forwarded, not retransmissions). */
    public long packetsSent() {
        return packetsSent;
    }

    /** Sequence numbers the subscriber NACKed for this consumer. */
    public long nacksReceived() {
        return nacksReceived;
    }

    /** Retransmissions sent to the subscriber (RTX or same-SSRC) answering its NACKs. */
    public long retransmissionsSent() {
        return retransmissionsSent;
    }

    /**
     * Key-frame requests (PLI/FIR) the router sent the publisher on this consumer's behalf: for its start, its
     * PLI/FIR and (simulcast) its layer switches; a request shared with other consumers counts for each that asked.
     */
    public long keyFrameRequests() {
        return keyFrameRequests + (simulcast == null ? 0 : simulcast.switcher.keyFrameRequests(id));
    }

    /** The simulcast layer it gets now (0 = lowest), or -1 (not simulcast, or not started). */
    public int layer() {
        return simulcast == null ? -1 : simulcast.switcher.currentLayer(id);
    }

    /**
     * Whether a simulcast consumer is draining its layer after a congestion downgrade (the old layer's frame in flight
     * is completed, nothing else of it is sent, the switch waits for the new layer's key frame).
     */
    boolean draining() {
        return simulcast != null && simulcast.switcher.isDraining(id);
    }

    /** Simulcast layer switches (0 without simulcast). */
    public long layerSwitches() {
        return simulcast == null ? 0 : simulcast.switcher.switches(id);
    }

    /** Whether the consumer was closed. */
    public boolean closed() {
        return closed;
    }

    /** Drops the mapping: the next forwarded packet (a key frame for video) becomes a new sync point. */
    void resync() {
        synced = false;
    }

    /**
     * Rewrites a packet of the producer for the subscriber, or returns null when it must not be forwarded (paused,
     * waiting for a key frame, older than the sync point).
     */
    byte[] forward(RtpPacket pkt, boolean keyFrame, long nowMillis) {
        long m = map(pkt, keyFrame, nowMillis);
        return m < 0 ? null : rewrite(pkt, (int) (m & 0xFFFF), m >>> 16);
    }

    /**
     * {@link #forward} without allocating: the rewritten packet goes to {@code out[off..]}; returns its length, or -1
     * when it must not be forwarded. {@code out} must have room for the packet plus {@link #headerGrowth()}.
     */
    int forwardInto(RtpPacket pkt, boolean keyFrame, long nowMillis, byte[] out, int off) {
        long m = map(pkt, keyFrame, nowMillis);
        return m < 0 ? -1 : rewriteInto(pkt, (int) (m & 0xFFFF), m >>> 16, out, off);
    }

    /** The forwarding decision and mapping of {@link #forward}: {@code outTs << 16 | outSeq}, or -1. */
    private long map(RtpPacket pkt, boolean keyFrame, long nowMillis) {
        if (paused || closed) {
            return -1;
        }
        int inSeq = pkt.sequenceNumber();
        if (!synced) {
            if (producer.codec().needsKeyFrame() && !keyFrame) {
                return -1;
            }
            int outSeq;
            long outTs;
            if (started) {
                outSeq = (lastOutSeq + 1) & 0xFFFF;
                long elapsed = Math.max(1, (nowMillis - lastOutMillis) * producer.clockRate() / 1000);
                outTs = (lastOutTs + elapsed) & 0xFFFF_FFFFL;
            } else {
                outSeq = initialSeq;
                outTs = initialTs;
            }
            seqOffset = (outSeq - inSeq) & 0xFFFF;
            tsOffset = (outTs - pkt.timestamp()) & 0xFFFF_FFFFL;
            syncInExt = inSeq;
            highestInExt = inSeq;
            syncOutExt = outSeq;
            lastOutExt = outSeq;
            synced = true;
            started = true;
            lastOutSeq = outSeq;
            lastOutTs = outTs;
            lastOutMillis = nowMillis;
        } else {
            long inExt = highestInExt + RtpHeader.seqDelta((int) (highestInExt & 0xFFFF), inSeq);
            if (inExt < syncInExt) {
                return -1; // from before the sync point
            }
            highestInExt = Math.max(highestInExt, inExt);
        }
        int outSeq = (inSeq + seqOffset) & 0xFFFF;
        long outTs = (pkt.timestamp() + tsOffset) & 0xFFFF_FFFFL;
        int outDelta = RtpHeader.seqDelta(lastOutSeq, outSeq);
        if (outDelta > 0) {
            lastOutExt += outDelta;
            lastOutSeq = outSeq;
            lastOutTs = outTs;
            lastOutMillis = nowMillis;
        }
        packetsSent++;
        octetsSent += pkt.payloadLength();
        return outTs << 16 | outSeq;
    }

    /**
     * Sends a packet of a simulcast layer with the sequence number and timestamp its layer switcher chose, and keeps
     * this consumer's mapping in step with the switcher's (so NACKs and sender reports map back as for any
     * consumer); at a switch point the mapping restarts there.
     */
    byte[] forwardLayer(RtpPacket pkt, int outSeq, long outTs, boolean switchPoint, long nowMillis) {
        if (!mapLayer(pkt, outSeq, outTs, switchPoint, nowMillis)) {
            return null;
        }
        byte[] out = rewrite(pkt, outSeq, outTs);
        rewriteVp8Ids(pkt, out, 0, out.length, lastMappedNewest);
        return out;
    }

    /** {@link #forwardLayer} into {@code out[off..]} without allocating; returns the length, or -1. */
    int forwardLayerInto(RtpPacket pkt, int outSeq, long outTs, boolean switchPoint, long nowMillis, byte[] out,
            int off) {
        if (!mapLayer(pkt, outSeq, outTs, switchPoint, nowMillis)) {
            return -1;
        }
        int n = rewriteInto(pkt, outSeq, outTs, out, off);
        rewriteVp8Ids(pkt, out, off, n, lastMappedNewest);
        return n;
    }

    /** The VP8 ids of a layer packet's copy {@code out[off..off+n]} (payload and padding as in {@code pkt}). */
    private void rewriteVp8Ids(RtpPacket pkt, byte[] out, int off, int n, boolean newest) {
        if (vp8Ids != null && n > 0) {
            vp8Ids.rewrite(out, off + n - pkt.paddingLength() - pkt.payloadLength(), pkt.payloadLength(), newest);
        }
    }

    private boolean mapLayer(RtpPacket pkt, int outSeq, long outTs, boolean switchPoint, long nowMillis) {
        if (closed || paused) {
            return false;
        }
        int inSeq = pkt.sequenceNumber();
        if (switchPoint || !synced) {
            if (producer.codec() == dev.veil.webrtc.rtp.RtpCodec.VP8) {
                if (vp8Ids == null) {
                    vp8Ids = new dev.veil.webrtc.router.simulcast.Vp8PictureIdRewriter();
                }
                vp8Ids.onSwitch(pkt.buffer(), pkt.payloadOffset(), pkt.payloadLength());
            }
            seqOffset = (outSeq - inSeq) & 0xFFFF;
            tsOffset = (outTs - pkt.timestamp()) & 0xFFFF_FFFFL;
            syncInExt = inSeq;
            highestInExt = inSeq;
            syncOutExt = started ? lastOutExt + RtpHeader.seqDelta(lastOutSeq, outSeq) : outSeq;
            lastOutExt = syncOutExt - 1;
            lastOutSeq = (outSeq - 1) & 0xFFFF;
            synced = true;
            started = true;
        } else {
            long inExt = highestInExt + RtpHeader.seqDelta((int) (highestInExt & 0xFFFF), inSeq);
            highestInExt = Math.max(highestInExt, inExt);
        }
        int outDelta = RtpHeader.seqDelta(lastOutSeq, outSeq);
        lastMappedNewest = outDelta > 0;
        if (outDelta > 0) {
            lastOutExt += outDelta;
            lastOutSeq = outSeq;
            lastOutTs = outTs;
            lastOutMillis = nowMillis;
        }
        packetsSent++;
        octetsSent += pkt.payloadLength();
        return true;
    }

    /**
     * The producer sequence number of a NACKed out_seq, or -1 if it was not sent under the current mapping.
     */
    int producerSeqOf(int outSeq) {
        if (!synced) {
            return -1;
        }
        long outExt = lastOutExt + RtpHeader.seqDelta(lastOutSeq, outSeq);
        if (outExt < syncOutExt || outExt > lastOutExt) {
            return -1;
        }
        return (outSeq - seqOffset) & 0xFFFF;
    }

    /** Whether retransmissions go on an RTX stream (the subscriber negotiated RTX for this consumer). */
    public boolean rtxEnabled() {
        return params.rtxSsrc() != 0;
    }

    /**
     * Rewrites a cached producer packet for a retransmission (counters and mapping unchanged): on the media SSRC
     * without RTX; with RTX an RFC 4588 §4 packet of the RTX stream: RTX SSRC and payload type, the RTX stream's
     * own next sequence number, the media timestamp and marker, and a payload of the original sequence number
     * (OSN, the consumer's out_seq, two bytes big-endian) followed by the original payload (no padding).
     */
    byte[] retransmit(RtpPacket pkt) {
        int outSeq = (pkt.header().sequenceNumber() + seqOffset) & 0xFFFF;
        long outTs = (pkt.header().timestamp() + tsOffset) & 0xFFFF_FFFFL;
        if (!rtxEnabled()) {
            byte[] out = rewrite(pkt, outSeq, outTs);
            rewriteVp8Ids(pkt, out, 0, out.length, false);
            return out;
        }
        RtpHeader h = pkt.header().rewritten(params.rtxSsrc(), params.rtxPayloadType(), rtxSeq, outTs)
                .withExtensions(extensions);
        rtxSeq = (rtxSeq + 1) & 0xFFFF;
        int len = pkt.payloadLength();
        byte[] payload = new byte[2 + len];
        payload[0] = (byte) (outSeq >>> 8);
        payload[1] = (byte) outSeq;
        System.arraycopy(pkt.buffer(), pkt.payloadOffset(), payload, 2, len);
        if (vp8Ids != null) {
            vp8Ids.rewrite(payload, 2, len, false); // the ids it was first sent with
        }
        return RtpPacket.build(h, payload, 0, payload.length);
    }

    /**
     * A padding-only packet of the RTX stream for bandwidth probing: RTX SSRC and payload type, the RTX stream's next
     * sequence number, the last timestamp sent, the mid (if negotiated) and, with {@code transportWideExtensionId}
     * 1..255, a zeroed 2-byte element for the transport-wide sequence number; no payload, then RFC 3550 padding (the
     * P bit; the last byte is the padding length, 1..255). It carries no frame and no media byte: a receiver drops it
     * after counting it for congestion control (with E2EE there is nothing to encrypt or decrypt in it).
     *
     * @param bytes wanted size of the packet (clear RTP); the padding is clamped to 1..255 bytes
     * @return the packet, or null without RTX, before the first forwarded packet, or when paused or closed
     */
    public byte[] padding(int bytes, int transportWideExtensionId) {
        if (!rtxEnabled() || !started || paused || closed) {
            return null;
        }
        List<HeaderExtension> ext = extensions;
        if (transportWideExtensionId >= 1 && transportWideExtensionId <= 255) {
            ext = new java.util.ArrayList<>(extensions);
            ext.add(new HeaderExtension(transportWideExtensionId, new byte[2]));
        }
        RtpHeader h = RtpHeader.of(false, params.rtxPayloadType(), rtxSeq, lastOutTs, params.rtxSsrc())
                .withExtensions(ext);
        int headerLength = h.encodedLength();
        int pad = Math.max(1, Math.min(255, bytes - headerLength));
        byte[] out = new byte[headerLength + pad];
        h.writeTo(out, 0, true);
        out[out.length - 1] = (byte) pad;
        rtxSeq = (rtxSeq + 1) & 0xFFFF;
        return out;
    }

    private int rewriteInto(RtpPacket pkt, int outSeq, long outTs, byte[] out, int off) {
        return pkt.rewriteInto(out, off, params.ssrc(), params.payloadType(), outSeq, outTs, extensionBlock);
    }

    private byte[] rewrite(RtpPacket pkt, int outSeq, long outTs) {
        RtpHeader h = pkt.header();
        if (h.extensionProfile() < 0 && extensions.isEmpty()) {
            byte[] out = pkt.toByteArray();
            RtpPacket.setSsrc(out, 0, params.ssrc());
            RtpPacket.setPayloadType(out, 0, params.payloadType());
            RtpPacket.setSequenceNumber(out, 0, outSeq);
            RtpPacket.setTimestamp(out, 0, outTs);
            return out;
        }
        return pkt.rewrite(h.rewritten(params.ssrc(), params.payloadType(), outSeq, outTs).withExtensions(extensions));
    }

    /** The consumer's RTP timestamp for a producer RTP timestamp (for sender reports). */
    long outTimestamp(long producerTimestamp) {
        return (producerTimestamp + tsOffset) & 0xFFFF_FFFFL;
    }

    @Override
    public String toString() {
        return "Consumer[" + id + " of " + peerId + " <- " + producer.id() + ", ssrc=" + params.ssrc()
                + (paused ? ", paused" : "") + "]";
    }
}
