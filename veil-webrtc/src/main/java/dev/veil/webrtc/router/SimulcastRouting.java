package dev.veil.webrtc.router;

import dev.veil.webrtc.router.simulcast.LayerOutput;
import dev.veil.webrtc.router.simulcast.LayerSwitcher;
import dev.veil.webrtc.router.simulcast.LayerSwitcherConfig;
import dev.veil.webrtc.rtp.RtpCodec;
import dev.veil.webrtc.rtp.RtpPacket;
import dev.veil.webrtc.rtp.RtpStreamId;
import dev.veil.webrtc.rtp.Vp8Descriptor;
import dev.veil.webrtc.sdp.MediaKind;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;

/**
 * The simulcast part of a {@link Router}: its simulcast producers ({@link SimulcastGroup}s), how a layer's SSRC is
 * learned from the RtpStreamId extension, forwarding through each group's {@link LayerSwitcher}, and the layer
 * policy (a consumer's preferred maximum picture height, against the sizes the layers' VP8 key frames announce).
 *
 * <p>Each layer is an internal {@link Producer} with its own SSRC, so the router's stages (receiver reports,
 * retransmission cache, upstream NACKs, key-frame requests, sender reports) work per layer unchanged. A consumer of a
 * group is attached to the layer it currently gets (its {@code producer}), so a NACK is answered from that layer's
 * packets and that layer's sender reports are rewritten for it. Subscribers' PLI/FIR go to the switcher, which asks
 * for a key frame of the layer the consumer gets or waits for.
 */
final class SimulcastRouting {

    private final Router router;
    private final LayerSwitcherConfig config;
    private final Map<String, List<SimulcastGroup>> byPeer = new HashMap<>();

    SimulcastRouting(Router router, RouterConfig routerConfig) {
        this.router = router;
        this.config = new LayerSwitcherConfig(routerConfig.keyFrameRequestMinIntervalMillis(),
                Math.min(250, routerConfig.keyFrameRetryMillis()), 1000);
    }

    /** A new group producer (registered by id by the caller). */
    Producer create(String producerId, String peerId, ProducerParams params, List<String> rids, int ridExtensionId) {
        if (params.kind() != MediaKind.VIDEO || rids.isEmpty() || rids.size() > 8 || ridExtensionId < 1
                || ridExtensionId > 255 || new HashSet<>(rids).size() != rids.size()) {
            throw new IllegalArgumentException("simulcast needs video, 1..8 distinct rids and an extension id");
        }
        Producer p = new Producer(producerId, peerId, params);
        p.simulcast = new SimulcastGroup(p, rids, ridExtensionId,
                new LayerSwitcher(rids.size(), params.clockRate(), config));
        byPeer.computeIfAbsent(peerId, k -> new ArrayList<>()).add(p.simulcast);
        return p;
    }

    /** Whether the peer publishes a simulcast producer. */
    boolean hasGroups(String peerId) {
        return byPeer.containsKey(peerId);
    }

