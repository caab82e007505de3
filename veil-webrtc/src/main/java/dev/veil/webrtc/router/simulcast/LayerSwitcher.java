package dev.veil.webrtc.router.simulcast;

import dev.veil.webrtc.rtp.RtpHeader;
import java.util.ArrayDeque;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * The layer-switching stage of one simulcast producer: it sends each consumer ONE of the publisher's layers (0 =
 * lowest resolution) and makes the consumer see one continuous stream whichever layer it gets. Sans-IO like the
 * other engines: feed every packet of the producer with {@link #onPacket} (the layer it came on, its sequence
 * number, timestamp and whether it starts a key frame) and the current time, drain {@link #pollOutput()} after every
 * call, and call {@link #poll(long)} at the deadline it returns. No clock, no threads, not thread-safe.
 *
 * <h2>Which layer</h2>
 * Each consumer has a target layer ({@link #setTargetLayer}; from the subscriber's wishes or its bandwidth
 * estimate), the highest it may get. Its <em>effective</em> layer is the highest layer at or below the target that
 * is running (sent a packet within {@link LayerSwitcherConfig#layerInactiveMillis()}); if none below is running,
 * the lowest running one above it; if none runs at all, the target itself.
 *
 * <h2>Switching</h2>
 * A consumer keeps getting its current layer until the first packet of a key frame of its effective layer arrives;
 * that packet is the switch point (the decoder can start there), and from then on only the new layer is forwarded.
 * While a consumer waits for such a key frame, the switcher asks the publisher for one on that layer
 * ({@link LayerOutput.RequestKeyFrame}): at once when the wish arises, again every
 * {@link LayerSwitcherConfig#keyFrameRetryMillis()} while it waits, and never more than once per layer per
 * {@link LayerSwitcherConfig#keyFrameRequestMinIntervalMillis()}. A consumer that has not started yet (or is
 * resumed) starts the same way, at a key frame of its effective layer.
 *
 * <p>Except on a <em>congestion</em> downgrade ({@link #setTargetLayer(String, int, boolean, long)} with
 * {@code congested}): the link cannot carry the current layer, and forwarding it until the new layer's key frame
 * (a publisher round trip, 0.1–0.5 s) fills the bottleneck's queue, so that the new layer's key frame and the frames
 * after it wait behind it or are dropped (a stall of a second or more right after the switch, at 2.6 Mbit/s into
 * 400 kbit/s). The consumer then <em>drains</em>: the frame in flight (packets with the last forwarded timestamp)
 * is completed, later frames of the old layer are dropped, and the switch happens at the new layer's key frame as
 * usual (sequence numbers stay continuous, so the subscriber sees no loss). If the effective layer returns to the
 * current one meanwhile, the consumer resumes it at its next key frame.
 *
 * <h2>Rewriting</h2>
 * Per consumer, {@code out_seq = in_seq + seqOffset (mod 2^16)} and {@code out_ts = in_ts + tsOffset (mod 2^32)},
 * with offsets fixed at each switch point so that the first packet of the new layer gets the last sequence number
 * sent + 1 (no gap: the subscriber's jitter buffer sees no loss) and the last timestamp sent plus the time elapsed
 * since it, in clock units (at least 1: the timestamp moves forward as the capture clock does). Packets of a layer
 * from before its switch point (reordered) are dropped. {@link #sourceOf} maps a NACKed out_seq back to the layer and
 * sequence number it was sent from (valid back to the last switch point), for retransmission from a cache.
 *
 * <p>It reads nothing of a packet but what the caller passes in: with E2EE, the key-frame flag comes from the clear
 * VP8 payload descriptor and first frame byte, as for non-simulcast video.
 */
public final class LayerSwitcher {

    private static final long NEVER = Long.MIN_VALUE;

    /** Where a forwarded sequence number came from (see {@link #sourceOf}). */
    public record Source(int layer, int sequenceNumber) {}

    private static final class Layer {
        long lastPacketMillis = NEVER;
        long lastKeyFrameRequestMillis = NEVER;
    }

    private static final class ConsumerState {
        final String id;
        int target;
        boolean paused;
        int current = -1;
        boolean synced;
        boolean started;
        /** Congestion downgrade pending: only the frame in flight of {@code current} is still forwarded. */
        boolean draining;
        long lastInTs = -1;
        int seqOffset;
        long tsOffset;
        long syncInExt;
        long highestInExt;
        long syncOutExt;
        long lastOutExt;
        int lastOutSeq;
        long lastOutTs;
        long lastOutMillis;
        final int initialSeq;
        final long initialTs;
        long lastAskMillis = NEVER;
        int askedLayer = -1;
        long switches;
        long keyFrameRequests;

        ConsumerState(String id, int target, int initialSeq, long initialTs) {
            this.id = id;
            this.target = target;
            this.initialSeq = initialSeq;
            this.initialTs = initialTs;
        }
    }

    private final int layerCount;
    private final int clockRate;
    private final LayerSwitcherConfig config;
    private final Layer[] layers;
    private final Map<String, ConsumerState> consumers = new LinkedHashMap<>();
    private final ArrayDeque<LayerOutput> outputs = new ArrayDeque<>();

    private long switches;
    private long keyFrameRequests;
    private long keyFrameRequestsSuppressed;
    private long forwarded;
    private long dropped;
    private long drains;

    /**
     * @param layerCount number of layers (1..8), 0 the lowest
     * @param clockRate RTP clock rate of the stream (90000 for video)
     * @param config tuning ({@link LayerSwitcherConfig#defaults()})
     */
    public LayerSwitcher(int layerCount, int clockRate, LayerSwitcherConfig config) {
        if (layerCount < 1 || layerCount > 8) {
            throw new IllegalArgumentException("layer count must be 1..8");
        }
        if (clockRate <= 0) {
            throw new IllegalArgumentException("clock rate must be positive");
        }
        this.layerCount = layerCount;
        this.clockRate = clockRate;
        this.config = Objects.requireNonNull(config, "config");
        this.layers = new Layer[layerCount];
        for (int i = 0; i < layerCount; i++) {
            layers[i] = new Layer();
        }
    }

    /** Number of layers. */
    public int layerCount() {
        return layerCount;
    }

    // ------------------------------------------------------------------------------------------------ consumers

    /**
     * Adds a consumer; it starts at the next key frame of its effective layer (asked for at once).
     *
     * @param initialSeq the first sequence number it sends (random)
     * @param initialTimestamp the first timestamp it sends (random)
     * @throws IllegalArgumentException if the id is taken or the layer is out of range
     */
    public void addConsumer(String consumerId, int targetLayer, int initialSeq, long initialTimestamp,
            long nowMillis) {
        Objects.requireNonNull(consumerId, "consumerId");
        checkLayer(targetLayer);
        if (consumers.containsKey(consumerId)) {
            throw new IllegalArgumentException("consumer id taken: " + consumerId);
        }
        ConsumerState c = new ConsumerState(consumerId, targetLayer, initialSeq & 0xFFFF,
                initialTimestamp & 0xFFFF_FFFFL);
        consumers.put(consumerId, c);
        ask(c, effectiveLayer(c, nowMillis), nowMillis, true);
    }

    /** Removes a consumer (unknown ids are ignored). */
    public void removeConsumer(String consumerId) {
        consumers.remove(consumerId);
    }

    /**
     * Sets the highest layer a consumer may get. A change that moves its effective layer asks for a key frame of
     * the new one at once; the switch happens at that key frame.
     */
    public void setTargetLayer(String consumerId, int layer, long nowMillis) {
        setTargetLayer(consumerId, layer, false, nowMillis);
    }

    /**
     * As {@link #setTargetLayer(String, int, long)}; with {@code congested}, a change that lowers the consumer's
     * effective layer below the one it gets stops forwarding that layer after its frame in flight (see the class
     * comment), instead of forwarding it until the new layer's key frame.
     */
    public void setTargetLayer(String consumerId, int layer, boolean congested, long nowMillis) {
        checkLayer(layer);
        ConsumerState c = consumer(consumerId);
        if (c.target == layer) {
            return;
        }
        c.target = layer;
        if (!c.paused) {
            int eff = effectiveLayer(c, nowMillis);
            if (congested && c.synced && eff < c.current && !c.draining) {
                c.draining = true;
                drains++;
            }
            if (!c.synced || eff != c.current || c.draining) {
                ask(c, eff, nowMillis, true);
            }
        }
    }

    /**
     * Pauses (nothing is forwarded) or resumes a consumer; a resumed consumer continues at the next key frame of
     * its effective layer, seamlessly (sequence number + 1).
     */
    public void setPaused(String consumerId, boolean paused, long nowMillis) {
        ConsumerState c = consumer(consumerId);
        if (c.paused == paused) {
            return;
        }
        c.paused = paused;
        c.synced = false;
        c.draining = false;
        if (!paused) {
            ask(c, effectiveLayer(c, nowMillis), nowMillis, true);
        }
    }

    /**
     * The subscriber asked for a key frame (PLI/FIR): ask the publisher for one on the layer it is getting (or
     * waiting for), within the per-layer limit.
     */
    public void onKeyFrameRequest(String consumerId, long nowMillis) {
        ConsumerState c = consumers.get(consumerId);
        if (c == null || c.paused) {
            return;
        }
        int eff = effectiveLayer(c, nowMillis);
        if (requestKeyFrame(c.synced && eff == c.current ? c.current : eff, nowMillis)) {
            c.keyFrameRequests++;
        }
    }

    /** The layer a consumer is getting, or -1 before its first key frame (or while paused and not yet resumed). */
    public int currentLayer(String consumerId) {
        ConsumerState c = consumer(consumerId);
        return c.synced ? c.current : -1;
    }

    /**
     * Whether a consumer is draining: a congestion downgrade is pending, so its current layer is no longer forwarded
     * past the frame in flight (and its retransmissions are not worth the congested link either); false for an
     * unknown id.
     */
    public boolean isDraining(String consumerId) {
        ConsumerState c = consumers.get(consumerId);
        return c != null && c.draining;
    }

    /** The layer a consumer should get now (see the class comment), whether or not it has switched yet. */
    public int effectiveLayer(String consumerId, long nowMillis) {
        return effectiveLayer(consumer(consumerId), nowMillis);
    }

    /** The target layer set for a consumer. */
    public int targetLayer(String consumerId) {
        return consumer(consumerId).target;
    }

    /** Whether a layer sent a packet within the inactivity window. */
    public boolean isLayerActive(int layer, long nowMillis) {
        checkLayer(layer);
        long t = layers[layer].lastPacketMillis;
        return t != NEVER && nowMillis - t < config.layerInactiveMillis();
    }

    // ------------------------------------------------------------------------------------------------ packets

    /**
     * Handles one packet of the producer; outputs a {@link LayerOutput.Forward} for each consumer that gets it and
     * {@link LayerOutput.RequestKeyFrame}s when due.
     *
     * @param layer the layer it came on (from its RID or SSRC)
     * @param sequenceNumber its RTP sequence number (the layer's own sequence space)
     * @param timestamp its RTP timestamp
     * @param keyFrameStart whether it is the first packet of a key frame (a decoder can start here)
     */
    public void onPacket(int layer, int sequenceNumber, long timestamp, boolean keyFrameStart, long nowMillis) {
        checkLayer(layer);
        layers[layer].lastPacketMillis = nowMillis;
        int inSeq = sequenceNumber & 0xFFFF;
        long inTs = timestamp & 0xFFFF_FFFFL;
        for (ConsumerState c : consumers.values()) {
            if (c.paused) {
                continue;
            }
            int eff = effectiveLayer(c, nowMillis);
            boolean switched = false;
            if (keyFrameStart && layer == eff && (!c.synced || c.current != eff || c.draining)) {
                if (c.started && c.current != layer) {
                    switches++;
                    c.switches++;
                }
                sync(c, layer, inSeq, inTs, nowMillis);
                switched = true;
            }
            if (c.synced && layer == c.current && (!c.draining || inTs == c.lastInTs)) {
                forward(c, layer, inSeq, inTs, switched, nowMillis);
            } else if (layer == eff || !c.synced || c.synced && layer == c.current) {
                dropped++;
            }
            if (!c.synced || c.current != eff || c.draining) {
                ask(c, eff, nowMillis, false);
            }
        }
    }

    private void sync(ConsumerState c, int layer, int inSeq, long inTs, long nowMillis) {
        int outSeq;
        long outTs;
        if (c.started) {
            outSeq = (c.lastOutSeq + 1) & 0xFFFF;
            long elapsed = Math.max(1, (nowMillis - c.lastOutMillis) * clockRate / 1000);
            outTs = (c.lastOutTs + elapsed) & 0xFFFF_FFFFL;
            c.syncOutExt = c.lastOutExt + 1;
        } else {
            outSeq = c.initialSeq;
            outTs = c.initialTs;
            c.syncOutExt = outSeq;
        }
        c.seqOffset = (outSeq - inSeq) & 0xFFFF;
        c.tsOffset = (outTs - inTs) & 0xFFFF_FFFFL;
        c.syncInExt = inSeq;
        c.highestInExt = inSeq;
        c.lastOutExt = c.syncOutExt - 1;
        c.lastOutSeq = (outSeq - 1) & 0xFFFF;
        c.lastOutTs = outTs;
        c.lastOutMillis = nowMillis;
        c.current = layer;
        c.synced = true;
        c.started = true;
        c.draining = false;
        c.askedLayer = -1;
    }

    private void forward(ConsumerState c, int layer, int inSeq, long inTs, boolean switched, long nowMillis) {
        long inExt = c.highestInExt + RtpHeader.seqDelta((int) (c.highestInExt & 0xFFFF), inSeq);
        if (inExt < c.syncInExt) {
            dropped++;
            return; // from before the switch point
        }
        c.highestInExt = Math.max(c.highestInExt, inExt);
        int outSeq = (inSeq + c.seqOffset) & 0xFFFF;
        long outTs = (inTs + c.tsOffset) & 0xFFFF_FFFFL;
        int outDelta = RtpHeader.seqDelta(c.lastOutSeq, outSeq);
        if (outDelta > 0) {
            c.lastOutExt += outDelta;
            c.lastOutSeq = outSeq;
            c.lastOutTs = outTs;
            c.lastOutMillis = nowMillis;
        }
        c.lastInTs = inTs;
        forwarded++;
        outputs.add(new LayerOutput.Forward(c.id, layer, outSeq, outTs, switched));
    }

    /**
     * Where a sequence number a consumer sent came from, or null if it was not sent under the current mapping
     * (before the last switch point, or not sent yet).
     */
    public Source sourceOf(String consumerId, int outSeq) {
        ConsumerState c = consumers.get(consumerId);
        if (c == null || !c.synced) {
            return null;
        }
        long outExt = c.lastOutExt + RtpHeader.seqDelta(c.lastOutSeq, outSeq & 0xFFFF);
        if (outExt < c.syncOutExt || outExt > c.lastOutExt) {
            return null;
        }
        return new Source(c.current, (outSeq - c.seqOffset) & 0xFFFF);
    }

    /** The consumer's RTP timestamp for a timestamp of its current layer (sender reports), or -1 if not started. */
    public long outTimestamp(String consumerId, long layerTimestamp) {
        ConsumerState c = consumers.get(consumerId);
        if (c == null || !c.started) {
            return -1;
        }
        return (layerTimestamp + c.tsOffset) & 0xFFFF_FFFFL;
    }

    // ------------------------------------------------------------------------------------------------ key frames

    private int effectiveLayer(ConsumerState c, long nowMillis) {
        for (int l = c.target; l >= 0; l--) {
            if (isLayerActive(l, nowMillis)) {
                return l;
            }
        }
        for (int l = c.target + 1; l < layerCount; l++) {
            if (isLayerActive(l, nowMillis)) {
                return l;
            }
        }
        return c.target;
    }

    /** Asks for a key frame of {@code layer} for a waiting consumer: now if {@code force} or its retry is due. */
    private void ask(ConsumerState c, int layer, long nowMillis, boolean force) {
        if (!force && c.askedLayer == layer && c.lastAskMillis != NEVER
                && nowMillis - c.lastAskMillis < config.keyFrameRetryMillis()) {
            return;
        }
        c.askedLayer = layer;
        c.lastAskMillis = nowMillis;
        if (requestKeyFrame(layer, nowMillis)) {
            c.keyFrameRequests++;
        }
    }

    /** Outputs a request for {@code layer} unless one went out within the per-layer limit; returns whether it did. */
    private boolean requestKeyFrame(int layer, long nowMillis) {
        Layer l = layers[layer];
        if (l.lastKeyFrameRequestMillis != NEVER
                && nowMillis - l.lastKeyFrameRequestMillis < config.keyFrameRequestMinIntervalMillis()) {
            keyFrameRequestsSuppressed++;
            return false;
        }
        l.lastKeyFrameRequestMillis = nowMillis;
        keyFrameRequests++;
        outputs.add(new LayerOutput.RequestKeyFrame(layer));
        return true;
    }

    /**
     * Advances time: asks again for the key frames waiting consumers have not received.
     *
     * @return the next deadline ({@code Long.MAX_VALUE} when no consumer waits)
     */
    public long poll(long nowMillis) {
        long next = Long.MAX_VALUE;
        for (ConsumerState c : consumers.values()) {
            if (c.paused) {
                continue;
            }
            int eff = effectiveLayer(c, nowMillis);
            if (c.synced && c.current == eff && !c.draining) {
                continue;
            }
            ask(c, eff, nowMillis, c.askedLayer != eff);
            next = Math.min(next, c.lastAskMillis + config.keyFrameRetryMillis());
        }
        return next;
    }

    /** The next output, or null. */
    public LayerOutput pollOutput() {
        return outputs.poll();
    }

    // ------------------------------------------------------------------------------------------------ stats

    /** Layer switches done (the first start of a consumer is not one). */
    public long switches() {
        return switches;
    }

    /** Layer switches of one consumer (0 for an unknown id). */
    public long switches(String consumerId) {
        ConsumerState c = consumers.get(consumerId);
        return c == null ? 0 : c.switches;
    }

    /** Key-frame requests output for one consumer (its start, switches and PLI/FIR; 0 for an unknown id). */
    public long keyFrameRequests(String consumerId) {
        ConsumerState c = consumers.get(consumerId);
        return c == null ? 0 : c.keyFrameRequests;
    }

    /** Key-frame requests output. */
    public long keyFrameRequests() {
        return keyFrameRequests;
    }

    /** Key-frame requests not output because of the per-layer limit. */
    public long keyFrameRequestsSuppressed() {
        return keyFrameRequestsSuppressed;
    }

    /** Packet copies forwarded to consumers. */
    public long forwarded() {
        return forwarded;
    }

    /** Packets of a consumer's wanted layer dropped (waiting for a key frame, or from before a switch point). */
    public long dropped() {
        return dropped;
    }

    /** Congestion downgrades that stopped the old layer before the new layer's key frame. */
    public long drains() {
        return drains;
    }

    private ConsumerState consumer(String id) {
        ConsumerState c = consumers.get(id);
        if (c == null) {
            throw new IllegalArgumentException("no consumer " + id);
        }
        return c;
    }

    private void checkLayer(int layer) {
        if (layer < 0 || layer >= layerCount) {
            throw new IllegalArgumentException("layer " + layer + " out of 0.." + (layerCount - 1));
        }
    }
}
