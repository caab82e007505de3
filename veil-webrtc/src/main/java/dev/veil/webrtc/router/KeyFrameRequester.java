package dev.veil.webrtc.router;

import dev.veil.webrtc.rtcp.FullIntraRequest;
import dev.veil.webrtc.rtcp.PictureLossIndication;
import dev.veil.webrtc.rtcp.RtcpPacket;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Key-frame requester: turns subscribers' PLI/FIR and consumers that need a sync point (created, resumed, switched)
 * into PLI/FIR to the publisher, <b>coalesced per producer</b>: at most one request per
 * {@link RouterConfig#keyFrameRequestMinIntervalMillis()} (requests in between are dropped and counted; the key
 * frame that answers the first one serves them all). While a video consumer still waits for its key frame it asks
 * again every {@link RouterConfig#keyFrameRetryMillis()} (the publisher's answer may have been lost).
 *
 * <p>A subscriber's FIR becomes a FIR (with the producer's own FIR sequence number), everything else a PLI. Audio
 * producers are never asked. With simulcast the coalescing key becomes (producer, layer): a layer selector asks
 * through {@link #request} with the layer's producer.
 */
final class KeyFrameRequester implements Stage {

    private static final class PerProducer {
        long lastRequestMillis = Long.MIN_VALUE;
        int firSequence;
    }

    private final RouterConfig config;
    private final long rtcpSsrc;
    private final Map<Producer, PerProducer> producers = new HashMap<>();
    /** Consumers waiting for a key frame → when they last asked. */
    private final Map<Consumer, Long> waiting = new LinkedHashMap<>();
    private final ArrayDeque<RouterOutput> outputs = new ArrayDeque<>();
    private long pliSent;
    private long firSent;
    private long suppressed;

    KeyFrameRequester(RouterConfig config, long rtcpSsrc) {
        this.config = config;
        this.rtcpSsrc = rtcpSsrc;
    }

    @Override
    public void onConsumerStarted(Consumer consumer, long nowMillis) {
        ask(consumer, nowMillis);
    }

    @Override
    public void onConsumerRtcp(Consumer consumer, RtcpPacket packet, long nowMillis) {
        if (packet instanceof PictureLossIndication) {
            consumer.keyFrameRequests += request(consumer.producer, nowMillis, false) ? 1 : 0;
        } else if (packet instanceof FullIntraRequest) {
            consumer.keyFrameRequests += request(consumer.producer, nowMillis, true) ? 1 : 0;
        }
    }

    @Override
    public void onConsumerClosed(Consumer consumer) {
        waiting.remove(consumer);
    }

    @Override
    public void onProducerClosed(Producer producer) {
        producers.remove(producer);
    }

    private void ask(Consumer c, long nowMillis) {
        if (c.producer.codec().needsKeyFrame()) {
            waiting.put(c, nowMillis);
            c.keyFrameRequests += request(c.producer, nowMillis, false) ? 1 : 0;
        }
    }

    /**
     * Asks the publisher of {@code p} for a key frame unless one was asked for within the minimum interval; returns
     * whether a request went out.
     */
    boolean request(Producer p, long nowMillis, boolean fir) {
        if (!p.codec().needsKeyFrame()) {
            return false;
        }
        PerProducer s = producers.computeIfAbsent(p, k -> new PerProducer());
        if (s.lastRequestMillis != Long.MIN_VALUE
                && nowMillis - s.lastRequestMillis < config.keyFrameRequestMinIntervalMillis()) {
            suppressed++;
            return false;
        }
        s.lastRequestMillis = nowMillis;
        RtcpPacket req;
        if (fir) {
            req = new FullIntraRequest(rtcpSsrc, List.of(new FullIntraRequest.Entry(p.ssrc(), s.firSequence++ & 0xFF)));
            firSent++;
        } else {
            req = new PictureLossIndication(rtcpSsrc, p.ssrc());
            pliSent++;
        }
        outputs.add(new RouterOutput.Rtcp(p.peerId(), req.encode()));
        return true;
    }

    @Override
    public long poll(long nowMillis) {
        if (waiting.isEmpty()) {
            return NO_DEADLINE;
        }
        long next = NO_DEADLINE;
        for (Iterator<Map.Entry<Consumer, Long>> it = waiting.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<Consumer, Long> e = it.next();
            Consumer c = e.getKey();
            if (!c.waitingForKeyFrame()) {
                it.remove(); // synced (or paused: resuming starts it again)
                continue;
            }
            long last = e.getValue();
            if (nowMillis - last >= config.keyFrameRetryMillis()) {
                last = nowMillis;
                e.setValue(last);
                c.keyFrameRequests += request(c.producer, nowMillis, false) ? 1 : 0;
            }
            next = Math.min(next, last + config.keyFrameRetryMillis());
        }
        return next;
    }

    @Override
    public RouterOutput pollOutput() {
        return outputs.poll();
    }

    long pliSent() {
        return pliSent;
    }

    long firSent() {
        return firSent;
    }

    long suppressed() {
        return suppressed;
    }
}
