package dev.veil.webrtc.router;

import dev.veil.webrtc.rtcp.FullIntraRequest;
import dev.veil.webrtc.rtcp.GenericNack;
import dev.veil.webrtc.rtcp.PictureLossIndication;
import dev.veil.webrtc.rtcp.RtcpCompound;
import dev.veil.webrtc.rtcp.RtcpException;
import dev.veil.webrtc.rtcp.RtcpPacket;
import dev.veil.webrtc.rtcp.SenderReport;
import dev.veil.webrtc.rtp.RtpException;
import dev.veil.webrtc.rtp.RtpPacket;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.random.RandomGenerator;

/**
 * The sans-IO forwarding core of one channel (mediasoup's Router): {@link Producer}s (incoming streams) feed {@link
 * Consumer}s (one per subscriber and producer). It works on plain RTP/RTCP bytes that the server has already
 * SRTP-decrypted, and emits {@link RouterOutput}s for the server to SRTP-protect and send. The server makes one
 * router per channel, with the channel, and closes it ({@link #close()}) when the channel empties.
 *
 * <h2>Run loop</h2>
 * Feed every RTP datagram with {@link #handleRtp} and every RTCP datagram with {@link #handleRtcp} (with the peer it
 * came from and the current time), call {@link #poll(long)} at the deadline it returns, and drain {@link
 * #pollOutput()} after each call. No sockets, threads or clock; not thread-safe (one router per event loop).
 *
 * <h2>A pipeline of stages</h2>
 * The router itself parses, matches packets to producers and consumers and forwards (each consumer rewrites SSRC,
 * payload type, sequence number and timestamp, see {@link Consumer}; video consumers start at a key frame). Every
 * other concern is a {@link Stage} with its own state, fed by the router in this order:
 * <ol>
 *   <li>{@link ReceiverReportScheduler}: reception statistics per producer, RRs to each publisher every
 *       {@link RouterConfig#receiverReportIntervalMillis()}.</li>
 *   <li>{@link NackResponder}: the last {@link RouterConfig#retransmissionCacheSize()} packets of each producer;
 *       subscribers' NACKs are answered from them (on the consumer's RTX stream if negotiated, else on its SSRC).</li>
 *   <li>{@link UpstreamNacker}: NACKs publishers for what the SFU lost (gaps in a video producer's sequence
 *       numbers, bounded retries with back-off) and for subscribers' cache misses.</li>
 *   <li>{@link KeyFrameRequester}: PLI/FIR to the publisher, coalesced per producer and rate-limited.</li>
 *   <li>{@link SenderReportRewriter}: a publisher's SR rewritten for each consumer, with an SDES CNAME.</li>
 * </ol>
 * The producers and consumers and their lifecycle are kept by a {@link RouterRegistry}, the stages run by
 * {@link RouterStages}. Simulcast producers ({@link #createSimulcastProducer}) are forwarded through a layer
 * switcher per producer ({@link SimulcastRouting}): one layer per consumer, each layer an internal producer the
 * stages see like any other. More stages (a downlink estimator) are added with {@link #addStage}. Outputs are drained in
 * order: the router's forwarded packets first, then each stage's. {@link #poll} returns the earliest deadline of
 * all stages. Malformed RTP/RTCP is dropped and counted ({@link #stats()}); nothing throws for bad input.
 *
 * <p>It never reads the RTP payload beyond the VP8 payload descriptor and first frame byte or the H.264 NAL header:
 * past its clear prefix the payload is end-to-end encrypted (for simulcast, also the VP8 key frame's size, which is
 * in that prefix). <b>Bandwidth estimation is out of scope here</b> so far: REMB and transport-cc from subscribers
 * reach the stages' {@link Stage#onPeerRtcp} and are otherwise ignored; a simulcast consumer's layer comes from
 * {@link #setTargetLayer} or {@link #setPreferredMaxHeight}. Uplink feedback to publishers (transport-cc, or REMB) is the {@code
 * dev.veil.webrtc.cc} engines', fed by the server shell before it routes a packet here.
 */
public final class Router {

    /** Bytes of room a {@link ForwardSink} finds after each forwarded packet (an SRTP tag needs at most 16). */
    public static final int FORWARD_TAIL_ROOM = 64;

    /** Slots of per-producer stage state ({@link Producer#stageState}) available to stages. */
    static final int STAGE_SLOTS = 8;