    /**
     * A packet from an SSRC the peer has no producer for: if it names a rid of one of the peer's simulcast producers
     * (RtpStreamId extension), its SSRC becomes that layer's, replacing an earlier SSRC of the layer (so a peer holds
     * at most one SSRC per rid). Returns the layer's producer, or null.
     */
    Producer learnLayer(String peerId, RtpPacket pkt, Map<Long, Producer> bySsrc, long nowMillis) {
        List<SimulcastGroup> groups = byPeer.get(peerId);
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
            Producer old = g.layers[layer];
            if (old != null) {
                closeLayer(old, bySsrc);
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
                    new ProducerParams(gp.kind(), gp.codec(), gp.payloadType(), gp.clockRate(), ssrc, gp.mid()));
            l.simulcast = g;
            l.layer = layer;
            g.layers[layer] = l;
            // (not added to the router's used SSRCs: a publisher that keeps changing a layer's SSRC would grow that set
            // without bound, and the SSRCs the router picks for consumers never meet a publisher's on one transport)
            bySsrc.put(ssrc, l);
            return l;
        }
        return null;
    }

    /** A packet of a layer, after the stages saw it: the switcher decides which consumers get it. */
    void onLayerRtp(Producer layer, RtpPacket pkt, boolean key, long nowMillis) {
        SimulcastGroup g = layer.simulcast;
        if (key) {
            learnHeight(layer, pkt, nowMillis);
        }
        g.countPacket(layer.layer, pkt.length(), nowMillis);
        g.switcher.onPacket(layer.layer, pkt.sequenceNumber(), pkt.timestamp(), key, nowMillis);
        drain(g, layer, pkt, nowMillis);
    }

    /** Records a layer's picture height from its key frame; a change re-targets the consumers with a height limit. */
    private void learnHeight(Producer layer, RtpPacket pkt, long nowMillis) {
        if (layer.codec() != RtpCodec.VP8) {
            return;
        }
        int size = Vp8Descriptor.keyFrameSize(pkt.buffer(), pkt.payloadOffset(), pkt.payloadLength());
        SimulcastGroup g = layer.simulcast;
        if (size < 0 || g.heights[layer.layer] == (size & 0xFFFF)) {
            return;
        }
        g.heights[layer.layer] = size & 0xFFFF;
        g.widths[layer.layer] = (size >>> 16) & 0xFFFF;
        for (String id : g.maxHeights.keySet()) {
            g.switcher.setTargetLayer(id, g.targetFor(id), nowMillis);
        }
    }

    /**
     * Carries out what a group's switcher output: copies of {@code layer}'s packet {@code pkt} (null when no packet
     * is being handled) for its consumers, and key-frame requests to the layers' SSRCs.
     */
    private void drain(SimulcastGroup g, Producer layer, RtpPacket pkt, long nowMillis) {
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
                if (router.forwardLayerToSink(c, pkt, f.outSeq(), f.outTimestamp(), f.switched(), nowMillis)) {
                    continue;
                }
                byte[] out = c.forwardLayer(pkt, f.outSeq(), f.outTimestamp(), f.switched(), nowMillis);
                if (out != null) {
                    router.forwarded(new RouterOutput.Rtp(c.peerId(), c.id(), out));
                }
            } else if (o instanceof LayerOutput.RequestKeyFrame r) {
                Producer l = g.layers[r.layer()];
                if (l != null) {
                    router.requestKeyFrame(l, nowMillis);
                }
            }
        }
    }

    /** A new consumer of a group: fed by its switcher, the top layer unless told otherwise. */
    void addConsumer(Consumer c, int initialSeq, long initialTs, long nowMillis) {
        SimulcastGroup g = c.producer.simulcast;
        c.simulcast = g;
        g.consumers.put(c.id(), c);
        g.switcher.addConsumer(c.id(), g.rids.size() - 1, initialSeq, initialTs, nowMillis);
        drain(g, null, null, nowMillis);
    }

    void removeConsumer(Consumer c) {
        c.simulcast.maxHeights.remove(c.id());
        c.simulcast.bandwidthCaps.remove(c.id());
        c.simulcast.consumers.remove(c.id());
        c.simulcast.switcher.removeConsumer(c.id());
    }

    void setPaused(Consumer c, boolean paused, long nowMillis) {
        c.simulcast.switcher.setPaused(c.id(), paused, nowMillis);
        drain(c.simulcast, null, null, nowMillis);
    }

    /** A subscriber's PLI/FIR: a key frame of the layer it gets (or waits for). */
    void onKeyFrameRequest(Consumer c, long nowMillis) {
        c.simulcast.switcher.onKeyFrameRequest(c.id(), nowMillis);
        drain(c.simulcast, null, null, nowMillis);
    }

    void setTargetLayer(Consumer c, int layer, long nowMillis) {
        SimulcastGroup g = c.simulcast;
        g.switcher.setTargetLayer(c.id(), Math.max(0, Math.min(g.rids.size() - 1, layer)), nowMillis);
        drain(g, null, null, nowMillis);
    }

    void setPreferredMaxHeight(Consumer c, int maxHeight, long nowMillis) {
        SimulcastGroup g = c.simulcast;
        if (maxHeight <= 0) {
            g.maxHeights.remove(c.id());
        } else {
            g.maxHeights.put(c.id(), maxHeight);
        }
        g.switcher.setTargetLayer(c.id(), g.targetFor(c.id()), nowMillis);
        drain(g, null, null, nowMillis);
    }

    /** The bandwidth policy's cap for a consumer ({@code layer < 0}: none); the target is the lower of it and the
     * preference. */
    void setBandwidthLayer(Consumer c, int layer, boolean congested, long nowMillis) {
        SimulcastGroup g = c.simulcast;
        Integer old = layer < 0 ? g.bandwidthCaps.remove(c.id())
                : g.bandwidthCaps.put(c.id(), Math.min(layer, g.rids.size() - 1));
        Integer now = g.bandwidthCaps.get(c.id());
        if (java.util.Objects.equals(old, now)) {
            return;
        }
        g.switcher.setTargetLayer(c.id(), g.targetFor(c.id()), congested, nowMillis);
        drain(g, null, null, nowMillis);
    }

    /** The group's layers as measured now, lowest first. */
    List<SimulcastLayer> layers(Consumer c) {
        SimulcastGroup g = c.simulcast;
        List<SimulcastLayer> out = new ArrayList<>(g.rids.size());
        for (int i = 0; i < g.rids.size(); i++) {
            out.add(new SimulcastLayer(g.widths[i], g.heights[i], g.bitrateBps(i)));
        }
        return out;
    }

    int currentLayer(Consumer c) {
        return c.simulcast.switcher.currentLayer(c.id());
    }

    /**
     * A group producer is closing (its consumers are closed by the caller afterwards): its layers leave the SSRC map
     * and the stages.
     */
    void close(Producer group, Map<Long, Producer> bySsrc) {
        SimulcastGroup g = group.simulcast;
        for (int i = 0; i < g.layers.length; i++) {
            if (g.layers[i] != null) {
                closeLayer(g.layers[i], bySsrc);
            }
        }
        List<SimulcastGroup> groups = byPeer.get(group.peerId());
        if (groups != null) {
            groups.remove(g);
            if (groups.isEmpty()) {
                byPeer.remove(group.peerId());
            }
        }
    }

    private void closeLayer(Producer l, Map<Long, Producer> bySsrc) {
        l.closed = true;
        if (bySsrc != null) {
            bySsrc.remove(l.ssrc(), l);
        }
        router.layerClosed(l);
    }

    /** Advances every group's switcher; returns the earliest deadline. */
    long poll(long nowMillis) {
        long next = Stage.NO_DEADLINE;
        if (byPeer.isEmpty()) {
            return next; // the common case, polled after every packet: no iterator
        }
        for (List<SimulcastGroup> groups : byPeer.values()) {
            for (SimulcastGroup g : groups) {
                next = Math.min(next, g.switcher.poll(nowMillis));
                drain(g, null, null, nowMillis);
            }
        }
        return next;
    }

    /** Layers whose SSRC is known. */
    int layersKnown() {
        int n = 0;
        for (List<SimulcastGroup> groups : byPeer.values()) {
            for (SimulcastGroup g : groups) {
                for (Producer p : g.layers) {
                    n += p == null ? 0 : 1;
                }
            }
        }
        return n;
    }

    /** Layer switches of the live groups. */
    long switches() {
        long n = 0;
        for (List<SimulcastGroup> groups : byPeer.values()) {
            for (SimulcastGroup g : groups) {
                n += g.switcher.switches();
            }
        }
        return n;
    }
}
