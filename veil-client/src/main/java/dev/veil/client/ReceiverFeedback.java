package dev.veil.client;

import dev.veil.webrtc.cc.RembGenerator;
import dev.veil.webrtc.cc.TransportFeedbackGenerator;
import dev.veil.webrtc.cc.TransportSequence;
import dev.veil.webrtc.rtcp.GenericNack;
import dev.veil.webrtc.rtcp.PictureLossIndication;
import dev.veil.webrtc.rtcp.Remb;
import dev.veil.webrtc.rtcp.RtcpCompound;
import dev.veil.webrtc.rtcp.RtcpPacket;
import dev.veil.webrtc.rtcp.TransportFeedback;
import dev.veil.webrtc.rtp.RtpException;
import dev.veil.webrtc.rtp.RtxUnwrap;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The receive side of a subscriber's media transport, as a browser runs it: congestion feedback to the server and
 * loss repair with NACK and RTX. Sans-IO and loop-confined: {@link MediaTransport} feeds every authenticated (SRTP
 * removed) RTP packet to {@link #onRtp}, delivers what it returns, calls {@link #poll} at {@link
 * #nextTimeoutMillis()} and sends each {@link #pollRtcp()} compound (SRTCP-protected).
 *
 * <ul>
 *   <li><b>Transport-wide feedback</b> (when the answer accepted the server's transport-wide sequence number and
 *       {@code transport-cc}): every packet carrying the extension, RTX padding included, is recorded with its
 *       arrival time by a {@link TransportFeedbackGenerator} (the same engine the server runs for its publishers:
 *       a feedback every 100 ms while packets arrive), so the server's downlink estimator measures this client's
 *       link. Otherwise, with {@code goog-remb}, a {@link RembGenerator} sends 1.5 × the received rate every 500 ms.</li>
 *   <li><b>RTX</b> (RFC 4588 §4): a packet on a stream's RTX SSRC is unwrapped into the original (OSN as sequence
 *       number, the media SSRC, the payload type its rtx payload type's {@code apt=} names); padding-only RTX (the
 *       server's bandwidth probes) is dropped after feedback counted it.</li>
 *   <li><b>NACK</b>: per received video stream a {@link NackTracker} finds gaps; the missing sequence numbers go out
 *       as Generic NACKs (RFC 4585) naming the media SSRC, again every 100 ms up to 10 times. A packet received twice
 *       (a retransmission that crossed the original) is dropped.</li>
 *   <li><b>PLI</b>: a packet given up, or a frame the connection abandons ({@link #frameLost}), makes the stream's
 *       {@link KeyFrameGate} send a Picture Loss Indication naming the media SSRC (at most one per 300 ms per
 *       stream, again every 500 ms until a key frame comes) and hold back delta frames until then ({@link
 *       #admitFrame}).</li>
 * </ul>
 * Packet, NACK, RTX and PLI counts of the connection's tracks go to its {@link ReceiveCounters}.
 * Packets of SSRCs not in the plan pass through untouched (the connection drops unknown tracks itself).
 */
final class ReceiverFeedback {

    /**
     * One stream the server sends this client (a {@code sendonly} m-line of its offer).
     *
     * @param mediaSsrc its SSRC
     * @param rtxSsrc its RTX SSRC ({@code a=ssrc-group:FID}), 0 without
     * @param aptByRtxPayloadType each rtx payload type of the m-line → the media payload type it repairs
     * @param video whether it is video (NACKed; audio is not)
     */
    record Stream(long mediaSsrc, long rtxSsrc, Map<Integer, Integer> aptByRtxPayloadType, boolean video) {
        Stream {
            aptByRtxPayloadType = Map.copyOf(aptByRtxPayloadType);
        }
    }

    /**
     * What the answer negotiated for the received streams.
     *
     * @param transportWideExtensionId the transport-wide sequence number's extmap id (with transport-cc), -1 if none
     * @param remb whether to send REMB (goog-remb accepted and no transport-wide feedback)
     * @param streams the received streams
     */
    record Plan(int transportWideExtensionId, boolean remb, List<Stream> streams) {
        Plan {
            streams = List.copyOf(streams);
        }

        static final Plan NONE = new Plan(-1, false, List.of());
    }

    /** Counters. */
    record Stats(long feedbackSent, long rembSent, long nackPacketsSent, long sequenceNumbersNacked,
            long rtxReceived, long rtxPadding, long repaired, long duplicates, long lost, long givenUp,
            long plisSent) {}

    private final long senderSsrc;
    private Plan plan = Plan.NONE;
    private TransportFeedbackGenerator twcc;
    private RembGenerator remb;
    private final Map<Long, Stream> byMedia = new HashMap<>();
    private final Map<Long, Stream> byRtx = new HashMap<>();
    private final Map<Long, NackTracker> trackers = new HashMap<>();
    private final KeyFrameGate gate = new KeyFrameGate();
    private final ReceiveCounters counters;
    private final ArrayDeque<byte[]> out = new ArrayDeque<>();
    private long feedbackSent;
    private long rembSent;
    private long nackPacketsSent;
    private long nacked;
    private long rtxReceived;
    private long rtxPadding;
    private long repaired;
    private long duplicates;
    private long plisSent;
    /** Lost/given-up counts of trackers that were removed (their streams left the plan). */
    private long lostGone;
    private long givenUpGone;

    /** @param senderSsrc the SSRC this client's RTCP is sent from */
    ReceiverFeedback(long senderSsrc) {
        this(senderSsrc, new ReceiveCounters());
    }

    /** @param counters where the per-track counts go */
    ReceiverFeedback(long senderSsrc, ReceiveCounters counters) {
        this.senderSsrc = senderSsrc;
        this.counters = counters;
    }

    /**
     * The plan of the current offer (first or re-offer). The feedback mode is fixed by the first plan that has one
     * (the extension id of a BUNDLE transport does not change); streams come and go with each plan.
     */
    void configure(Plan p) {
        Objects.requireNonNull(p, "plan");
        this.plan = p;
        if (twcc == null && remb == null) {
            if (p.transportWideExtensionId() > 0) {
                twcc = new TransportFeedbackGenerator(senderSsrc, TransportFeedbackGenerator.Config.defaults());
            } else if (p.remb()) {
                remb = new RembGenerator(senderSsrc, RembGenerator.Config.defaults());
            }
        }
        byMedia.clear();
        byRtx.clear();
        List<Long> media = new ArrayList<>();
        for (Stream s : p.streams()) {
            byMedia.put(s.mediaSsrc(), s);
            media.add(s.mediaSsrc());
            if (s.rtxSsrc() != 0) {
                byRtx.put(s.rtxSsrc(), s);
            }
        }
        trackers.entrySet().removeIf(e -> {
            if (byMedia.containsKey(e.getKey())) {
                return false;
            }
            lostGone += e.getValue().lost();
            givenUpGone += e.getValue().givenUp();
            gate.remove(e.getKey());
            return true;
        });
        if (remb != null) {
            remb.setSsrcs(media.size() > 255 ? media.subList(0, 255) : media);
        }
    }

    /**
     * One received RTP packet (SRTP removed).
     *
     * @param arrivalMicros when it arrived (any monotonic clock, in microseconds)
     * @return the packet to deliver (the original for an RTX packet), or null to drop it (padding, duplicate,
     *     malformed RTX)
     */
    byte[] onRtp(byte[] plain, long arrivalMicros, long nowMillis) {
        if (plain.length < 12) {
            return null;
        }
        long ssrc = ((plain[8] & 0xFFL) << 24) | ((plain[9] & 0xFF) << 16) | ((plain[10] & 0xFF) << 8)
                | (plain[11] & 0xFF);
        if (twcc != null) {
            int tw = TransportSequence.find(plain, 0, plain.length, plan.transportWideExtensionId());
            if (tw >= 0) {
                twcc.onPacket(tw, ssrc, arrivalMicros, nowMillis);
            }
        } else if (remb != null) {
            remb.onPacket(plain.length, nowMillis);
        }
        byte[] packet = plain;
        Stream s = byRtx.get(ssrc);
        boolean rtx = s != null;
        if (rtx) {
            Integer apt = s.aptByRtxPayloadType().get(plain[1] & 0x7F);
            if (apt == null) {
                return null; // not an rtx payload type of this m-line
            }
            try {
                packet = RtxUnwrap.unwrap(plain, s.mediaSsrc(), apt);
            } catch (RtpException e) {
                return null;
            }
            if (packet == null) {
                rtxPadding++;
                return null;
            }
            rtxReceived++;
        } else {
            s = byMedia.get(ssrc);
        }
        if (s == null) {
            return packet;
        }
        ReceiveCounters.Stream c = counters.stream(s.mediaSsrc());
        if (c != null && rtx) {
            c.rtx++;
        }
        if (s.video()) {
            NackTracker t = trackers.computeIfAbsent(s.mediaSsrc(), k -> new NackTracker());
            long before = t.recovered();
            int seq = ((packet[2] & 0xFF) << 8) | (packet[3] & 0xFF);
            boolean fresh = t.onPacket(seq, nowMillis);
            lossCheck(s.mediaSsrc(), t, c, nowMillis);
            if (!fresh) {
                duplicates++;
                return null;
            }
            if (rtx && t.recovered() > before) {
                repaired++;
                if (c != null) {
                    c.rtxRecovered++;
                }
            }
        }
        if (c != null) {
            c.packets++;
            c.bytes += packet.length;
        }
        return packet;
    }

    /** After a tracker ran: its loss count to the counters, and a packet given up to the key-frame gate. */
    private void lossCheck(long mediaSsrc, NackTracker t, ReceiveCounters.Stream c, long nowMillis) {
        long since = t.takeGivenUpSince();
        if (since != Long.MAX_VALUE) {
            gate.onLoss(mediaSsrc, since, nowMillis);
        }
        if (c != null) {
            c.lost = t.lost() - t.recovered();
        }
    }

    /**
     * The connection abandoned a frame of the video stream {@code mediaSsrc} (a packet never came, or it was too
     * large): a key frame is needed (a PLI is scheduled) and delta frames are held back until it comes.
     */
    void frameLost(long mediaSsrc, long nowMillis) {
        Stream s = byMedia.get(mediaSsrc);
        if (s != null && s.video()) {
            gate.onLoss(mediaSsrc, nowMillis, nowMillis);
        }
    }

    /**
     * Whether a completed, decrypted frame of {@code mediaSsrc} goes on: false for a delta frame while the stream
     * waits for a key frame after a loss.
     */
    boolean admitFrame(long mediaSsrc, boolean keyFrame, long nowMillis) {
        return !byMedia.containsKey(mediaSsrc) || gate.admit(mediaSsrc, keyFrame, nowMillis);
    }

    /** Runs what is due: a feedback round or REMB, NACKs of missing packets, PLIs. */
    void poll(long nowMillis) {
        if (twcc != null && twcc.nextTimeoutMillis() <= nowMillis) {
            twcc.poll(nowMillis);
            for (TransportFeedback fb; (fb = twcc.pollOutput()) != null; ) {
                feedbackSent++;
                out.add(RtcpCompound.write(List.of(fb)));
            }
        }
        if (remb != null && remb.nextTimeoutMillis() <= nowMillis) {
            remb.poll(nowMillis);
            for (Remb r; (r = remb.pollOutput()) != null; ) {
                rembSent++;
                out.add(RtcpCompound.write(List.of(r)));
            }
        }
        List<RtcpPacket> nacks = new ArrayList<>();
        for (Map.Entry<Long, NackTracker> e : trackers.entrySet()) {
            if (e.getValue().nextTimeoutMillis() > nowMillis) {
                continue;
            }
            List<Integer> due = e.getValue().poll(nowMillis);
            ReceiveCounters.Stream c = counters.stream(e.getKey());
            lossCheck(e.getKey(), e.getValue(), c, nowMillis);
            if (!due.isEmpty()) {
                nacks.add(new GenericNack(senderSsrc, e.getKey(), due));
                nacked += due.size();
                if (c != null) {
                    c.nacks += due.size();
                }
            }
        }
        nackPacketsSent += nacks.size();
        if (gate.nextTimeoutMillis() <= nowMillis) {
            for (long ssrc : gate.poll(nowMillis)) {
                nacks.add(new PictureLossIndication(senderSsrc, ssrc));
                plisSent++;
                ReceiveCounters.Stream c = counters.stream(ssrc);
                if (c != null) {
                    c.plis++;
                }
            }
        }
        if (!nacks.isEmpty()) {
            out.add(RtcpCompound.write(nacks));
        }
    }

    /** When {@link #poll} should run next ({@link Long#MAX_VALUE}: nothing scheduled). */
    long nextTimeoutMillis() {
        long next = Long.MAX_VALUE;
        if (twcc != null) {
            next = twcc.nextTimeoutMillis();
        }
        if (remb != null) {
            next = Math.min(next, remb.nextTimeoutMillis());
        }
        for (NackTracker t : trackers.values()) {
            next = Math.min(next, t.nextTimeoutMillis());
        }
        return Math.min(next, gate.nextTimeoutMillis());
    }

    /** The next RTCP compound to send (plain, to be SRTCP-protected), or null. */
    byte[] pollRtcp() {
        return out.poll();
    }

    /** "transport-cc", "goog-remb" or "none". */
    String mode() {
        return twcc != null ? "transport-cc" : remb != null ? "goog-remb" : "none";
    }

    Stats stats() {
        long lost = lostGone;
        long givenUp = givenUpGone;
        for (NackTracker t : trackers.values()) {
            lost += t.lost();
            givenUp += t.givenUp();
        }
        return new Stats(feedbackSent, rembSent, nackPacketsSent, nacked, rtxReceived, rtxPadding, repaired,
                duplicates, lost, givenUp, plisSent);
    }
}
