package dev.veil.webrtc.router;

import static dev.veil.webrtc.router.StageFixtures.drain;
import static dev.veil.webrtc.router.StageFixtures.rtcp;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.veil.webrtc.rtcp.FullIntraRequest;
import dev.veil.webrtc.rtcp.PictureLossIndication;
import java.util.List;
import org.junit.jupiter.api.Test;

class KeyFrameRequesterTest {
    private static final long RTCP_SSRC = 0x99L;
    private final KeyFrameRequester kf = new KeyFrameRequester(RouterConfig.defaults(), RTCP_SSRC);
    private final Producer video = StageFixtures.video("pv", "pub", 0x2222L);

    private Consumer consumer(String id, long ssrc) {
        return StageFixtures.consumer(id, "sub-" + id, video, new ConsumerParams(ssrc, 96, null, 0, null));
    }

    @Test
    void requestsCoalescedPerProducer_andRateLimited() throws Exception {
        Consumer a = consumer("a", 0x10);
        Consumer b = consumer("b", 0x11);
        kf.onConsumerStarted(a, 1_000);
        kf.onConsumerStarted(b, 1_010); // the same producer: coalesced
        kf.onConsumerRtcp(a, new PictureLossIndication(1, 0x10), 1_200);
        assertEquals(List.of(new PictureLossIndication(RTCP_SSRC, 0x2222L)), rtcp(drain(kf), "pub"));
        kf.onConsumerRtcp(b, new FullIntraRequest(1, List.of(new FullIntraRequest.Entry(0x11, 0))), 1_500);
        FullIntraRequest fir = assertInstanceOf(FullIntraRequest.class, rtcp(drain(kf), "pub").get(0));
        assertEquals(0x2222L, fir.entries().get(0).ssrc());
        assertEquals(2, kf.suppressed());
        assertEquals(1, kf.pliSent());
        assertEquals(1, kf.firSent());
    }

    @Test
    void waitingConsumer_asksAgainUntilItHasAKeyFrame() throws Exception {
        Consumer a = consumer("a", 0x10);
        kf.onConsumerStarted(a, 1_000);
        drain(kf);
        assertEquals(2_000, kf.poll(1_000));
        assertTrue(drain(kf).isEmpty());
        assertEquals(3_000, kf.poll(2_000));
        assertEquals(1, drain(kf).size(), "asked again after 1 s");
        a.forward(StageFixtures.rtp(0x2222L, 96, 1, 0, StageFixtures.VP8_KEY), true, 2_100); // synced
        assertEquals(Stage.NO_DEADLINE, kf.poll(3_000));
        assertTrue(drain(kf).isEmpty());
    }

    @Test
    void audio_neverAsked() throws Exception {
        Producer audio = StageFixtures.audio("pa", "pub", 0x1111L);
        Consumer c = StageFixtures.consumer("c", "sub", audio, new ConsumerParams(0x10, 111, null, 0, null));
        kf.onConsumerStarted(c, 1_000);
        kf.onConsumerRtcp(c, new PictureLossIndication(1, 0x10), 1_000);
        assertTrue(drain(kf).isEmpty());
        assertEquals(Stage.NO_DEADLINE, kf.poll(5_000));
    }
}
