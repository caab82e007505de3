package dev.veil.webrtc.router;

import dev.veil.webrtc.rtcp.RtcpPacket;
import dev.veil.webrtc.rtp.RtpPacket;

/**
 * The stage pipeline of a {@link Router}: the built-in {@link Stage}s (receiver reports, NACK responder, upstream
 * NACKer, key-frame requester, SR rewriter, in that order), then those added with {@link Router#addStage}; each
 * event is fanned out to them in that order, their deadlines and outputs collected in that order. The built-in ones
 * are called directly on the per-packet path (no interface dispatch per packet).
 */
final class RouterStages {
    final ReceiverReportScheduler receiverReports;
    final UpstreamNacker upstreamNacker;
    final NackResponder nackResponder;
    final KeyFrameRequester keyFrames;
    final SenderReportRewriter senderReports;
    /** Every stage in order: the built-in ones, then those added. */
    private Stage[] stages;
    /** The stages added with {@link #add} (the built-in ones are called directly on the per-packet path). */
    private Stage[] added = new Stage[0];
    private int nextSlot;

    RouterStages(RouterConfig config, long rtcpSsrc) {
        receiverReports = new ReceiverReportScheduler(nextSlot++, config, rtcpSsrc);
        upstreamNacker = new UpstreamNacker(nextSlot++, config, rtcpSsrc);
        nackResponder = new NackResponder(nextSlot++, config, upstreamNacker);
        keyFrames = new KeyFrameRequester(config, rtcpSsrc);
        senderReports = new SenderReportRewriter();
        stages = new Stage[] {receiverReports, nackResponder, upstreamNacker, keyFrames, senderReports};
    }

    /** Appends a stage to the pipeline. */
    void add(Stage stage) {
        Stage[] more = java.util.Arrays.copyOf(stages, stages.length + 1);
        more[stages.length] = stage;
        stages = more;
        Stage[] moreAdded = java.util.Arrays.copyOf(added, added.length + 1);
        moreAdded[added.length] = stage;
        added = moreAdded;
    }

    /** A free slot of per-producer state ({@link Producer#stageState}); there are {@link Router#STAGE_SLOTS}. */
    int allocateSlot() {
        if (nextSlot == Router.STAGE_SLOTS) {
            throw new IllegalStateException("no stage slot left");
        }
        return nextSlot++;
    }

    /**
     * A producer's RTP packet: to the built-in stages that look at every packet, called directly (the key-frame
     * requester and SR rewriter have nothing to do per packet), then to the added ones.
     */
    void onProducerRtp(Producer p, RtpPacket pkt, boolean key, long nowMillis) {
        receiverReports.onProducerRtp(p, pkt, key, nowMillis);
        nackResponder.onProducerRtp(p, pkt, key, nowMillis);
        upstreamNacker.onProducerRtp(p, pkt, key, nowMillis);
        for (Stage s : added) {
            s.onProducerRtp(p, pkt, key, nowMillis);
        }
    }

    void onProducerRtcp(Producer p, RtcpPacket packet, long nowMillis) {
        for (Stage s : stages) {
            s.onProducerRtcp(p, packet, nowMillis);
        }
    }

    void onConsumerRtcp(Consumer c, RtcpPacket packet, long nowMillis) {
        for (Stage s : stages) {
            s.onConsumerRtcp(c, packet, nowMillis);
        }
    }

    void onPeerRtcp(String peerId, RtcpPacket packet, long nowMillis) {
        for (Stage s : stages) {
            s.onPeerRtcp(peerId, packet, nowMillis);
        }
    }

    void onConsumerStarted(Consumer c, long nowMillis) {
        for (Stage s : stages) {
            s.onConsumerStarted(c, nowMillis);
        }
    }

    void onConsumerClosed(Consumer c) {
        for (Stage s : stages) {
            s.onConsumerClosed(c);
        }
    }

    void onProducerClosed(Producer p) {
        for (Stage s : stages) {
            s.onProducerClosed(p);
        }
    }

    /** Runs every stage's timers; returns the earliest next deadline. */
    long poll(long nowMillis) {
        long next = Math.min(receiverReports.poll(nowMillis),
                Math.min(upstreamNacker.poll(nowMillis), keyFrames.poll(nowMillis)));
        for (Stage s : added) {
            next = Math.min(next, s.poll(nowMillis));
        }
        return next;
    }

    /** The next output of the stages (the built-in ones first, then the added ones), or null. */
    RouterOutput pollOutput() {
        RouterOutput o;
        if ((o = receiverReports.pollOutput()) == null && (o = nackResponder.pollOutput()) == null
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
}
