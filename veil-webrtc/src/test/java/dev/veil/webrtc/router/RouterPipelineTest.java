package dev.veil.webrtc.router;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.veil.webrtc.rtcp.RtcpCompound;
import dev.veil.webrtc.rtcp.RtcpPacket;
import dev.veil.webrtc.rtcp.Remb;
import dev.veil.webrtc.rtp.RtpCodec;
import dev.veil.webrtc.rtp.RtpHeader;
import dev.veil.webrtc.rtp.RtpPacket;
import dev.veil.webrtc.sdp.MediaKind;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The router as a pipeline: an added stage sees the inputs, its output and deadline reach the router's. */
class RouterPipelineTest {

    /** A stage that records what it is told and emits one RTCP packet per subscriber feedback packet. */
    private static final class Recorder implements Stage {
        final List<String> events = new ArrayList<>();
        final java.util.ArrayDeque<RouterOutput> out = new java.util.ArrayDeque<>();
        long deadline = NO_DEADLINE;

        @Override
        public void onProducerRtp(Producer p, RtpPacket packet, boolean keyFrame, long now) {
            events.add("rtp " + p.id() + " " + packet.header().sequenceNumber());
        }

        @Override
        public void onPeerRtcp(String peerId, RtcpPacket packet, long now) {
            events.add("peer-rtcp " + peerId + " " + packet.getClass().getSimpleName());
            out.add(new RouterOutput.Rtcp(peerId, new byte[] {1}));
        }

        @Override
        public void onConsumerStarted(Consumer c, long now) {
            events.add("started " + c.id());
        }

        @Override
        public void onConsumerClosed(Consumer c) {
            events.add("closed " + c.id());
        }

        @Override
        public void onProducerClosed(Producer p) {
            events.add("closed " + p.id());
        }

        @Override
        public long poll(long now) {
            return deadline;
        }

        @Override
        public RouterOutput pollOutput() {
            return out.poll();
        }
    }

    @Test
    void addedStage_seesInputs_andItsOutputAndDeadlineAreTheRouters() throws Exception {
        Router router = new Router(RouterConfig.defaults(), new Random(1));
        Recorder rec = new Recorder();
        router.addStage(rec);
        router.createProducer("pa", "pub", new ProducerParams(MediaKind.AUDIO, RtpCodec.OPUS, 111, 48000, 7, "0"));
        assertThrows(IllegalStateException.class, () -> router.addStage(new Recorder()));
        router.createConsumer("c", "sub", "pa", new ConsumerParams(8, 111, null, 0, null), 0);
        byte[] pkt = RtpPacket.build(RtpHeader.of(false, 111, 42, 0, 7), new byte[] {1}, 0, 1);
        router.handleRtp("pub", pkt, 0, pkt.length, 0);
        byte[] remb = RtcpCompound.write(List.of(new Remb(8, 500_000, List.of(8L))));
        router.handleRtcp("sub", remb, 0, remb.length, 0);
        assertEquals(List.of("started c", "rtp pa 42", "peer-rtcp sub Remb"), rec.events);
        assertTrue(router.pollOutput() instanceof RouterOutput.Rtp, "forwarded packets first");
        assertEquals("sub", router.pollOutput().peerId());
        assertNull(router.pollOutput());
        rec.deadline = 5;
        assertEquals(5, router.poll(0));
    }

    @Test
    void close_cascadesConsumersThenProducers_andRefusesNewProducers() {
        Router router = new Router(RouterConfig.defaults(), new Random(1));
        Recorder rec = new Recorder();
        router.addStage(rec);
        router.createProducer("pa", "pub", new ProducerParams(MediaKind.AUDIO, RtpCodec.OPUS, 111, 48000, 7, "0"));
        router.createConsumer("c1", "sub", "pa", new ConsumerParams(8, 111, null, 0, null), 0);
        router.createConsumer("c2", "sub2", "pa", new ConsumerParams(9, 111, null, 0, null), 0);
        rec.events.clear();
        router.close();
        assertEquals(List.of("closed c1", "closed c2", "closed pa"), rec.events);
        assertTrue(router.isClosed());
        assertTrue(router.isEmpty());
        assertThrows(IllegalStateException.class, () -> router.createProducer("pb", "pub",
                new ProducerParams(MediaKind.AUDIO, RtpCodec.OPUS, 111, 48000, 9, "0")));
    }
}
