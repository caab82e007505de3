package dev.veil.webrtc.router;

import static dev.veil.webrtc.router.StageFixtures.drain;
import static dev.veil.webrtc.router.StageFixtures.rtcp;
import static dev.veil.webrtc.router.StageFixtures.rtp;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.veil.webrtc.rtcp.GenericNack;
import java.util.List;
import org.junit.jupiter.api.Test;

class UpstreamNackerTest {
    private static final long RTCP_SSRC = 0x99L;
    private final UpstreamNacker nacker = new UpstreamNacker(0, RouterConfig.defaults(), RTCP_SSRC);
    private final Producer video = StageFixtures.video("pv", "pub", 0x2222L);
    private long now = 1_000;

    private void receive(Producer p, int seq) throws Exception {
        nacker.onProducerRtp(p, rtp(p.ssrc(), p.payloadType(), seq, 0, new byte[] {0, 1}), false, now);
    }

    private List<GenericNack> nacksAt(long t) throws Exception {
        now = t;
        nacker.poll(now);
        return rtcp(drain(nacker), "pub").stream().map(GenericNack.class::cast).toList();
    }

    @Test
    void gap_nackedAfterReorderWait_thenRetriedWithBackoff_thenGivenUp() throws Exception {
        receive(video, 100);
        receive(video, 101);
        receive(video, 104); // 102, 103 missing
        assertEquals(1_010, nacker.poll(now), "first NACK after the reorder wait");
        assertTrue(drain(nacker).isEmpty());
        assertEquals(List.of(new GenericNack(RTCP_SSRC, 0x2222L, List.of(102, 103))), nacksAt(1_010));
        assertEquals(1_050, nacker.poll(1_010), "retry after 40 ms");
        assertEquals(1, nacksAt(1_050).size());
        assertEquals(1_130, nacker.poll(1_050), "then 80 ms");
        assertEquals(1, nacksAt(1_130).size());
        assertEquals(1_290, nacker.poll(1_130), "then 160 ms");
        assertEquals(1, nacksAt(1_290).size());
        assertTrue(nacksAt(1_290 + 320).isEmpty(), "four tries, then given up");
        assertEquals(Stage.NO_DEADLINE, nacker.poll(now));
        assertEquals(8, nacker.nackedUpstream());
        assertEquals(2, nacker.gapsDetected());
        assertEquals(2, nacker.givenUp());
    }

    @Test
    void reorderedOrRetransmittedPacket_isNotNackedAgain() throws Exception {
        receive(video, 65534);
        receive(video, 1); // 65535 and 0 missing (across the wrap)
        receive(video, 65535); // reordered: arrives within the wait
        assertEquals(List.of(new GenericNack(RTCP_SSRC, 0x2222L, List.of(0))), nacksAt(1_010));
        receive(video, 0); // the publisher's retransmission
        assertTrue(nacksAt(1_050).isEmpty());
        assertEquals(2, nacker.recovered());
        assertEquals(0, nacker.givenUp());
    }

    @Test
    void audioAndJumpsBeyondTheCache_areNotNacked() throws Exception {
        Producer audio = StageFixtures.audio("pa", "pub", 0x1111L);
        receive(audio, 10);
        receive(audio, 20);
        receive(video, 10);
        receive(video, 10 + 5000); // a restarted stream, not 4999 losses
        assertTrue(nacksAt(2_000).isEmpty());
        assertEquals(0, nacker.gapsDetected());
    }

    @Test
    void trackedLosses_bounded() throws Exception {
        receive(video, 0);
        receive(video, 400); // 399 missing, only the newest MAX_TRACKED kept
        GenericNack n = nacksAt(1_010).get(0);
        assertEquals(UpstreamNacker.MAX_TRACKED, n.lostSequenceNumbers().size());
        assertEquals(400 - UpstreamNacker.MAX_TRACKED, n.lostSequenceNumbers().get(0));
        assertEquals(399 - UpstreamNacker.MAX_TRACKED, nacker.givenUp());
    }

    @Test
    void subscribersMisses_askedNowButHeld_andGapNacksCountAsAsked() throws Exception {
        nacker.requestFromPublisher(video, List.of(7, 8), now);
        assertEquals(List.of(new GenericNack(RTCP_SSRC, 0x2222L, List.of(7, 8))),
                rtcp(drain(nacker), "pub"));
        nacker.requestFromPublisher(video, List.of(8), now + 99);
        assertTrue(drain(nacker).isEmpty(), "held for 100 ms");
        nacker.requestFromPublisher(video, List.of(8), now + 100);
        assertEquals(1, drain(nacker).size());

        receive(video, 50);
        receive(video, 52);
        nacksAt(now + 10); // 51 NACKed by gap detection
        nacker.requestFromPublisher(video, List.of(51), now + 5);
        assertTrue(drain(nacker).isEmpty(), "a subscriber's miss right after the gap NACK is not repeated");
    }
}
