package dev.veil.server;

import dev.veil.webrtc.cc.RembGenerator;
import dev.veil.webrtc.cc.TransportFeedbackGenerator;
import dev.veil.webrtc.cc.TransportSequence;
import dev.veil.webrtc.rtcp.Remb;
import dev.veil.webrtc.rtcp.TransportFeedback;
import dev.veil.webrtc.sdp.Codec;
import dev.veil.webrtc.sdp.Extmap;
import dev.veil.webrtc.sdp.SdpAnswer;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Uplink congestion control for one publisher's transport, as negotiated by its answer: transport-wide feedback
 * ({@link TransportFeedbackGenerator}) when an upload m-line accepted the transport-wide sequence number extension
 * and {@code transport-cc}; else REMB ({@link RembGenerator}) when its video accepted {@code goog-remb}; else
 * nothing ({@link #negotiate} returns null). Plain glue on the event loop: {@link RtcPeer} feeds every received RTP
 * packet, polls at {@link #nextTimeoutMillis()} and sends what {@link #pollRtcp()} returns as SRTCP.
 */
final class UplinkCc {

    /** Transport-wide feedback, or null. */
    private final TransportFeedbackGenerator twcc;
    /** The transport's extmap id of the transport-wide sequence number (one per BUNDLE transport). */
    private final int extId;
    /** REMB fallback, or null. */
    private final RembGenerator remb;
    private long twccPackets;
    private long paddingPackets;
    private long feedbackSent;
    private long rembSent;

    private UplinkCc(TransportFeedbackGenerator twcc, int extId, RembGenerator remb) {
        this.twcc = twcc;
        this.extId = extId;
        this.remb = remb;
    }

    /**
     * What the answer accepted on the upload m-lines {@code mids} (null entries ignored).
     *
     * @param ssrcs the publisher's media SSRCs (named in REMB)
     * @return null if it accepted neither transport-cc nor goog-remb
     */
    static UplinkCc negotiate(SdpAnswer a, List<String> mids, List<Long> ssrcs, long rtcpSsrc) {
        int ext = -1;
        boolean rembOk = false;
        for (String mid : mids) {
            if (mid == null) {
                continue;
            }
            Optional<SdpAnswer.Media> m = a.media(mid);
            if (m.isEmpty() || m.get().rejected() || !m.get().direction().sends()
                    || m.get().payloadTypes().isEmpty()) {
                continue;
            }
            Optional<Codec> codec = m.get().codec(m.get().payloadTypes().get(0));
            List<String> fb = codec.map(Codec::rtcpFeedback).orElse(List.of());
            Optional<Integer> id = m.get().extmapId(Extmap.TRANSPORT_WIDE_CC);
            if (id.isPresent() && fb.contains("transport-cc") && ext < 0) {
                // BUNDLE: one id for the transport; an m-line answering another id keeps the first one's
                ext = id.get();
            }
            rembOk |= fb.contains("goog-remb");
        }
        if (ext > 0) {
            return new UplinkCc(new TransportFeedbackGenerator(rtcpSsrc, TransportFeedbackGenerator.Config.defaults()),
                    ext, null);
        }
        if (rembOk) {
            RembGenerator r = new RembGenerator(rtcpSsrc, RembGenerator.Config.defaults());
            r.setSsrcs(ssrcs.size() > 255 ? ssrcs.subList(0, 255) : ssrcs);
            return new UplinkCc(null, -1, r);
        }
        return null;
    }

    /** Which mechanism runs ("transport-cc" or "goog-remb"). */
    String mode() {
        return twcc != null ? "transport-cc" : "goog-remb";
    }

    /** A received (decrypted) RTP packet. */
    void onRtp(byte[] packet, long arrivalMicros, long nowMillis) {
        onRtp(packet, 0, packet.length, arrivalMicros, nowMillis);
    }

    /** A received (decrypted) RTP packet in {@code buf[off, off+len)} (the in-place receive path). */
    void onRtp(byte[] buf, int off, int len, long arrivalMicros, long nowMillis) {
        if (twcc != null) {
            int seq = TransportSequence.find(buf, off, len, extId);
            if ((buf[off] & 0x20) != 0) {
                paddingPackets++;
            }
            if (seq >= 0) {
                twccPackets++;
                long ssrc = ((buf[off + 8] & 0xFFL) << 24) | ((buf[off + 9] & 0xFF) << 16)
                        | ((buf[off + 10] & 0xFF) << 8) | (buf[off + 11] & 0xFF);
                twcc.onPacket(seq, ssrc, arrivalMicros, nowMillis);
            }
        } else {
            remb.onPacket(len, nowMillis);
        }
    }

    long nextTimeoutMillis() {
        return twcc != null ? twcc.nextTimeoutMillis() : remb.nextTimeoutMillis();
    }

    void poll(long nowMillis) {
        if (twcc != null) {
            twcc.poll(nowMillis);
        } else {
            remb.poll(nowMillis);
        }
    }

    /** The next RTCP packet to send (plain, to be SRTCP-protected), or null. */
    byte[] pollRtcp() {
        if (twcc != null) {
            TransportFeedback f = twcc.pollOutput();
            if (f == null) {
                return null;
            }
            feedbackSent++;
            return f.encode();
        }
        Remb r = remb.pollOutput();
        if (r == null) {
            return null;
        }
        rembSent++;
        return r.encode();
    }

    void addCounters(Map<String, Long> out) {
        out.merge("media.uplink.twcc_packets", twccPackets, Long::sum);
        out.merge("media.uplink.twcc_feedback_sent", feedbackSent, Long::sum);
        out.merge("media.uplink.remb_sent", rembSent, Long::sum);
        out.merge("media.uplink.padded_packets", paddingPackets, Long::sum);
        if (twcc != null) {
            TransportFeedbackGenerator.Stats s = twcc.stats();
            out.merge("media.uplink.twcc_late", s.late(), Long::sum);
            out.merge("media.uplink.twcc_duplicates", s.duplicates(), Long::sum);
        }
    }
}
