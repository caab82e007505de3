package dev.veil.server;

import dev.veil.webrtc.cc.DelayDetector;
import dev.veil.webrtc.cc.DownlinkEstimator;
import dev.veil.webrtc.cc.SendHistory;
import dev.veil.webrtc.cc.TransportWideStamper;
import dev.veil.webrtc.rtcp.RtcpCompound;
import dev.veil.webrtc.rtcp.RtcpException;
import dev.veil.webrtc.rtcp.RtcpPacket;
import dev.veil.webrtc.rtcp.Remb;
import dev.veil.webrtc.rtcp.TransportFeedback;
import dev.veil.webrtc.sdp.Codec;
import dev.veil.webrtc.sdp.Extmap;
import dev.veil.webrtc.sdp.SdpAnswer;
import java.util.Collection;
import java.util.Map;
import java.util.Optional;

/**
 * Downlink congestion control for one subscriber's transport, as its answer accepted it on the server's SENDONLY
 * m-lines: with the transport-wide sequence number and {@code transport-cc}, every RTP packet sent is stamped
 * ({@link TransportWideStamper}) and the subscriber's transport-wide feedback feeds a {@link DownlinkEstimator};
 * with {@code goog-remb} alone, its REMBs do. Plain glue on the event loop, like {@link UplinkCc}: {@link RtcPeer}
 * passes every RTP packet it sends through {@link #onSend}, every RTCP compound it receives through {@link #onRtcp},
 * and polls at {@link #nextTimeoutMillis()}. The estimate is exposed as aggregate gauges in /metrics (no ids).
 */
final class DownlinkCc {

    private final TransportWideStamper stamper;
    private final DownlinkEstimator estimator;
    private long feedbackReceived;
    private long rembReceived;
    private long rtcpUnparsable;
    private long lastCongestionMillis = Long.MIN_VALUE;

    private DownlinkCc(TransportWideStamper stamper, DownlinkEstimator estimator) {
        this.stamper = stamper;
        this.estimator = estimator;
    }

    /**
     * What the answer accepted on the server's sending m-lines {@code mids}.
     *
     * @return null if it accepted neither transport-cc (with the extension) nor goog-remb
     */
    static DownlinkCc negotiate(SdpAnswer a, Collection<String> mids, int firstSequence) {
        int ext = -1;
        boolean remb = false;
        for (String mid : mids) {
            Optional<SdpAnswer.Media> m = a.media(mid);
            if (m.isEmpty() || m.get().rejected() || !m.get().direction().receives()
                    || m.get().payloadTypes().isEmpty()) {
                continue;
            }
            Optional<Codec> codec = m.get().codec(m.get().payloadTypes().get(0));
            java.util.List<String> fb = codec.map(Codec::rtcpFeedback).orElse(java.util.List.of());
            Optional<Integer> id = m.get().extmapId(Extmap.TRANSPORT_WIDE_CC);
            if (id.isPresent() && fb.contains("transport-cc") && ext < 0) {
                ext = id.get(); // BUNDLE: one id for the transport
            }
            remb |= fb.contains("goog-remb");
        }
        if (ext < 0 && !remb) {
            return null;
        }
        SendHistory history = new SendHistory(4096, firstSequence & 0xFFFF);
        return new DownlinkCc(ext > 0 ? new TransportWideStamper(ext, history) : null,
                new DownlinkEstimator(history, DownlinkEstimator.Config.defaults()));
    }

    /** "transport-cc" or "goog-remb". */
    String mode() {
        return stamper != null ? "transport-cc" : "goog-remb";
    }

    /** The packet to send instead of {@code plain} (stamped; possibly a longer copy with the element added). */
    byte[] onSend(byte[] plain, long sendMicros) {
        return stamper == null ? plain : stamper.stampOrAdd(plain, sendMicros);
    }

    /** A received RTCP compound (plain): its transport-wide feedback and REMB, if any, feed the estimator. */
    void onRtcp(byte[] compound, long nowMillis) {
        if (!mayCarryFeedback(compound)) {
            return;
        }
        try {
            for (RtcpPacket p : RtcpCompound.parse(compound)) {
                if (p instanceof TransportFeedback fb) {
                    if (stamper != null) {
                        feedbackReceived++;
                        estimator.onFeedback(fb, nowMillis);
                    }
                } else if (p instanceof Remb r) {
                    rembReceived++;
                    estimator.onRemb(r, nowMillis);
                }
            }
        } catch (RtcpException | RuntimeException e) {
            rtcpUnparsable++; // the router counts and drops it too
        }
        drainEstimates(nowMillis);
    }