    private final RouterConfig config;
    private final long rtcpSsrc;
    /** The producers and consumers, by id and by SSRC, and their lifecycle. */
    private final RouterRegistry registry;
    private final ArrayDeque<RouterOutput> outputs = new ArrayDeque<>();
    /** The stage pipeline. */
    final RouterStages stages;
    final SimulcastRouting simulcast;
    /** The view every incoming RTP packet is parsed into (no allocation per packet). */
    private final RtpPacket packet = RtpPacket.reusable();
    /** Forwarded packets go here instead of {@link #outputs} when set. */
    private ForwardSink sink;
    /** The rewritten packet handed to {@link #sink}; grows (rarely) to fit the largest packet seen. */
    private byte[] forwardBuf = new byte[2048];

    private long rtpReceived;
    private long rtpMalformed;
    private long rtpUnknownSsrc;
    private long rtpWrongPayloadType;
    private long rtpForwarded;
    private long rtpDroppedBeforeKeyFrame;
    private long rtcpReceived;
    private long rtcpMalformed;

    /**
     * @param config tuning ({@link RouterConfig#defaults()})
     * @param random source of SSRCs and initial sequence numbers/timestamps (seeded in tests)
     */
    public Router(RouterConfig config, RandomGenerator random) {
        this.config = Objects.requireNonNull(config, "config");
        this.registry = new RouterRegistry(this, Objects.requireNonNull(random, "random"));
        this.rtcpSsrc = registry.newSsrc();
        stages = new RouterStages(config, rtcpSsrc);
        simulcast = new SimulcastRouting(this, config);
    }

    /**
     * Appends a stage to the pipeline (before any producer exists). It sees every input after the built-in stages.
     *
     * @throws IllegalStateException if producers exist already (the stage would have missed their packets)
     */
    public void addStage(Stage stage) {
        Objects.requireNonNull(stage, "stage");
        if (registry.hasProducers()) {
            throw new IllegalStateException("add stages before the first producer");
        }
        stages.add(stage);
    }

    /**
     * A free slot of per-producer state for a stage in this package (an array index instead of a map lookup per
     * packet); there are {@link #STAGE_SLOTS}.
     */
    int allocateSlot() {
        return stages.allocateSlot();
    }

    /**
     * Sends forwarded packets (of plain and simulcast consumers) to {@code sink} as they are made, in a buffer of the
     * router's that is reused for the next one (see {@link ForwardSink} for who owns what), instead of queueing a
     * {@link RouterOutput.Rtp} with a new array per packet for {@link #pollOutput}: the per-packet path then allocates
     * nothing. Retransmissions and RTCP still come from {@link #pollOutput}. Null restores the queue.
     */
    public void setForwardSink(ForwardSink sink) {
        this.sink = sink;
    }

    /** {@link #forwardBuf}, grown if a packet of {@code len} bytes rewritten by {@code c} might not fit. */
    private byte[] forwardBuffer(int len, Consumer c) {
        int need = len + c.headerGrowth() + FORWARD_TAIL_ROOM;
        if (forwardBuf.length < need) {
            forwardBuf = new byte[Math.max(need, 2 * forwardBuf.length)];
        }
        return forwardBuf;
    }

    /** Hook for SimulcastRouting: rewrites a layer's packet for {@code c} into the sink, if there is one. */
    boolean forwardLayerToSink(Consumer c, RtpPacket pkt, int outSeq, long outTs, boolean switched, long nowMillis) {
        if (sink == null) {
            return false;
        }
        byte[] buf = forwardBuffer(pkt.length(), c);
        int n = c.forwardLayerInto(pkt, outSeq, outTs, switched, nowMillis, buf, 0);
        if (n >= 0) {
            rtpForwarded++;
            sink.forward(c, buf, 0, n);
        }
        return true;
    }

    /** The SSRC the router uses as sender of its RTCP feedback and receiver reports to publishers. */
    public long rtcpSsrc() {
        return rtcpSsrc;
    }

    /** A fresh random SSRC not used by this router yet (for a consumer, announced in the subscriber's offer). */
    public long newSsrc() {
        return registry.newSsrc();
    }

    // ------------------------------------------------------------------------------------------------ lifecycle

    /**
     * Registers an incoming stream of {@code peerId}.
     *
     * @throws IllegalArgumentException if the id is taken or the peer already has a producer with that SSRC
     */
    public Producer createProducer(String producerId, String peerId, ProducerParams params) {
        return registry.createProducer(producerId, peerId, params);
    }

