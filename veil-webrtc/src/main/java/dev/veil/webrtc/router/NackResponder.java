package dev.veil.webrtc.router;

import dev.veil.webrtc.rtcp.GenericNack;
import dev.veil.webrtc.rtcp.RtcpPacket;
import dev.veil.webrtc.rtp.RtpException;
import dev.veil.webrtc.rtp.RtpPacket;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * NACK responder: keeps the last {@link RouterConfig#retransmissionCacheSize()} packets of every producer (as the
 * publisher sent them, SRTP already removed) and answers a subscriber's Generic NACK from them: each NACKed
 * sequence number of the consumer is mapped back to the producer's ({@link Consumer#producerSeqOf}), and the cached
 * packet is rewritten for the consumer again and resent — on the consumer's RTX stream (RFC 4588) when the
 * subscriber negotiated one, else on the media SSRC itself. Sequence numbers not sent under the consumer's current
 * mapping are ignored; cache misses are handed to the {@link UpstreamNacker} to ask the publisher.
 *
 * <p>Retransmissions are bounded so that a congested subscriber's NACK storm does not make its link worse: a packet
 * is resent to one consumer at most once per {@link RouterConfig#retransmitMinIntervalMillis()} (a subscriber repeats
 * its NACK before the first retransmission can have arrived), and not at all once it is older than
 * {@link RouterConfig#retransmitMaxAgeMillis()}. Both are counted ({@link #suppressed()}). Nothing is resent to a
 * simulcast consumer while it drains its layer after a congestion downgrade ({@link Consumer#draining()}; counted in
 * {@link #skippedDraining()}, not asked upstream either): the subscriber restarts at the new layer's key frame anyway.
 */
final class NackResponder implements Stage {

    /**
     * Per consumer: slot {@code producerSeq % N} holds the producer seq last resent and when, for the producer (a
     * simulcast consumer's layer) it was resent from: another layer is another sequence space.
     */
    private static final class Resent {
        final Producer producer;
        final int[] seq;
        final long[] at;

        Resent(Producer producer, int size) {
            this.producer = producer;
            seq = new int[size];
            at = new long[size];
            java.util.Arrays.fill(at, Long.MIN_VALUE);
        }
    }

    private final int slot;
    private final int cacheSize;
    private final long minInterval;
    private final long maxAge;
    private final UpstreamNacker upstream;
    private final java.util.Map<Consumer, Resent> resent = new java.util.HashMap<>();
    private long suppressed;
    private final ArrayDeque<RouterOutput> outputs = new ArrayDeque<>();
    private long nackedPackets;
    private long retransmitted;
    private long retransmittedRtx;
    private long skippedDraining;

    NackResponder(int slot, RouterConfig config, UpstreamNacker upstream) {
        this.slot = slot;
        this.cacheSize = config.retransmissionCacheSize();
        this.minInterval = config.retransmitMinIntervalMillis();
        this.maxAge = config.retransmitMaxAgeMillis();
        this.upstream = upstream;
    }

    private RetransmissionCache cache(Producer p) {
        RetransmissionCache c = (RetransmissionCache) p.stageState[slot];
        if (c == null) {
            c = new RetransmissionCache(cacheSize);
            p.stageState[slot] = c;
        }
        return c;
    }

    @Override
    public void onProducerRtp(Producer producer, RtpPacket packet, boolean keyFrame, long nowMillis) {
        cache(producer).put(packet.sequenceNumber(), packet.buffer(), packet.offset(), packet.length(),
                nowMillis);
    }

    @Override
    public void onConsumerRtcp(Consumer c, RtcpPacket packet, long nowMillis) {
        if (!(packet instanceof GenericNack nack)) {
            return;
        }
        if (c.draining()) {
            // A congestion downgrade is pending: the old layer's later frames are dropped and the subscriber restarts
            // at the new layer's key frame, so resending the old layer's losses only adds to the congested link. The
            // RTX stream's sequence numbers do not move (none is sent) and the consumer's mapping is untouched: after
            // the switch, NACKs of the new layer map and are answered as usual, the old layer's map to nothing.
            int n = nack.lostSequenceNumbers().size();
            nackedPackets += n;
            c.nacksReceived += n;
            skippedDraining += n;
            return;
        }
        Producer p = c.producer;
        RetransmissionCache cache = cache(p);
        Resent r = resent.get(c);
        if (r == null || r.producer != p) {
            r = new Resent(p, cacheSize); // first NACK, or the consumer switched layers since the last one
            resent.put(c, r);
        }
        int mask = cacheSize - 1;
        List<Integer> misses = null;
        for (int outSeq : nack.lostSequenceNumbers()) {
            nackedPackets++;
            c.nacksReceived++;
            int inSeq = c.producerSeqOf(outSeq);
            if (inSeq < 0) {
                continue; // not sent under the current mapping: nothing sensible to resend
            }
            byte[] cached = cache.get(inSeq);
            if (cached == null) {
                if (misses == null) {
                    misses = new ArrayList<>();
                }
                misses.add(inSeq);
                continue;
            }
            int i = inSeq & mask;
            if (nowMillis - cache.arrivedAt(inSeq) > maxAge
                    || r.seq[i] == inSeq && r.at[i] != Long.MIN_VALUE && nowMillis - r.at[i] < minInterval) {
                suppressed++; // too old to help, or resent a moment ago
                continue;
            }
            r.seq[i] = inSeq;
            r.at[i] = nowMillis;
            RtpPacket pkt;
            try {
                pkt = RtpPacket.parse(cached, 0, cache.length(inSeq));
            } catch (RtpException e) {
                throw new IllegalStateException("cached packets were parsed before caching", e);
            }
            byte[] out = c.retransmit(pkt);
            if (c.rtxEnabled()) {
                retransmittedRtx++;
            }
            outputs.add(new RouterOutput.Rtp(c.peerId(), c.id(), out));
            retransmitted++;
            c.retransmissionsSent++;
        }
        if (misses != null) {
            upstream.requestFromPublisher(p, misses, nowMillis);
        }
    }

    @Override
    public void onConsumerStarted(Consumer consumer, long nowMillis) {
        resent.remove(consumer); // a new sync point (maybe another producer): a new sequence space
    }

    @Override
    public void onConsumerClosed(Consumer consumer) {
        resent.remove(consumer);
    }

    @Override
    public void onProducerClosed(Producer producer) {
        producer.stageState[slot] = null;
    }

    @Override
    public RouterOutput pollOutput() {
        return outputs.poll();
    }

    /** Sequence numbers NACKed by subscribers. */
    long nackedPackets() {
        return nackedPackets;
    }

    /** NACKed packets resent from the cache (same SSRC or RTX). */
    long retransmitted() {
        return retransmitted;
    }

    /** NACKed packets in the cache that were not resent (resent a moment ago, or too old). */
    long suppressed() {
        return suppressed;
    }

    /** NACKed sequence numbers not answered because the consumer was draining its layer (a congestion downgrade). */
    long skippedDraining() {
        return skippedDraining;
    }

    /** Of {@link #retransmitted()}, those sent on an RTX stream. */
    long retransmittedRtx() {
        return retransmittedRtx;
    }
}