    /**
     * Reads the estimator's outputs: remembers when it last saw congestion (delay overuse, a REMB, a feedback
     * timeout). A loss cut alone does not count: random loss (a lossy hop, no queue) makes short samples cross the
     * 10% line now and then, and a layer switch for it costs the subscriber a key-frame wait for nothing — measured
     * with 5% random loss: 160×90 and a 3.4 s stall. A link that is really full builds a queue, which the delay
     * detector reports as overuse; the loss-based limit still lowers the estimate the layer choice then uses.
     */
    private void drainEstimates(long nowMillis) {
        DownlinkEstimator.Output o;
        while ((o = estimator.pollOutput()) != null) {
            if (o instanceof DownlinkEstimator.Estimate e && (e.usage() == DelayDetector.Usage.OVERUSE
                    || e.cause() == DownlinkEstimator.Cause.REMB
                    || e.cause() == DownlinkEstimator.Cause.TIMEOUT)) {
                lastCongestionMillis = nowMillis;
            }
        }
    }

    /** When the estimate was last moved by congestion (overuse, a REMB, a feedback timeout); MIN_VALUE: never. */
    long lastCongestionMillis() {
        return lastCongestionMillis;
    }

    /** A header walk: whether the compound holds an RTPFB FMT=15 or PSFB FMT=15 packet (before parsing it all). */
    static boolean mayCarryFeedback(byte[] b) {
        int p = 0;
        while (p + 4 <= b.length) {
            int fmt = b[p] & 0x1F;
            int pt = b[p + 1] & 0xFF;
            if (fmt == 15 && (pt == RtcpPacket.PT_RTPFB || pt == RtcpPacket.PT_PSFB)) {
                return true;
            }
            p += 4 * ((((b[p + 2] & 0xFF) << 8) | (b[p + 3] & 0xFF)) + 1);
        }
        return false;
    }

    long nextTimeoutMillis() {
        return estimator.nextTimeoutMillis();
    }

    void poll(long nowMillis) {
        estimator.poll(nowMillis);
        drainEstimates(nowMillis);
    }

    /** The current estimate of the subscriber's downlink, bits per second. */
    long estimateBps() {
        return estimator.estimateBps();
    }

    DownlinkEstimator.Stats stats() {
        return estimator.stats();
    }

    /** Counters (folded into the totals when the peer closes). */
    void addCounters(Map<String, Long> out) {
        DownlinkEstimator.Stats s = estimator.stats();
        if (stamper != null) {
            out.merge("media.downlink.packets_stamped", stamper.stamped(), Long::sum);
            out.merge("media.downlink.stamp_element_added", stamper.added(), Long::sum);
        }
        out.merge("media.downlink.twcc_feedback_received", feedbackReceived, Long::sum);
        out.merge("media.downlink.remb_received", rembReceived, Long::sum);
        out.merge("media.downlink.packets_reported", s.packetsReported(), Long::sum);
        out.merge("media.downlink.packets_lost", s.packetsLost(), Long::sum);
        out.merge("media.downlink.unknown_reported", s.unknown(), Long::sum);
        out.merge("media.downlink.feedback_timeouts", s.timeouts(), Long::sum);
        out.merge("media.downlink.rtcp_unparsable", rtcpUnparsable, Long::sum);
    }

    /** Gauges of the live estimators (never folded into totals): count, sum, min and max of the estimates. */
    void addGauges(Map<String, Long> out) {
        long e = estimator.estimateBps();
        out.merge(Metrics.GAUGE_PREFIX + "media.downlink.estimators", 1L, Long::sum);
        out.merge(Metrics.GAUGE_PREFIX + "media.downlink.estimate_bps_sum", e, Long::sum);
        out.merge(Metrics.GAUGE_PREFIX + "media.downlink.estimate_bps_min", e, Math::min);
        out.merge(Metrics.GAUGE_PREFIX + "media.downlink.estimate_bps_max", e, Math::max);
    }
}
