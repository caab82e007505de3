package dev.veil.webrtc.router;

import dev.veil.webrtc.rtcp.RtcpCompound;
import dev.veil.webrtc.rtcp.RtcpPacket;
import dev.veil.webrtc.rtcp.SenderReport;
import dev.veil.webrtc.rtcp.SourceDescription;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * SR rewriter: a publisher's sender report becomes one SR per consumer that is forwarding (synced, not paused):
 * the consumer's SSRC, its RTP timestamp for the SR's ({@link Consumer#outTimestamp}), its own packet and octet
 * counts; the NTP time is kept, so the audio and video of one publisher stay in sync at the subscriber. An SDES
 * CNAME chunk follows when the consumer has a CNAME. Stateless apart from its counter.
 */
final class SenderReportRewriter implements Stage {

    private final ArrayDeque<RouterOutput> outputs = new ArrayDeque<>();
    private long sent;

    @Override
    public void onProducerRtcp(Producer p, RtcpPacket packet, long nowMillis) {
        if (!(packet instanceof SenderReport sr)) {
            return;
        }
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
            sent++;
        }
    }

    @Override
    public RouterOutput pollOutput() {
        return outputs.poll();
    }

    long sent() {
        return sent;
    }
}
