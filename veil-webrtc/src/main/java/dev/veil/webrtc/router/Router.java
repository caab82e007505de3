package dev.veil.webrtc.router;

import dev.veil.webrtc.rtcp.FullIntraRequest;
import dev.veil.webrtc.rtcp.GenericNack;
import dev.veil.webrtc.rtcp.PictureLossIndication;
import dev.veil.webrtc.rtcp.ReceiverReport;
import dev.veil.webrtc.rtcp.ReportBlock;
import dev.veil.webrtc.rtcp.RtcpCompound;
import dev.veil.webrtc.rtcp.RtcpException;
import dev.veil.webrtc.rtcp.RtcpPacket;
import dev.veil.webrtc.rtcp.SenderReport;
import dev.veil.webrtc.rtcp.SourceDescription;
import dev.veil.webrtc.router.simulcast.LayerOutput;
import dev.veil.webrtc.router.simulcast.LayerSwitcher;
import dev.veil.webrtc.router.simulcast.LayerSwitcherConfig;
import dev.veil.webrtc.rtp.RtpException;
import dev.veil.webrtc.rtp.RtpPacket;
import dev.veil.webrtc.rtp.RtpStreamId;
import dev.veil.webrtc.sdp.MediaKind;
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
 * SRTP-decrypted, and emits {@link RouterOutput}s for the server to SRTP-protect and send.
 *
 * <h2>Run loop</h2>
 * Feed every RTP datagram with {@link #handleRtp} and every RTCP datagram with {@link #handleRtcp} (with the peer it
 * came from and the current time), call {@link #poll(long)} at the deadline it returns, and drain {@link
 * #pollOutput()} after each call. No sockets, threads or clock; not thread-safe (one router per event loop).
 *
 * <h2>What it does</h2>
 * <ul>
 *   <li>Forwards each producer packet to its consumers, rewriting SSRC, payload type, sequence number and timestamp
 *       per consumer (see {@link Consumer}); video consumers start at a key frame.</li>
 *   <li>Key frames: PLI/FIR from subscribers and the start of a video consumer become a PLI/FIR to the publisher,
 *       at most one per producer per {@link RouterConfig#keyFrameRequestMinIntervalMillis()}.</li>
 *   <li>NACK: subscribers' NACKs are answered from the producer's retransmission cache (the last
 *       {@link RouterConfig#retransmissionCacheSize()} packets, retransmitted on the same SSRC: RTX is not used);
 *       misses are NACKed upstream to the publisher.</li>
 *   <li>Reports: a publisher's SR is rewritten for each consumer (SSRC, RTP timestamp, own packet and octet
 *       counts; the NTP time is kept, so audio and video of one publisher stay in sync) and sent with an SDES CNAME;
 *       receiver reports go to each publisher every {@link RouterConfig#receiverReportIntervalMillis()}.</li>
 *   <li>Malformed RTP/RTCP is dropped and counted ({@link #stats()}); nothing throws for bad input.</li>
 * </ul>
 * It never reads the RTP payload beyond the VP8 payload descriptor and first frame byte or the H.264 NAL header:
 * past its clear prefix the payload is end-to-end encrypted. <b>Bandwidth estimation is out of scope here</b>:
 * REMB and transport-cc from subscribers are ignored, the server sends subscribers no transport-wide sequence
 * numbers, and there is no simulcast/SVC layer selection. Uplink feedback to publishers (transport-cc, or REMB) is
 * the {@code dev.veil.webrtc.cc} stages', fed by the server shell before it routes a packet here.
 */
public final class Router {

    private final RouterConfig config;
    private final RandomGenerator random;
    private final long rtcpSsrc;
    private final Map<String, Producer> producers = new LinkedHashMap<>();
    private final Map<String, Consumer> consumers = new LinkedHashMap<>();
    private final Map<String, Map<Long, Producer>> producersByPeer = new HashMap<>();
    private final Map<String, Map<Long, Consumer>> consumersByPeer = new HashMap<>();
    private final Map<String, List<SimulcastGroup>> simulcastByPeer = new HashMap<>();
    private final LayerSwitcherConfig layerConfig;
    private final Set<Long> usedSsrcs = new HashSet<>();
    private final ArrayDeque<RouterOutput> outputs = new ArrayDeque<>();
    private long nextReceiverReportMillis = Producer.NEVER;

    private long rtpReceived;
    private long rtpMalformed;
    private long rtpUnknownSsrc;
    private long rtpWrongPayloadType;
    private long rtpForwarded;
    private long rtpDroppedBeforeKeyFrame;
    private long rtcpReceived;
    private long rtcpMalformed;
    private long nackedPackets;
    private long retransmittedFromCache;
    private long nackedUpstream;
    private long keyFrameRequestsSent;
    private long keyFrameRequestsSuppressed;
    private long senderReportsSent;
    private long receiverReportsSent;

    /**
     * @param config tuning ({@link RouterConfig#defaults()})
     * @param random source of SSRCs and initial sequence numbers/timestamps (seeded in tests)
     */
    public Router(RouterConfig config, RandomGenerator random) {
        this.config = Objects.requireNonNull(config, "config");
        this.random = Objects.requireNonNull(random, "random");
        this.rtcpSsrc = newSsrc();
        this.layerConfig = new LayerSwitcherConfig(config.keyFrameRequestMinIntervalMillis(),
                Math.min(250, config.keyFrameRetryMillis()), 1000);
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
        Producer p = new Producer(producerId, peerId, params, config.retransmissionCacheSize());
        producers.put(producerId, p);
        bySsrc.put(params.ssrc(), p);
        usedSsrcs.add(params.ssrc());
        return p;
    }

    /**
     * Registers a simulcast video stream of {@code peerId}: layers named by {@code rids} (lowest resolution first),
     * each sent on an SSRC the router learns from the RtpStreamId header extension ({@code ridExtensionId}) of its
     * first packets (see {@link SimulcastGroup}). Its consumers get one layer each (the top one unless told
     * otherwise with {@link #setTargetLayer}), switched at key frames by a {@link LayerSwitcher}.
     *
     * @param params kind (video), codec, payload type, clock rate and mid; its SSRC is ignored
     * @throws IllegalArgumentException if the id is taken, the kind is not video, or the rids are not 1..8
     */
    public Producer createSimulcastProducer(String producerId, String peerId, ProducerParams params,
            List<String> rids, int ridExtensionId) {
        Objects.requireNonNull(producerId, "producerId");
        Objects.requireNonNull(peerId, "peerId");
        Objects.requireNonNull(params, "params");
        if (producers.containsKey(producerId)) {
            throw new IllegalArgumentException("producer id taken: " + producerId);
        }
        if (params.kind() != MediaKind.VIDEO || rids.isEmpty() || rids.size() > 8 || ridExtensionId < 1
                || ridExtensionId > 255 || new HashSet<>(rids).size() != rids.size()) {
            throw new IllegalArgumentException("simulcast needs video, 1..8 distinct rids and an extension id");
        }
        Producer p = new Producer(producerId, peerId, params, 16);
        p.simulcast = new SimulcastGroup(p, rids, ridExtensionId,
                new LayerSwitcher(rids.size(), params.clockRate(), layerConfig));
        producers.put(producerId, p);
        simulcastByPeer.computeIfAbsent(peerId, k -> new ArrayList<>()).add(p.simulcast);
        return p;
    }

    /**
     * Sets the highest simulcast layer (0 = lowest) a consumer of a simulcast producer may get; it switches at the
     * next key frame of that layer, asked for at once. Layers above the top one mean the top one.
     *
     * @throws IllegalArgumentException if the consumer is unknown or not of a simulcast producer
     */
    public void setTargetLayer(String consumerId, int layer, long nowMillis) {
        Consumer c = consumer(consumerId);
        if (c.simulcast == null) {
            throw new IllegalArgumentException("consumer " + consumerId + " is not of a simulcast producer");
        }
        int top = c.simulcast.rids.size() - 1;
        c.simulcast.switcher.setTargetLayer(consumerId, Math.max(0, Math.min(top, layer)), nowMillis);
        drainSwitcher(c.simulcast, null, null, nowMillis);
    }

    /**
     * The simple layer policy: a consumer of a simulcast producer gets the highest layer whose picture height (read
     * from the layers' VP8 key frames) is at most {@code maxHeight} (the lowest if none is), updated as the layers'
     * sizes become known or change; 0 removes the limit (the top layer). Ignored for other consumers.
     */
    public void setPreferredMaxHeight(String consumerId, int maxHeight, long nowMillis) {
        Consumer c = consumer(consumerId);
        SimulcastGroup g = c.simulcast;
        if (g == null) {
            return;
        }
        if (maxHeight <= 0) {
            g.maxHeights.remove(consumerId);
            g.switcher.setTargetLayer(consumerId, g.rids.size() - 1, nowMillis);
        } else {
            g.maxHeights.put(consumerId, maxHeight);
            g.switcher.setTargetLayer(consumerId, g.layerForMaxHeight(maxHeight), nowMillis);
        }
        drainSwitcher(g, null, null, nowMillis);
    }

    /** The simulcast layer a consumer gets now, or -1 (none yet, or not a simulcast consumer). */
    public int currentLayer(String consumerId) {
        Consumer c = consumers.get(consumerId);
        return c == null || c.simulcast == null ? -1 : c.simulcast.switcher.currentLayer(consumerId);
    }

    /** Simulcast layers whose SSRC is known (every live simulcast producer's). */
    public int simulcastLayersKnown() {
        int n = 0;
        for (List<SimulcastGroup> l : simulcastByPeer.values()) {
            for (SimulcastGroup g : l) {
                for (Producer p : g.layers) {
                    n += p == null ? 0 : 1;
                }
            }
        }
        return n;
    }

    /** Layer switches done by every simulcast producer's switcher (live producers). */
    public long simulcastLayerSwitches() {
        long n = 0;
        for (List<SimulcastGroup> l : simulcastByPeer.values()) {
            for (SimulcastGroup g : l) {
                n += g.switcher.switches();
            }
        }
        return n;
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
        Consumer c = new Consumer(consumerId, peerId, p, params, random.nextInt(0x10000),
                random.nextLong() & 0xFFFF_FFFFL);
        consumers.put(consumerId, c);
        bySsrc.put(params.ssrc(), c);
        usedSsrcs.add(params.ssrc());
        if (p.isSimulcast()) {
            SimulcastGroup g = p.simulcast;
            c.simulcast = g;
            g.consumers.put(consumerId, c);
            g.switcher.addConsumer(consumerId, g.rids.size() - 1, random.nextInt(0x10000),
                    random.nextLong() & 0xFFFF_FFFFL, nowMillis);
            drainSwitcher(g, null, null, nowMillis);
            return c;
        }
        p.consumers.add(c);
        askKeyFrame(c, nowMillis);
        return c;
    }

    /** Pauses a consumer: nothing is forwarded until {@link #resumeConsumer}. */
    public void pauseConsumer(String consumerId) {
        Consumer c = consumer(consumerId);
        c.paused = true;
        c.resync();
        if (c.simulcast != null) {
            c.simulcast.switcher.setPaused(consumerId, true, 0);
        }
    }

    /** Resumes a consumer; the stream continues seamlessly from the next (key) frame. */
    public void resumeConsumer(String consumerId, long nowMillis) {
        Consumer c = consumer(consumerId);
        if (c.paused) {
            c.paused = false;
            c.resync();
            if (c.simulcast != null) {
                c.simulcast.switcher.setPaused(consumerId, false, nowMillis);
                drainSwitcher(c.simulcast, null, null, nowMillis);
                return;
            }
            askKeyFrame(c, nowMillis);
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
        askKeyFrame(c, nowMillis);
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
            c.simulcast.maxHeights.remove(consumerId);
            c.simulcast.consumers.remove(consumerId);
            c.simulcast.switcher.removeConsumer(consumerId);
        }
        Map<Long, Consumer> bySsrc = consumersByPeer.get(c.peerId());
        if (bySsrc != null) {
            bySsrc.remove(c.ssrc());
            if (bySsrc.isEmpty()) {
                consumersByPeer.remove(c.peerId());
            }
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
        Map<Long, Producer> bySsrc = producersByPeer.get(p.peerId());
        if (bySsrc != null) {
            bySsrc.remove(p.ssrc(), p);
            if (bySsrc.isEmpty()) {
                producersByPeer.remove(p.peerId());
            }
        }
        List<Consumer> closed = new ArrayList<>(p.consumers);
        if (p.isSimulcast()) {
            closed = new ArrayList<>(p.simulcast.consumers.values());
            for (Producer l : p.simulcast.layers) {
                if (l != null) {
                    l.closed = true;
                    if (bySsrc != null) {
                        bySsrc.remove(l.ssrc(), l);
                    }
                }
            }
            if (bySsrc != null && bySsrc.isEmpty()) {
                producersByPeer.remove(p.peerId());
            }
            List<SimulcastGroup> groups = simulcastByPeer.get(p.peerId());
            if (groups != null) {
                groups.remove(p.simulcast);
                if (groups.isEmpty()) {
                    simulcastByPeer.remove(p.peerId());
                }
            }
        }
        for (Consumer c : closed) {
            closeConsumer(c.id());
        }
        return closed;
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
        RtpPacket pkt;
        try {
            pkt = RtpPacket.parse(buf, off, len);
        } catch (RtpException e) {
            rtpMalformed++;
            return;
        }
        Map<Long, Producer> bySsrc = producersByPeer.get(peerId);
        Producer p = bySsrc == null ? null : bySsrc.get(pkt.header().ssrc());
        if (p == null) {
            p = learnLayer(peerId, pkt, nowMillis);
        }
        if (p == null) {
            rtpUnknownSsrc++;
            return;
        }
        if (pkt.header().payloadType() != p.payloadType()) {
            rtpWrongPayloadType++;
            return;
        }
        int seq = pkt.header().sequenceNumber();
        p.receiveStats.update(seq, pkt.header().timestamp(), nowMillis, p.clockRate());
        p.cache.put(seq, buf, off, len);
        boolean key = p.codec().isKeyFrame(buf, pkt.payloadOffset(), pkt.payloadLength());
        if (p.simulcast != null) {
            if (key) {
                learnHeight(p, buf, pkt, nowMillis);
            }
            p.simulcast.switcher.onPacket(p.layer, seq, pkt.header().timestamp(), key, nowMillis);
            drainSwitcher(p.simulcast, p, pkt, nowMillis);
            return;
        }
        for (Consumer c : p.consumers) {
            byte[] out = c.forward(pkt, key, nowMillis);
            if (out != null) {
                rtpForwarded++;
                outputs.add(new RouterOutput.Rtp(c.peerId(), c.id(), out));
            } else if (!c.paused) {
                rtpDroppedBeforeKeyFrame++;
            }
        }
    }

    /**
     * A packet from an SSRC the peer has no producer for: if it names a rid of one of the peer's simulcast producers
     * (RtpStreamId extension), its SSRC becomes that layer's (replacing an earlier SSRC of the layer, so a peer
     * holds at most one per rid).
     */
    private Producer learnLayer(String peerId, RtpPacket pkt, long nowMillis) {
        List<SimulcastGroup> groups = simulcastByPeer.get(peerId);
        if (groups == null) {
            return null;
        }
        for (SimulcastGroup g : groups) {
            String rid = RtpStreamId.read(pkt.header(), g.ridExtensionId);
            int layer = rid == null ? -1 : g.rids.indexOf(rid);
            if (layer < 0 || pkt.header().payloadType() != g.group.payloadType()) {
                continue;
            }
            long ssrc = pkt.header().ssrc();
            Map<Long, Producer> bySsrc = producersByPeer.computeIfAbsent(peerId, k -> new HashMap<>());
            Producer old = g.layers[layer];
            if (old != null) {
                bySsrc.remove(old.ssrc(), old);
                old.closed = true;
                for (Consumer c : new ArrayList<>(old.consumers)) {
                    // the layer's sequence numbers start over: its consumers resync at its next key frame
                    old.consumers.remove(c);
                    c.producer = g.group;
                    if (!c.paused) {
                        g.switcher.setPaused(c.id(), true, nowMillis);
                        g.switcher.setPaused(c.id(), false, nowMillis);
                    }
                }
            }
            ProducerParams gp = g.group.params();
            Producer l = new Producer(g.group.id() + "#" + rid, peerId,
                    new ProducerParams(gp.kind(), gp.codec(), gp.payloadType(), gp.clockRate(), ssrc, gp.mid()),
                    config.retransmissionCacheSize());
            l.simulcast = g;
            l.layer = layer;
            g.layers[layer] = l;
            g.layersLearned++;
            bySsrc.put(ssrc, l);
            usedSsrcs.add(ssrc);
            return l;
        }
        return null;
    }

    /** Records a layer's picture height from its key frame; a change re-targets the consumers with a height limit. */
    private void learnHeight(Producer layer, byte[] buf, RtpPacket pkt, long nowMillis) {
        if (layer.codec() != dev.veil.webrtc.rtp.RtpCodec.VP8) {
            return;
        }
        int size = dev.veil.webrtc.rtp.Vp8Descriptor.keyFrameSize(buf, pkt.payloadOffset(), pkt.payloadLength());
        SimulcastGroup g = layer.simulcast;
        if (size < 0 || g.heights[layer.layer] == (size & 0xFFFF)) {
            return;
        }
        g.heights[layer.layer] = size & 0xFFFF;
        for (Map.Entry<String, Integer> e : g.maxHeights.entrySet()) {
            g.switcher.setTargetLayer(e.getKey(), g.layerForMaxHeight(e.getValue()), nowMillis);
        }
    }

    /**
     * Carries out what a simulcast group's switcher output: packet copies for its consumers ({@code layer}'s packet
     * {@code pkt}, null when no packet is being handled) and key-frame requests to the layers' SSRCs.
     */
    private void drainSwitcher(SimulcastGroup g, Producer layer, RtpPacket pkt, long nowMillis) {
        LayerOutput o;
        while ((o = g.switcher.pollOutput()) != null) {
            if (o instanceof LayerOutput.Forward f) {
                Consumer c = g.consumers.get(f.consumerId());
                if (c == null || pkt == null) {
                    continue;
                }
                if (c.producer != layer) {
                    c.producer.consumers.remove(c);
                    c.producer = layer;
                    layer.consumers.add(c);
                }
                byte[] out = c.forwardLayer(pkt, f.outSeq(), f.outTimestamp(), f.switched(), nowMillis);
                if (out != null) {
                    rtpForwarded++;
                    outputs.add(new RouterOutput.Rtp(c.peerId(), c.id(), out));
                }
            } else if (o instanceof LayerOutput.RequestKeyFrame r) {
                Producer l = g.layers[r.layer()];
                if (l != null) {
                    requestKeyFrame(l, nowMillis, false);
                }
            }
        }
    }

    // ------------------------------------------------------------------------------------------------ RTCP

    /** Handles one (decrypted) compound RTCP packet sent by {@code peerId}. */
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
                onSenderReport(peerId, sr, nowMillis);
            } else if (p instanceof GenericNack nack) {
                onNack(peerId, nack, nowMillis);
            } else if (p instanceof PictureLossIndication pli) {
                Consumer c = consumerOf(peerId, pli.mediaSsrc());
                if (c != null && c.simulcast != null) {
                    c.simulcast.switcher.onKeyFrameRequest(c.id(), nowMillis);
                    drainSwitcher(c.simulcast, null, null, nowMillis);
                } else if (c != null) {
                    requestKeyFrame(c.producer, nowMillis, false);
                }
            } else if (p instanceof FullIntraRequest fir) {
                for (FullIntraRequest.Entry e : fir.entries()) {
                    Consumer c = consumerOf(peerId, e.ssrc());
                    if (c != null && c.simulcast != null) {
                        c.simulcast.switcher.onKeyFrameRequest(c.id(), nowMillis);
                        drainSwitcher(c.simulcast, null, null, nowMillis);
                    } else if (c != null) {
                        requestKeyFrame(c.producer, nowMillis, true);
                    }
                }
            }
            // RR from subscribers, SDES, BYE, REMB, transport-cc and unknown types: nothing to do (no BWE).
        }
    }

    private Consumer consumerOf(String peerId, long ssrc) {
        Map<Long, Consumer> bySsrc = consumersByPeer.get(peerId);
        return bySsrc == null ? null : bySsrc.get(ssrc);
    }

    private void onSenderReport(String peerId, SenderReport sr, long nowMillis) {
        Map<Long, Producer> bySsrc = producersByPeer.get(peerId);
        Producer p = bySsrc == null ? null : bySsrc.get(sr.ssrc());
        if (p == null) {
            return;
        }
        p.lastSrCompactNtp = sr.compactNtp();
        p.lastSrMillis = nowMillis;
        for (Consumer c : p.consumers) {
            if (!c.synced || c.paused) {
                continue;
            }
            List<RtcpPacket> out = new ArrayList<>(2);
            out.add(new SenderReport(c.ssrc(), sr.ntpTimestamp(), c.outTimestamp(sr.rtpTimestamp()),
                    c.packetsSent & 0xFFFF_FFFFL, c.octetsSent & 0xFFFF_FFFFL, List.of()));
            if (c.params().cname() != null) {
                out.add(SourceDescription.cname(c.ssrc(), c.params().cname()));
            }
            outputs.add(new RouterOutput.Rtcp(c.peerId(), RtcpCompound.write(out)));
            senderReportsSent++;
        }
    }

    private void onNack(String peerId, GenericNack nack, long nowMillis) {
        Consumer c = consumerOf(peerId, nack.mediaSsrc());
        if (c == null) {
            return;
        }
        Producer p = c.producer;
        List<Integer> upstream = new ArrayList<>();
        int mask = config.retransmissionCacheSize() - 1;
        for (int outSeq : nack.lostSequenceNumbers()) {
            nackedPackets++;
            int inSeq = c.producerSeqOf(outSeq);
            if (inSeq < 0) {
                continue; // not sent under the current mapping: nothing sensible to resend
            }
            byte[] cached = p.cache.get(inSeq);
            if (cached != null) {
                try {
                    outputs.add(new RouterOutput.Rtp(c.peerId(), c.id(), c.retransmit(RtpPacket.parse(cached))));
                    retransmittedFromCache++;
                } catch (RtpException e) {
                    throw new IllegalStateException("cached packets were parsed before caching", e);
                }
                continue;
            }
            int slot = inSeq & mask;
            if (p.nackedSeq[slot] == inSeq && p.nackedAtMillis[slot] != Producer.NEVER
                    && nowMillis - p.nackedAtMillis[slot] < config.nackUpstreamHoldMillis()) {
                continue; // already asked the publisher for it a moment ago
            }
            p.nackedSeq[slot] = inSeq;
            p.nackedAtMillis[slot] = nowMillis;
            upstream.add(inSeq);
        }
        if (!upstream.isEmpty()) {
            nackedUpstream += upstream.size();
            outputs.add(new RouterOutput.Rtcp(p.peerId(), new GenericNack(rtcpSsrc, p.ssrc(), upstream).encode()));
        }
    }

    // ------------------------------------------------------------------------------------------------ key frames

    private void askKeyFrame(Consumer c, long nowMillis) {
        if (c.producer.codec().needsKeyFrame()) {
            c.lastKeyFrameAskMillis = nowMillis;
            requestKeyFrame(c.producer, nowMillis, false);
        }
    }

    private void requestKeyFrame(Producer p, long nowMillis, boolean fir) {
        if (!p.codec().needsKeyFrame()) {
            return;
        }
        if (p.lastKeyFrameRequestMillis != Producer.NEVER
                && nowMillis - p.lastKeyFrameRequestMillis < config.keyFrameRequestMinIntervalMillis()) {
            keyFrameRequestsSuppressed++;
            return;
        }
        p.lastKeyFrameRequestMillis = nowMillis;
        RtcpPacket req = fir
                ? new FullIntraRequest(rtcpSsrc, List.of(new FullIntraRequest.Entry(p.ssrc(), p.firSequence++ & 0xFF)))
                : new PictureLossIndication(rtcpSsrc, p.ssrc());
        outputs.add(new RouterOutput.Rtcp(p.peerId(), req.encode()));
        keyFrameRequestsSent++;
    }

    // ------------------------------------------------------------------------------------------------ timers

    /**
     * Advances time: sends receiver reports to publishers when due and asks again for key frames that waiting
     * consumers have not received.
     *
     * @return the next deadline (same clock as {@code nowMillis}) at which to call {@code poll} again
     */
    public long poll(long nowMillis) {
        if (nextReceiverReportMillis == Producer.NEVER) {
            nextReceiverReportMillis = nowMillis + config.receiverReportIntervalMillis();
        } else if (nowMillis >= nextReceiverReportMillis) {
            sendReceiverReports(nowMillis);
            nextReceiverReportMillis = nowMillis + config.receiverReportIntervalMillis();
        }
        long next = nextReceiverReportMillis;
        for (List<SimulcastGroup> groups : simulcastByPeer.values()) {
            for (SimulcastGroup g : groups) {
                next = Math.min(next, g.switcher.poll(nowMillis));
                drainSwitcher(g, null, null, nowMillis);
            }
        }
        for (Consumer c : consumers.values()) {
            if (c.waitingForKeyFrame()) {
                if (nowMillis - c.lastKeyFrameAskMillis >= config.keyFrameRetryMillis()) {
                    askKeyFrame(c, nowMillis);
                }
                next = Math.min(next, c.lastKeyFrameAskMillis + config.keyFrameRetryMillis());
            }
        }
        return next;
    }

    private void sendReceiverReports(long nowMillis) {
        for (Map.Entry<String, Map<Long, Producer>> e : producersByPeer.entrySet()) {
            List<ReportBlock> blocks = new ArrayList<>();
            for (Producer p : e.getValue().values()) {
                if (!p.receiveStats.hasData() || blocks.size() == 31) {
                    continue;
                }
                long lsr = 0;
                long dlsr = 0;
                if (p.lastSrMillis != Producer.NEVER) {
                    lsr = p.lastSrCompactNtp;
                    dlsr = Math.min(0xFFFF_FFFFL, (nowMillis - p.lastSrMillis) * 65536 / 1000);
                }
                blocks.add(p.receiveStats.report(p.ssrc(), lsr, dlsr));
            }
            if (!blocks.isEmpty()) {
                outputs.add(new RouterOutput.Rtcp(e.getKey(), new ReceiverReport(rtcpSsrc, blocks).encode()));
                receiverReportsSent++;
            }
        }
    }

    // ------------------------------------------------------------------------------------------------ output

    /** The next output to send, or null when there is none. */
    public RouterOutput pollOutput() {
        return outputs.poll();
    }

    /** A snapshot of the counters. */
    public RouterStats stats() {
        return new RouterStats(rtpReceived, rtpMalformed, rtpUnknownSsrc, rtpWrongPayloadType, rtpForwarded,
                rtpDroppedBeforeKeyFrame, rtcpReceived, rtcpMalformed, nackedPackets, retransmittedFromCache,
                nackedUpstream, keyFrameRequestsSent, keyFrameRequestsSuppressed, senderReportsSent,
                receiverReportsSent);
    }
}