    /**
     * Registers a simulcast video stream of {@code peerId}: layers named by {@code rids} (lowest resolution first),
     * each sent on an SSRC the router learns from the RtpStreamId header extension ({@code ridExtensionId}) of its
     * first packets (see {@link SimulcastRouting}). Its consumers get one layer each (the top one unless told
     * otherwise with {@link #setTargetLayer} or {@link #setPreferredMaxHeight}), switched at key frames.
     *
     * @param params kind (video), codec, payload type, clock rate and mid; its SSRC is ignored
     * @throws IllegalArgumentException if the id is taken, the kind is not video, or the rids are not 1..8 distinct
     */
    public Producer createSimulcastProducer(String producerId, String peerId, ProducerParams params,
            List<String> rids, int ridExtensionId) {
        return registry.createSimulcastProducer(producerId, peerId, params, rids, ridExtensionId);
    }

    /**
     * Sets the highest simulcast layer (0 = lowest; above the top means the top) a consumer of a simulcast producer
     * may get; it switches at the next key frame of that layer, asked for at once. Throws for other consumers.
     */
    public void setTargetLayer(String consumerId, int layer, long nowMillis) {
        simulcast.setTargetLayer(simulcastConsumer(consumerId), layer, nowMillis);
    }

    /**
     * The simple layer policy: a simulcast consumer gets the highest layer whose picture height (from the layers' VP8
     * key frames) is at most {@code maxHeight} (else the lowest), kept up to date as the layers' sizes become known
     * or change; 0 removes the limit. Throws for consumers not of a simulcast producer.
     */
    public void setPreferredMaxHeight(String consumerId, int maxHeight, long nowMillis) {
        simulcast.setPreferredMaxHeight(simulcastConsumer(consumerId), maxHeight, nowMillis);
    }

    /**
     * The bandwidth policy's cap: a simulcast consumer gets at most layer {@code layer} (0 = lowest; negative removes
     * the cap), whatever {@link #setPreferredMaxHeight} says; its target is the lower of the two. Like every target,
     * it takes effect at the next key frame of the new layer (one is asked for). Throws for consumers not of a
     * simulcast producer.
     */
    public void setBandwidthLayer(String consumerId, int layer, long nowMillis) {
        setBandwidthLayer(consumerId, layer, false, nowMillis);
    }

    /**
     * As {@link #setBandwidthLayer(String, int, long)}; {@code congested}: the link cannot carry the current layer,
     * so a cap that lowers it stops forwarding it after its frame in flight instead of until the new layer's key
     * frame (its packets would fill the bottleneck's queue ahead of that key frame).
     */
    public void setBandwidthLayer(String consumerId, int layer, boolean congested, long nowMillis) {
        simulcast.setBandwidthLayer(simulcastConsumer(consumerId), layer, congested, nowMillis);
    }

    /** A simulcast consumer's layers as measured (size, bitrate), lowest first; empty for other consumers. */
    public List<SimulcastLayer> simulcastLayers(String consumerId) {
        Consumer c = registry.findConsumer(consumerId);
        return c == null || c.simulcast == null ? List.of() : simulcast.layers(c);
    }

    /** The simulcast layer a consumer gets now, or -1 (none yet, or not a simulcast consumer). */
    public int currentLayer(String consumerId) {
        Consumer c = registry.findConsumer(consumerId);
        return c == null || c.simulcast == null ? -1 : simulcast.currentLayer(c);
    }

    /** The simulcast layer a consumer is headed for (its target: preference and bandwidth cap), or -1. */
    public int targetLayer(String consumerId) {
        Consumer c = registry.findConsumer(consumerId);
        return c == null || c.simulcast == null ? -1 : c.simulcast.switcher.targetLayer(c.id());
    }

    /** Simulcast layers whose SSRC is known (of the live simulcast producers). */
    public int simulcastLayersKnown() {
        return simulcast.layersKnown();
    }

    /** Layer switches done by the live simulcast producers' switchers. */
    public long simulcastLayerSwitches() {
        return simulcast.switches();
    }

    private Consumer simulcastConsumer(String consumerId) {
        Consumer c = registry.consumer(consumerId);
        if (c.simulcast == null) {
            throw new IllegalArgumentException("consumer " + consumerId + " is not of a simulcast producer");
        }
        return c;
    }

    // hooks for SimulcastRouting
    void forwarded(RouterOutput.Rtp out) {
        rtpForwarded++;
        outputs.add(out);
    }
    void requestKeyFrame(Producer layer, long nowMillis) {
        stages.keyFrames.request(layer, nowMillis, false);
    }
    void layerClosed(Producer layer) {
        registry.forgetLastProducer();
        stages.onProducerClosed(layer);
    }

