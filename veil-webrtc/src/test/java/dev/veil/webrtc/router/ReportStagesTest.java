package dev.veil.webrtc.router;

import static dev.veil.webrtc.router.StageFixtures.drain;
import static dev.veil.webrtc.router.StageFixtures.rtcp;
import static dev.veil.webrtc.router.StageFixtures.rtp;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.veil.webrtc.rtcp.ReceiverReport;
import dev.veil.webrtc.rtcp.RtcpPacket;
import dev.veil.webrtc.rtcp.SenderReport;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@link SenderReportRewriter} and {@link ReceiverReportScheduler} on their own. */
class ReportStagesTest {

    @Test
    void senderReport_onlyForForwardingConsumers() throws Exception {
        SenderReportRewriter srs = new SenderReportRewriter();
        Producer audio = StageFixtures.audio("pa", "pub", 0x1111L);
        Consumer live = StageFixtures.consumer("c1", "s1", audio, new ConsumerParams(0x10, 111, "cn", 0, null));
        Consumer paused = StageFixtures.consumer("c2", "s2", audio, new ConsumerParams(0x11, 111, null, 0, null));
        StageFixtures.consumer("c3", "s3", audio, new ConsumerParams(0x12, 111, null, 0, null)); // not synced
        live.forward(rtp(0x1111L, 111, 1, 48_000, new byte[] {1, 2, 3}), false, 0);
        paused.forward(rtp(0x1111L, 111, 1, 48_000, new byte[] {1, 2, 3}), false, 0);
        paused.paused = true;
        srs.onProducerRtcp(audio, new SenderReport(0x1111L, 1L << 40, 48_960, 1, 3, List.of()), 0);
        List<RouterOutput> out = drain(srs);
        assertEquals(1, out.size());
        List<RtcpPacket> toLive = rtcp(out, "s1");
        SenderReport sr = assertInstanceOf(SenderReport.class, toLive.get(0));
        assertEquals(0x10, sr.ssrc());
        assertEquals(100_000 + 960, sr.rtpTimestamp());
        assertEquals(1, sr.packetCount());
        assertEquals(3, sr.octetCount());
        assertEquals(2, toLive.size(), "with SDES CNAME");
    }

    @Test
    void receiverReports_onePerPublisher_everyInterval() throws Exception {
        ReceiverReportScheduler rr = new ReceiverReportScheduler(0, RouterConfig.defaults(), 0x99L);
        Producer a = StageFixtures.audio("pa", "pubA", 0x1111L);
        Producer v = StageFixtures.video("pv", "pubA", 0x2222L);
        Producer b = StageFixtures.audio("pb", "pubB", 0x3333L);
        assertEquals(1_000, rr.poll(0), "the first poll starts the schedule");
        rr.onProducerRtp(a, rtp(0x1111L, 111, 1, 0, new byte[] {1}), false, 10);
        rr.onProducerRtp(v, rtp(0x2222L, 96, 1, 0, new byte[] {1}), false, 10);
        assertEquals(1_000, rr.poll(999));
        assertTrue(drain(rr).isEmpty());
        assertEquals(2_000, rr.poll(1_000));
        List<RouterOutput> out = drain(rr);
        assertEquals(1, out.size(), "pubB sent nothing: no report");
        ReceiverReport r = assertInstanceOf(ReceiverReport.class, rtcp(out, "pubA").get(0));
        assertEquals(2, r.reports().size());
        rr.onProducerClosed(v);
        rr.onProducerRtp(b, rtp(0x3333L, 111, 1, 0, new byte[] {1}), false, 1_500);
        rr.poll(2_000);
        out = drain(rr);
        assertEquals(1, ((ReceiverReport) rtcp(out, "pubA").get(0)).reports().size());
        assertEquals(1, ((ReceiverReport) rtcp(out, "pubB").get(0)).reports().size());
        assertEquals(3, rr.sent());
    }
}
