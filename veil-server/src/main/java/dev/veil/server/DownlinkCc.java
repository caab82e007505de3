package dev.veil.server;

import dev.veil.webrtc.cc.DownlinkEstimator;
import dev.veil.webrtc.cc.ProbeController;
import dev.veil.webrtc.cc.Prober;
import dev.veil.webrtc.cc.SendHistory;
import dev.veil.webrtc.cc.TransportWideStamper;
import dev.veil.webrtc.rtcp.RtcpCompound;
import dev.veil.webrtc.rtcp.RtcpException;
import dev.veil.webrtc.rtcp.RtcpPacket;
import dev.veil.webrtc.rtcp.Remb;
import dev.veil.webrtc.rtcp.TransportFeedback;
import dev.veil.webrtc.router.Consumer;
import dev.veil.webrtc.router.Router;
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
 *
 * <h2>Probes</h2>
 * With transport-cc and an RTX stream on a forwarded video m-line, the subscriber's {@link ProbeController} probes
 * before a layer goes up: its {@link Prober} paces a cluster of padding-only packets ({@link Prober.Config#padding()})
 * that {@link #sendProbes} builds on a video consumer's RTX stream ({@link Consumer#padding}: RFC 3550 padding, no
 * payload, so no frame — nothing a subscriber's decoder or E2EE layer ever sees) and stamps with the cluster id;
 * the estimator measures them from the feedback. Without either (REMB only), the controller steps up by trial.
 */
final class DownlinkCc {

    private final TransportWideStamper stamper;
    private final DownlinkEstimator estimator;
    private long feedbackReceived;
    private long rembReceived;
    private long rtcpUnparsable;
    private long lastRembMillis = Long.MIN_VALUE;
    private final Prober prober;
    private final ProbeController probes;
    private long probePackets;
    private long probeBytes;
    private long probesUnsent;

    private DownlinkCc(TransportWideStamper stamper, DownlinkEstimator estimator, boolean padding) {
        this.stamper = stamper;
        this.estimator = estimator;
        this.prober = stamper != null && padding ? new Prober(Prober.Config.padding()) : null;
        this.probes = new ProbeController(ProbeController.Config.defaults(), prober, estimator);
    }

    /**
     * What the answer accepted on the server's sending m-lines {@code mids}.
     *
     * @return null if it accepted neither transport-cc (with the extension) nor goog-remb
     */
    static DownlinkCc negotiate(SdpAnswer a, Collection<String> mids, int firstSequence) {
        int ext = -1;
        boolean remb = false;
        boolean rtx = false;
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
            for (int pt : m.get().payloadTypes()) {
                rtx |= m.get().codec(pt).map(c -> "rtx".equalsIgnoreCase(c.name())).orElse(false);
            }
        }
        if (ext < 0 && !remb) {
            return null;
        }
        SendHistory history = new SendHistory(4096, firstSequence & 0xFFFF);
        return new DownlinkCc(ext > 0 ? new TransportWideStamper(ext, history) : null,
                new DownlinkEstimator(history, DownlinkEstimator.Config.defaults()), rtx);
    }

    /** The subscriber's way up (probing with transport-cc and an RTX stream, else trial). */
    ProbeController probes() {
        return probes;
    }

    /** "transport-cc" or "goog-remb". */
    String mode() {
        return stamper != null ? "transport-cc" : "goog-remb";
    }

    /** The packet to send instead of {@code plain} (stamped; possibly a longer copy with the element added). */
    byte[] onSend(byte[] plain, long sendMicros) {
        return stamper == null ? plain : stamper.stampOrAdd(plain, sendMicros);
    }

    /**
     * {@link #onSend} in place, for a forwarded packet in the router's buffer ({@code capacity} bytes of room from
     * {@code off}): returns its length after stamping (4 or 8 bytes longer if the element had to be added).
     */
    int onSendInPlace(byte[] buf, int off, int len, int capacity, long sendMicros) {
        return stamper == null ? len : stamper.stampOrAddInPlace(buf, off, len, capacity, sendMicros);
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
                    lastRembMillis = nowMillis;
                    estimator.onRemb(r, nowMillis);
                }
            }
        } catch (RtcpException | RuntimeException e) {
            rtcpUnparsable++; // the router counts and drops it too
        }
        drainEstimates(nowMillis);
    }

    /**
     * Reads the estimator's outputs: probe results go to the probe controller. (When the estimator saw congestion is
     * its own {@link DownlinkEstimator#lastCongestionMillis()}: delay overuse, a heavy-loss sample, a feedback timeout.
     * A loss cut alone does not count: random loss (a lossy hop, no queue) makes short samples cross the 10% line now
     * and then, and a layer switch for it costs the subscriber a key-frame wait for nothing — measured with 5% random
     * loss: 160×90 and a 3.4 s stall. A REMB counts only below what the current layers cost: {@link DownlinkLayers}.)
     */
    private void drainEstimates(long nowMillis) {
        DownlinkEstimator.Output o;
        while ((o = estimator.pollOutput()) != null) {
            if (o instanceof DownlinkEstimator.ProbeResult r) {
                probes.onProbeResult(r, nowMillis);
            }
        }
    }

    /** When the estimate was last moved by congestion (overuse, heavy loss, a feedback timeout); MIN_VALUE: never. */
    long lastCongestionMillis() {
        return estimator.lastCongestionMillis();
    }

    /** When the subscriber last sent a REMB; MIN_VALUE: never. */
    long lastRembMillis() {
        return lastRembMillis;
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

    /** The estimator's feedback timeout or the prober's next packet, whichever is first. */
    long nextTimeoutMillis() {
        long next = estimator.nextTimeoutMillis();
        return prober == null ? next : Math.min(next, prober.nextTimeoutMillis());
    }

    /**
     * Runs what is due.
     *
     * @return whether the estimator's timeout ran (the estimate moved: the layers should be re-chosen)
     */
    boolean poll(long nowMillis) {
        boolean estimatorDue = estimator.nextTimeoutMillis() <= nowMillis;
        if (estimatorDue) {
            estimator.poll(nowMillis);
            drainEstimates(nowMillis);
        }
        if (prober != null && prober.nextTimeoutMillis() <= nowMillis) {
            prober.poll(nowMillis);
        }
        return estimatorDue;
    }

    /** Whether probe packets are due ({@link #sendProbes}). */
    boolean probesDue() {
        return prober != null && prober.hasOutput();
    }

    /**
     * Builds, stamps and hands to {@code send} the probe packets that are due: padding-only packets on the RTX stream
     * of the first started video consumer of {@code consumerIds} that has one (none: the packets are counted as
     * unsent and the cluster is {@link Prober#disturbed}: the controller counts it as spoiled, not failed, and probes
     * again after the prober's usual pause instead of backing off).
     */
    void sendProbes(Router router, Iterable<String> consumerIds, long sendMicros,
            java.util.function.Consumer<byte[]> send) {
        if (prober == null) {
            return;
        }
        Prober.Packet p;
        while ((p = prober.pollOutput()) != null) {
            byte[] pad = null;
            for (String id : consumerIds) {
                Consumer c = router.findConsumer(id);
                pad = c == null || c.closed() ? null : c.padding(p.bytes(), stamper.extensionId());
                if (pad != null) {
                    break;
                }
            }
            if (pad == null) {
                probesUnsent++;
                prober.onUnsent(p.cluster()); // the cluster's shortfall is then ours, not the link's: no backoff
                continue;
            }
            if (stamper.stamp(pad, 0, pad.length, sendMicros, p.cluster()) < 0) {
                probesUnsent++; // (cannot happen: the element was reserved)
                continue;
            }
            probePackets++;
            probeBytes += pad.length;
            send.accept(pad);
        }
    }

    /** The current estimate of the subscriber's downlink, bits per second. */
    long estimateBps() {
        return estimator.estimateBps();
    }

    /** The estimate once the subscriber's feedback or REMB informed it (0 while it is the initial guess). */
    long measuredEstimateBps() {
        return feedbackReceived > 0 || rembReceived > 0 ? estimator.estimateBps() : 0;
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
        out.merge("media.downlink.probe_packets", probePackets, Long::sum);
        out.merge("media.downlink.probe_bytes", probeBytes, Long::sum);
        out.merge("media.downlink.probe_packets_unsent", probesUnsent, Long::sum);
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