    /**
     * Creates a consumer of {@code producerId} for subscriber {@code peerId}. A video consumer asks the publisher
     * for a key frame (rate-limited) and forwards from the next one.
     *
     * @throws IllegalArgumentException if the id is taken, the producer is unknown, or the subscriber already has a
     *     consumer with that SSRC
     */
    public Consumer createConsumer(String consumerId, String peerId, String producerId, ConsumerParams params,
            long nowMillis) {
        return registry.createConsumer(consumerId, peerId, producerId, params, nowMillis);
    }

    /** Pauses a consumer: nothing is forwarded until {@link #resumeConsumer}. */
    public void pauseConsumer(String consumerId) {
        registry.pauseConsumer(consumerId);
    }

    /** Resumes a consumer; the stream continues seamlessly from the next (key) frame. */
    public void resumeConsumer(String consumerId, long nowMillis) {
        registry.resumeConsumer(consumerId, nowMillis);
    }

    /**
     * Feeds a consumer from another producer of the same kind (e.g. the publisher re-published its camera): the
     * subscriber keeps one continuous stream with the consumer's SSRC.
     *
     * @throws IllegalArgumentException if the kinds differ
     */
    public void switchProducer(String consumerId, String producerId, long nowMillis) {
        registry.switchProducer(consumerId, producerId, nowMillis);
    }

    /** Closes a consumer. Unknown ids are ignored. */
    public void closeConsumer(String consumerId) {
        registry.closeConsumer(consumerId);
    }

    /**
     * Closes a producer and every consumer it feeds (the server removes their m-lines in a re-offer).
     *
     * @return the consumers closed with it (empty for an unknown id)
     */
    public List<Consumer> closeProducer(String producerId) {
        return registry.closeProducer(producerId);
    }

    /**
     * Removes a peer: its consumers, its producers and the consumers of other peers fed by them.
     *
     * @return the consumers of other peers that were closed because their producer went away
     */
    public List<Consumer> closePeer(String peerId) {
        return registry.closePeer(peerId);
    }

    /**
     * Closes the router (the channel emptied): every consumer, then every producer, then the router itself. Later
     * packets are ignored (counted as unknown SSRC), later producers refused. Idempotent.
     */
    public void close() {
        registry.close();
    }

    /** Whether {@link #close()} was called. */
    public boolean isClosed() {
        return registry.isClosed();
    }

    /** Whether the router has no producer and no consumer. */
    public boolean isEmpty() {
        return registry.isEmpty();
    }

    /** A producer by id, or null. */
    public Producer findProducer(String producerId) {
        return registry.findProducer(producerId);
    }

    /** A consumer by id, or null. */
    public Consumer findConsumer(String consumerId) {
        return registry.findConsumer(consumerId);
    }

    // ------------------------------------------------------------------------------------------------ RTP

    /** Handles one (decrypted) RTP packet sent by {@code peerId}. */
    public void handleRtp(String peerId, byte[] buf, int off, int len, long nowMillis) {
        rtpReceived++;
        RtpPacket pkt = packet;
        try {
            pkt.wrap(buf, off, len);
        } catch (RtpException e) {
            rtpMalformed++;
            return;
        }
        Map<Long, Producer> bySsrc = registry.producersOf(peerId);
        Producer p = bySsrc == null ? null : registry.producerOf(bySsrc, pkt.ssrc());
        if (p == null && !registry.isClosed() && simulcast.hasGroups(peerId)) {
            p = simulcast.learnLayer(peerId, pkt, registry.producersOfCreating(peerId), nowMillis);
        }
        if (p == null) {
            rtpUnknownSsrc++;
            return;
        }
        if (pkt.payloadType() != p.payloadType()) {
            rtpWrongPayloadType++;
            return;
        }
        boolean key = p.codec().isKeyFrame(buf, pkt.payloadOffset(), pkt.payloadLength());
        stages.onProducerRtp(p, pkt, key, nowMillis);
        if (p.simulcast != null) {
            simulcast.onLayerRtp(p, pkt, key, nowMillis);
            return;
        }
        List<Consumer> cs = p.consumers;
        for (int i = 0, n = cs.size(); i < n; i++) { // indexed: no iterator per packet
            Consumer c = cs.get(i);
            if (sink != null) {
                byte[] out = forwardBuffer(len, c);
                int outLen = c.forwardInto(pkt, key, nowMillis, out, 0);
                if (outLen >= 0) {
                    rtpForwarded++;
                    sink.forward(c, out, 0, outLen);
                } else if (!c.paused) {
                    rtpDroppedBeforeKeyFrame++;
                }
                continue;
            }
            byte[] out = c.forward(pkt, key, nowMillis);
            if (out != null) {
                rtpForwarded++;
                outputs.add(new RouterOutput.Rtp(c.peerId(), c.id(), out));
            } else if (!c.paused) {
                rtpDroppedBeforeKeyFrame++;
            }
        }
    }

