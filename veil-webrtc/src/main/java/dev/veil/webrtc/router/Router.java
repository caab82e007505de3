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
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
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
 * Simulcast producers ({@link #createSimulcastProducer}) are forwarded through a layer switcher per producer
 * ({@link SimulcastRouting}): one layer per consumer, each layer an internal producer the stages see like any other.
 * More stages (a downlink estimator) are added with {@link #addStage}. Outputs are drained in
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
    private final RandomGenerator random;
    private final long rtcpSsrc;
    private final Map<String, Producer> producers = new LinkedHashMap<>();
    private final Map<String, Consumer> consumers = new LinkedHashMap<>();
    private final Map<String, Map<Long, Producer>> producersByPeer = new HashMap<>();
    private final Map<String, Map<Long, Consumer>> consumersByPeer = new HashMap<>();
    private final Set<Long> usedSsrcs = new HashSet<>();
    private final ArrayDeque<RouterOutput> outputs = new ArrayDeque<>();
    private final ReceiverReportScheduler receiverReports;
    private final UpstreamNacker upstreamNacker;
    private final NackResponder nackResponder;
    private final KeyFrameRequester keyFrames;
    private final SenderReportRewriter senderReports;
    private final SimulcastRouting simulcast;
    /** Every stage in order: the built-in ones, then those added. */
    private Stage[] stages;
    /** The stages added with {@link #addStage} (the built-in ones are called directly on the per-packet path). */
    private Stage[] added = new Stage[0];
    private int nextSlot;
    private boolean closed;
    /** The view every incoming RTP packet is parsed into (no allocation per packet). */
    private final RtpPacket packet = RtpPacket.reusable();
    /** Forwarded packets go here instead of {@link #outputs} when set. */
    private ForwardSink sink;
    /** The rewritten packet handed to {@link #sink}; grows (rarely) to fit the largest packet seen. */
    private byte[] forwardBuf = new byte[2048];
    private Producer lastProducer;
    private Map<Long, Producer> lastProducerMap;

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
        this.random = Objects.requireNonNull(random, "random");
        this.rtcpSsrc = newSsrc();
        receiverReports = new ReceiverReportScheduler(nextSlot++, config, rtcpSsrc);
        upstreamNacker = new UpstreamNacker(nextSlot++, config, rtcpSsrc);
        nackResponder = new NackResponder(nextSlot++, config, upstreamNacker);
        keyFrames = new KeyFrameRequester(config, rtcpSsrc);
        senderReports = new SenderReportRewriter();
        stages = new Stage[] {receiverReports, nackResponder, upstreamNacker, keyFrames, senderReports};
        simulcast = new SimulcastRouting(this, config);
    }

    /**
     * Appends a stage to the pipeline (before any producer exists). It sees every input after the built-in stages.
     *
     * @throws IllegalStateException if producers exist already (the stage would have missed their packets)
     */
    public void addStage(Stage stage) {
        Objects.requireNonNull(stage, "stage");
        if (!producers.isEmpty()) {
            throw new IllegalStateException("add stages before the first producer");
        }
        Stage[] more = java.util.Arrays.copyOf(stages, stages.length + 1);
        more[stages.length] = stage;
        stages = more;
        Stage[] moreAdded = java.util.Arrays.copyOf(added, added.length + 1);
        moreAdded[added.length] = stage;
        added = moreAdded;
    }

    /**
     * A free slot of per-producer state for a stage in this package (an array index instead of a map lookup per
     * packet); there are {@link #STAGE_SLOTS}.
     */
    int allocateSlot() {
        if (nextSlot == STAGE_SLOTS) {
            throw new IllegalStateException("no stage slot left");
        }
        return nextSlot++;
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
        long s;
        do {
            s = random.nextLong() & 0xFFFF_FFFFL;
        } while (s == 0 || !usedSsrcs.add(s));
        return s;
    }

    // ------------------------------------------------------------------------------------------------ lifecycle

    /**
     * Registers an incoming stream of {@code peerId}.
     *
     * @throws IllegalArgumentException if the id is taken or the peer already has a producer with that SSRC
     */
    public Producer createProducer(String producerId, String peerId, ProducerParams params) {
        Objects.requireNonNull(producerId, "producerId");
        Objects.requireNonNull(peerId, "peerId");
        Objects.requireNonNull(params, "params");
        if (producers.containsKey(producerId)) {
            throw new IllegalArgumentException("producer id taken: " + producerId);
        }
        Map<Long, Producer> bySsrc = producersByPeer.computeIfAbsent(peerId, k -> new HashMap<>());
        if (bySsrc.containsKey(params.ssrc())) {
            throw new IllegalArgumentException("peer " + peerId + " already produces ssrc " + params.ssrc());
        }
        checkOpen();
        Producer p = new Producer(producerId, peerId, params);
        producers.put(producerId, p);
        bySsrc.put(params.ssrc(), p);
        usedSsrcs.add(params.ssrc());
        return p;
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
        Objects.requireNonNull(producerId, "producerId");
        Objects.requireNonNull(peerId, "peerId");
        Objects.requireNonNull(params, "params");
        if (producers.containsKey(producerId)) {
            throw new IllegalArgumentException("producer id taken: " + producerId);
        }
        checkOpen();
        Producer p = simulcast.create(producerId, peerId, params, rids, ridExtensionId);
        producers.put(producerId, p);
        return p;
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
        Consumer c = consumers.get(consumerId);
        return c == null || c.simulcast == null ? List.of() : simulcast.layers(c);
    }

    /** The simulcast layer a consumer gets now, or -1 (none yet, or not a simulcast consumer). */
    public int currentLayer(String consumerId) {
        Consumer c = consumers.get(consumerId);
        return c == null || c.simulcast == null ? -1 : simulcast.currentLayer(c);
    }

    /** The simulcast layer a consumer is headed for (its target: preference and bandwidth cap), or -1. */
    public int targetLayer(String consumerId) {
        Consumer c = consumers.get(consumerId);
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
        Consumer c = consumer(consumerId);
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
        keyFrames.request(layer, nowMillis, false);
    }
    void layerClosed(Producer layer) {
        lastProducer = null;
        for (Stage s : stages) {
            s.onProducerClosed(layer);
        }
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
        Objects.requireNonNull(consumerId, "consumerId");
        Objects.requireNonNull(peerId, "peerId");
        Objects.requireNonNull(params, "params");
        if (consumers.containsKey(consumerId)) {
            throw new IllegalArgumentException("consumer id taken: " + consumerId);
        }
        Producer p = producer(producerId);
        Map<Long, Consumer> bySsrc = consumersByPeer.computeIfAbsent(peerId, k -> new HashMap<>());
        if (bySsrc.containsKey(params.ssrc())) {
            throw new IllegalArgumentException("peer " + peerId + " already has a consumer with ssrc " + params.ssrc());
        }
        if (params.rtxSsrc() != 0 && bySsrc.containsKey(params.rtxSsrc())) {
            throw new IllegalArgumentException("peer " + peerId + " already has a consumer with ssrc "
                    + params.rtxSsrc());
        }
        Consumer c = new Consumer(consumerId, peerId, p, params, random.nextInt(0x10000),
                random.nextLong() & 0xFFFF_FFFFL, random.nextInt(0x10000));
        consumers.put(consumerId, c);
        bySsrc.put(params.ssrc(), c);
        usedSsrcs.add(params.ssrc());
        if (params.rtxSsrc() != 0) {
            usedSsrcs.add(params.rtxSsrc());
        }
        if (p.isSimulcast()) {
            // not announced to the stages as started: the switcher, not the key-frame requester, asks for its first
            // key frame (the group has no SSRC to ask on)
            simulcast.addConsumer(c, random.nextInt(0x10000), random.nextLong() & 0xFFFF_FFFFL, nowMillis);
            return c;
        }
        p.consumers.add(c);
        for (Stage s : stages) {
            s.onConsumerStarted(c, nowMillis);
        }
        return c;
    }

    /** Pauses a consumer: nothing is forwarded until {@link #resumeConsumer}. */
    public void pauseConsumer(String consumerId) {
        Consumer c = consumer(consumerId);
        c.paused = true;
        c.resync();
        if (c.simulcast != null) {
            simulcast.setPaused(c, true, 0);
        }
    }

    /** Resumes a consumer; the stream continues seamlessly from the next (key) frame. */
    public void resumeConsumer(String consumerId, long nowMillis) {
        Consumer c = consumer(consumerId);
        if (c.paused) {
            c.paused = false;
            c.resync();
            if (c.simulcast != null) {
                simulcast.setPaused(c, false, nowMillis);
                return;
            }
            for (Stage s : stages) {
                s.onConsumerStarted(c, nowMillis);
            }
        }
    }

    /**
     * Feeds a consumer from another producer of the same kind (e.g. the publisher re-published its camera): the
     * subscriber keeps one continuous stream with the consumer's SSRC.
     *
     * @throws IllegalArgumentException if the kinds differ
     */
    public void switchProducer(String consumerId, String producerId, long nowMillis) {
        Consumer c = consumer(consumerId);
        Producer p = producer(producerId);
        if (c.simulcast != null || p.simulcast != null) {
            throw new IllegalArgumentException("simulcast consumers switch layers, not producers");
        }
        if (p.kind() != c.producer.kind()) {
            throw new IllegalArgumentException("cannot switch a " + c.producer.kind() + " consumer to " + p.kind());
        }
        if (p == c.producer) {
            return;
        }
        c.producer.consumers.remove(c);
        c.producer = p;
        p.consumers.add(c);
        c.resync();
        for (Stage s : stages) {
            s.onConsumerStarted(c, nowMillis);
        }
    }

    /** Closes a consumer. Unknown ids are ignored. */
    public void closeConsumer(String consumerId) {
        Consumer c = consumers.remove(consumerId);
        if (c == null) {
            return;
        }
        c.closed = true;
        c.producer.consumers.remove(c);
        if (c.simulcast != null) {
            simulcast.removeConsumer(c);
        }
        Map<Long, Consumer> bySsrc = consumersByPeer.get(c.peerId());
        if (bySsrc != null) {
            bySsrc.remove(c.ssrc());
            if (bySsrc.isEmpty()) {
                consumersByPeer.remove(c.peerId());
            }
        }
        for (Stage s : stages) {
            s.onConsumerClosed(c);
        }
    }

    /**
     * Closes a producer and every consumer it feeds (the server removes their m-lines in a re-offer).
     *
     * @return the consumers closed with it (empty for an unknown id)
     */
    public List<Consumer> closeProducer(String producerId) {
        Producer p = producers.remove(producerId);
        if (p == null) {
            return List.of();
        }
        p.closed = true;
        lastProducer = null;
        Map<Long, Producer> bySsrc = producersByPeer.get(p.peerId());
        List<Consumer> closedConsumers = new ArrayList<>(p.consumers);
        if (p.isSimulcast()) {
            closedConsumers = new ArrayList<>(p.simulcast.consumers.values());
            simulcast.close(p, bySsrc);
        }
        if (bySsrc != null) {
            bySsrc.remove(p.ssrc(), p);
            if (bySsrc.isEmpty()) {
                producersByPeer.remove(p.peerId());
            }
        }
        for (Consumer c : closedConsumers) {
            closeConsumer(c.id());
        }
        for (Stage s : stages) {
            s.onProducerClosed(p);
        }
        return closedConsumers;
    }

    /**
     * Removes a peer: its consumers, its producers and the consumers of other peers fed by them.
     *
     * @return the consumers of other peers that were closed because their producer went away
     */
    public List<Consumer> closePeer(String peerId) {
        for (Consumer c : new ArrayList<>(consumers.values())) {
            if (c.peerId().equals(peerId)) {
                closeConsumer(c.id());
            }
        }
        List<Consumer> others = new ArrayList<>();
        for (Producer p : new ArrayList<>(producers.values())) {
            if (p.peerId().equals(peerId)) {
                others.addAll(closeProducer(p.id()));
            }
        }
        return others;
    }

    /**
     * Closes the router (the channel emptied): every consumer, then every producer, then the router itself. Later
     * packets are ignored (counted as unknown SSRC), later producers refused. Idempotent.
     */
    public void close() {
        if (closed) {
            return;
        }
        for (String id : new ArrayList<>(consumers.keySet())) {
            closeConsumer(id);
        }
        for (String id : new ArrayList<>(producers.keySet())) {
            closeProducer(id);
        }
        closed = true;
    }

    /** Whether {@link #close()} was called. */
    public boolean isClosed() {
        return closed;
    }

    /** Whether the router has no producer and no consumer. */
    public boolean isEmpty() {
        return producers.isEmpty() && consumers.isEmpty();
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("router closed");
        }
    }

    /** A producer by id, or null. */
    public Producer findProducer(String producerId) {
        return producers.get(producerId);
    }

    /** A consumer by id, or null. */
    public Consumer findConsumer(String consumerId) {
        return consumers.get(consumerId);
    }

    private Producer producer(String id) {
        Producer p = producers.get(id);
        if (p == null) {
            throw new IllegalArgumentException("no producer " + id);
        }
        return p;
    }

    private Consumer consumer(String id) {
        Consumer c = consumers.get(id);
        if (c == null) {
            throw new IllegalArgumentException("no consumer " + id);
        }
        return c;
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
        Map<Long, Producer> bySsrc = producersByPeer.get(peerId);
        Producer p = bySsrc == null ? null : producerOf(bySsrc, pkt.ssrc());
        if (p == null && !closed && simulcast.hasGroups(peerId)) {
            p = simulcast.learnLayer(peerId, pkt, producersByPeer.computeIfAbsent(peerId, k -> new HashMap<>()),
                    nowMillis);
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
        // The built-in stages that look at every packet, called directly (no interface dispatch per packet); the
        // key-frame requester and SR rewriter have nothing to do per packet.
        receiverReports.onProducerRtp(p, pkt, key, nowMillis);
        nackResponder.onProducerRtp(p, pkt, key, nowMillis);
        upstreamNacker.onProducerRtp(p, pkt, key, nowMillis);
        for (Stage s : added) {
            s.onProducerRtp(p, pkt, key, nowMillis);
        }
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

    /** The producer of an SSRC, with a one-entry cache (the boxed map lookup allocates for most SSRCs). */
    private Producer producerOf(Map<Long, Producer> bySsrc, long ssrc) {
        Producer last = lastProducer;
        if (last != null && last.ssrc() == ssrc && bySsrc == lastProducerMap && !last.closed()) {
            return last;
        }
        Producer p = bySsrc.get(ssrc);
        lastProducer = p;
        lastProducerMap = bySsrc;
        return p;
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
                Map<Long, Producer> bySsrc = producersByPeer.get(peerId);
                Producer pr = bySsrc == null ? null : bySsrc.get(sr.ssrc());
                if (pr != null) {
                    for (Stage s : stages) {
                        s.onProducerRtcp(pr, sr, nowMillis);
                    }
                }
            } else if (p instanceof GenericNack nack) {
                toConsumer(consumerOf(peerId, nack.mediaSsrc()), p, nowMillis);
            } else if (p instanceof PictureLossIndication pli) {
                keyFrameRequest(consumerOf(peerId, pli.mediaSsrc()), p, nowMillis);
            } else if (p instanceof FullIntraRequest fir) {
                for (FullIntraRequest.Entry e : fir.entries()) {
                    keyFrameRequest(consumerOf(peerId, e.ssrc()), p, nowMillis);
                }
            } else {
                for (Stage s : stages) {
                    s.onPeerRtcp(peerId, p, nowMillis);
                }
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
        for (Stage s : stages) {
            s.onConsumerRtcp(c, p, nowMillis);
        }
    }

    private Consumer consumerOf(String peerId, long ssrc) {
        Map<Long, Consumer> bySsrc = consumersByPeer.get(peerId);
        return bySsrc == null ? null : bySsrc.get(ssrc);
    }

    // ------------------------------------------------------------------------------------------------ timers

    /**
     * Advances time: runs every stage's timers (receiver reports, key-frame retries, upstream NACK retries).
     *
     * @return the next deadline (same clock as {@code nowMillis}) at which to call {@code poll} again
     */
    public long poll(long nowMillis) {
        long next = Math.min(Math.min(simulcast.poll(nowMillis), receiverReports.poll(nowMillis)),
                Math.min(upstreamNacker.poll(nowMillis), keyFrames.poll(nowMillis)));
        for (Stage s : added) {
            next = Math.min(next, s.poll(nowMillis));
        }
        return next;
    }

    // ------------------------------------------------------------------------------------------------ output

    /** The next output to send, or null when there is none: forwarded packets first, then each stage's. */
    public RouterOutput pollOutput() {
        RouterOutput o = outputs.poll();
        if (o == null && (o = receiverReports.pollOutput()) == null && (o = nackResponder.pollOutput()) == null
                && (o = upstreamNacker.pollOutput()) == null && (o = keyFrames.pollOutput()) == null) {
            o = senderReports.pollOutput();
        }
        if (o != null) {
            return o;
        }
        for (Stage s : added) {
            o = s.pollOutput();
            if (o != null) {
                return o;
            }
        }
        return null;
    }

    /** A snapshot of the counters. */
    public RouterStats stats() {
        return new RouterStats(rtpReceived, rtpMalformed, rtpUnknownSsrc, rtpWrongPayloadType, rtpForwarded,
                rtpDroppedBeforeKeyFrame, rtcpReceived, rtcpMalformed, nackResponder.nackedPackets(),
                nackResponder.retransmitted(), upstreamNacker.nackedUpstream(),
                keyFrames.pliSent() + keyFrames.firSent(), keyFrames.suppressed(), senderReports.sent(),
                receiverReports.sent(), nackResponder.retransmittedRtx(), keyFrames.pliSent(), keyFrames.firSent(),
                upstreamNacker.gapsDetected(), upstreamNacker.recovered(), upstreamNacker.givenUp(),
                nackResponder.suppressed(), nackResponder.skippedDraining());
    }
}
