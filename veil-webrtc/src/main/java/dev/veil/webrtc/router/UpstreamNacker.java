package dev.veil.webrtc.router;

import dev.veil.webrtc.rtcp.GenericNack;
import dev.veil.webrtc.rtp.RtpHeader;
import dev.veil.webrtc.rtp.RtpPacket;
import dev.veil.webrtc.sdp.MediaKind;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Upstream loss NACKer: repairs what the SFU itself lost on the publisher → SFU leg.
 *
 * <ul>
 *   <li><b>Gap detection</b> (video producers): a packet whose sequence number jumps ahead of the highest one seen
 *       marks the numbers in between missing. Each missing number is NACKed to the publisher after
 *       {@link RouterConfig#upstreamNackReorderMillis()} (a packet merely reordered arrives before that), then again
 *       with exponential back-off ({@link RouterConfig#upstreamNackRetryMillis()}, doubled after each try) up to
 *       {@link RouterConfig#upstreamNackMaxRetries()} times; it is forgotten as soon as it arrives (a retransmission,
 *       after the publisher's RTX is unwrapped by the server) or after the last try. At most {@link #MAX_TRACKED}
 *       numbers are tracked per producer (the oldest are given up first); a jump larger than the
 *       retransmission cache (a restarted stream) is not NACKed at all.</li>
 *   <li><b>Subscribers' misses</b>: a NACKed packet that the {@link NackResponder}'s cache does not hold is asked
 *       for upstream through {@link #requestFromPublisher}, at most once per sequence number per
 *       {@link RouterConfig#nackUpstreamHoldMillis()} (several subscribers usually miss the same packet).</li>
 * </ul>
 * NACKs of one poll are batched into one Generic NACK per producer, sent with the router's RTCP SSRC.
 */
final class UpstreamNacker implements Stage {
    /** Missing sequence numbers tracked per producer at most. */
    static final int MAX_TRACKED = 256;

    /** One missing packet. */
    private static final class Missing {
        long dueMillis;
        int tries;

        Missing(long dueMillis) {
            this.dueMillis = dueMillis;
        }
    }

    /** Per producer. */
    private static final class Loss {
        final Producer producer;
        boolean started;
        long highestExt;
        /** Extended sequence number → state, oldest first. */
        final TreeMap<Long, Missing> missing = new TreeMap<>();
        /** Subscriber-driven hold: slot seq % N holds the seq NACKed at {@code heldAt[slot]}. */
        final int[] heldSeq;
        final long[] heldAt;

        Loss(Producer producer, int size) {
            this.producer = producer;
            heldSeq = new int[size];
            heldAt = new long[size];
            Arrays.fill(heldAt, Long.MIN_VALUE);
        }
    }

    private final int slot;
    private final RouterConfig config;
    private final long rtcpSsrc;
    private final Map<Producer, Loss> byProducer = new LinkedHashMap<>();
    private final ArrayDeque<RouterOutput> outputs = new ArrayDeque<>();
    private long nextDueMillis = NO_DEADLINE;

    private long nackedUpstream;
    private long gapsDetected;
    private long recovered;
    private long givenUp;

    UpstreamNacker(int slot, RouterConfig config, long rtcpSsrc) {
        this.slot = slot;
        this.config = config;
        this.rtcpSsrc = rtcpSsrc;
    }

    private Loss loss(Producer p) {
        Loss l = (Loss) p.stageState[slot];
        if (l == null) {
            l = new Loss(p, config.retransmissionCacheSize());
            p.stageState[slot] = l;
            byProducer.put(p, l);
        }
        return l;
    }

    @Override
    public void onProducerRtp(Producer producer, RtpPacket packet, boolean keyFrame, long nowMillis) {
        if (producer.kind() != MediaKind.VIDEO || config.upstreamNackMaxRetries() == 0) {
            return;
        }
        Loss l = loss(producer);
        int seq = packet.sequenceNumber();
        if (!l.started) {
            l.started = true;
            l.highestExt = seq;
            return;
        }
        long ext = l.highestExt + RtpHeader.seqDelta((int) (l.highestExt & 0xFFFF), seq);
        long ahead = ext - l.highestExt;
        if (ahead == 1) {
            l.highestExt = ext; // the common case: in order, nothing missing
            return;
        }
        if (ahead <= 0) {
            if (!l.missing.isEmpty() && l.missing.remove(ext) != null) {
                recovered++;
            }
            return;
        }
        if (ahead > config.retransmissionCacheSize()) {
            l.missing.clear(); // a restart or a jump: nothing sensible to ask for
        } else {
            long due = nowMillis + config.upstreamNackReorderMillis();
            for (long s = l.highestExt + 1; s < ext; s++) {
                l.missing.put(s, new Missing(due));
                gapsDetected++;
            }
            while (l.missing.size() > MAX_TRACKED) {
                l.missing.pollFirstEntry();
                givenUp++;
            }
            nextDueMillis = Math.min(nextDueMillis, due);
        }
        l.highestExt = ext;
    }

    /**
     * Asks the publisher of {@code p} for {@code seqs} now (subscribers NACKed them and the cache missed), except
     * those asked for within the hold time.
     */
    void requestFromPublisher(Producer p, List<Integer> seqs, long nowMillis) {
        Loss l = loss(p);
        int mask = l.heldSeq.length - 1;
        List<Integer> send = new ArrayList<>();
        for (int seq : seqs) {
            int i = seq & mask;
            if (l.heldSeq[i] == seq && l.heldAt[i] != Long.MIN_VALUE
                    && nowMillis - l.heldAt[i] < config.nackUpstreamHoldMillis()) {
                continue; // already asked the publisher for it a moment ago
            }
            l.heldSeq[i] = seq;
            l.heldAt[i] = nowMillis;
            send.add(seq);
        }
        if (!send.isEmpty()) {
            nackedUpstream += send.size();
            outputs.add(new RouterOutput.Rtcp(p.peerId(), new GenericNack(rtcpSsrc, p.ssrc(), send).encode()));
        }
    }

    @Override
    public long poll(long nowMillis) {
        if (nowMillis < nextDueMillis) {
            return nextDueMillis;
        }
        long next = NO_DEADLINE;
        for (Loss l : byProducer.values()) {
            if (l.missing.isEmpty()) {
                continue;
            }
            List<Integer> batch = null;
            for (Iterator<Map.Entry<Long, Missing>> it = l.missing.entrySet().iterator(); it.hasNext(); ) {
                Map.Entry<Long, Missing> e = it.next();
                Missing m = e.getValue();
                if (m.dueMillis > nowMillis) {
                    next = Math.min(next, m.dueMillis);
                    continue;
                }
                if (m.tries >= config.upstreamNackMaxRetries()) {
                    it.remove();
                    givenUp++;
                    continue;
                }
                if (batch == null) {
                    batch = new ArrayList<>();
                }
                int seq = (int) (e.getKey() & 0xFFFF);
                batch.add(seq);
                int i = seq & (l.heldSeq.length - 1);
                l.heldSeq[i] = seq;
                l.heldAt[i] = nowMillis;
                m.dueMillis = nowMillis + (config.upstreamNackRetryMillis() << m.tries);
                m.tries++;
                next = Math.min(next, m.dueMillis);
            }
            if (batch != null) {
                nackedUpstream += batch.size();
                Producer p = l.producer;
                outputs.add(new RouterOutput.Rtcp(p.peerId(), new GenericNack(rtcpSsrc, p.ssrc(), batch).encode()));
            }
        }
        nextDueMillis = next;
        return next;
    }

    @Override
    public void onProducerClosed(Producer producer) {
        byProducer.remove(producer);
        producer.stageState[slot] = null;
    }

    @Override
    public RouterOutput pollOutput() {
        return outputs.poll();
    }

    /** Sequence numbers NACKed to publishers (gap detection and subscribers' misses, every try counted). */
    long nackedUpstream() {
        return nackedUpstream;
    }

    /** Sequence numbers found missing in publishers' streams. */
    long gapsDetected() {
        return gapsDetected;
    }

    /** Missing sequence numbers that arrived later (reordered or retransmitted). */
    long recovered() {
        return recovered;
    }

    /** Missing sequence numbers given up (retries exhausted or too many tracked). */
    long givenUp() {
        return givenUp;
    }
}