    // ------------------------------------------------------------------------------------------------ RTCP

    /**
     * Handles one (decrypted) compound RTCP packet sent by {@code peerId}: a sender report goes to the stages as
     * about its producer, NACK/PLI/FIR as about the consumer whose SSRC they name, the rest as about the peer.
     */
    public void handleRtcp(String peerId, byte[] buf, int off, int len, long nowMillis) {
        rtcpReceived++;
        List<RtcpPacket> packets;
        try {
            packets = RtcpCompound.parse(buf, off, len);
        } catch (RtcpException e) {
            rtcpMalformed++;
            return;
        }
        for (RtcpPacket p : packets) {
            if (p instanceof SenderReport sr) {
                Map<Long, Producer> bySsrc = registry.producersOf(peerId);
                Producer pr = bySsrc == null ? null : bySsrc.get(sr.ssrc());
                if (pr != null) {
                    stages.onProducerRtcp(pr, sr, nowMillis);
                }
            } else if (p instanceof GenericNack nack) {
                toConsumer(registry.consumerOf(peerId, nack.mediaSsrc()), p, nowMillis);
            } else if (p instanceof PictureLossIndication pli) {
                keyFrameRequest(registry.consumerOf(peerId, pli.mediaSsrc()), p, nowMillis);
            } else if (p instanceof FullIntraRequest fir) {
                for (FullIntraRequest.Entry e : fir.entries()) {
                    keyFrameRequest(registry.consumerOf(peerId, e.ssrc()), p, nowMillis);
                }
            } else {
                stages.onPeerRtcp(peerId, p, nowMillis);
            }
        }
    }

    /** A subscriber's PLI/FIR: to the stages, or for a simulcast consumer to its layer switcher. */
    private void keyFrameRequest(Consumer c, RtcpPacket p, long nowMillis) {
        if (c != null && c.simulcast != null) {
            simulcast.onKeyFrameRequest(c, nowMillis);
        } else {
            toConsumer(c, p, nowMillis);
        }
    }

    private void toConsumer(Consumer c, RtcpPacket p, long nowMillis) {
        if (c == null) {
            return;
        }
        stages.onConsumerRtcp(c, p, nowMillis);
    }

    // ------------------------------------------------------------------------------------------------ timers

    /**
     * Advances time: runs every stage's timers (receiver reports, key-frame retries, upstream NACK retries).
     *
     * @return the next deadline (same clock as {@code nowMillis}) at which to call {@code poll} again
     */
    public long poll(long nowMillis) {
        return Math.min(simulcast.poll(nowMillis), stages.poll(nowMillis));
    }

    // ------------------------------------------------------------------------------------------------ output

    /** The next output to send, or null when there is none: forwarded packets first, then each stage's. */
    public RouterOutput pollOutput() {
        RouterOutput o = outputs.poll();
        return o != null ? o : stages.pollOutput();
    }

    /** A snapshot of the counters. */
    public RouterStats stats() {
        NackResponder nackResponder = stages.nackResponder;
        UpstreamNacker upstreamNacker = stages.upstreamNacker;
        KeyFrameRequester keyFrames = stages.keyFrames;
        return new RouterStats(rtpReceived, rtpMalformed, rtpUnknownSsrc, rtpWrongPayloadType, rtpForwarded,
                rtpDroppedBeforeKeyFrame, rtcpReceived, rtcpMalformed, nackResponder.nackedPackets(),
                nackResponder.retransmitted(), upstreamNacker.nackedUpstream(),
                keyFrames.pliSent() + keyFrames.firSent(), keyFrames.suppressed(), stages.senderReports.sent(),
                stages.receiverReports.sent(), nackResponder.retransmittedRtx(), keyFrames.pliSent(), keyFrames.firSent(),
                upstreamNacker.gapsDetected(), upstreamNacker.recovered(), upstreamNacker.givenUp(),
                nackResponder.suppressed(), nackResponder.skippedDraining());
    }
}
