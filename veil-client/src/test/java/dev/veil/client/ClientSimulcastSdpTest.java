package dev.veil.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.veil.webrtc.rtp.RtpPacket;
import dev.veil.webrtc.rtp.RtpStreamId;
import dev.veil.webrtc.sdp.Direction;
import dev.veil.webrtc.sdp.DtlsFingerprint;
import dev.veil.webrtc.sdp.Extmap;
import dev.veil.webrtc.sdp.MediaKind;
import dev.veil.webrtc.sdp.SdpAnswer;
import dev.veil.webrtc.sdp.SdpOfferer;
import java.net.InetAddress;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The simulcast camera upload of the Java SDK against the server's own offer writer and answer checker
 * (SdpOfferer.uplinkSimulcast): the answer sends the offered rids with the offered extension ids and no SSRC; every
 * packet of a layer names it with the RtpStreamId extension under the layer's own SSRC.
 */
class ClientSimulcastSdpTest {
    private static final DtlsFingerprint SERVER_FP = DtlsFingerprint.sha256(new byte[] {1, 2, 3});
    private static final DtlsFingerprint CLIENT_FP = DtlsFingerprint.sha256(new byte[] {4, 5, 6});

    private static SdpOfferer offerer(List<String> rids) throws Exception {
        return new SdpOfferer(42, "serverufrag12345", "serverpasswordserverpassword1234", SERVER_FP,
                InetAddress.getByName("127.0.0.1"), 50000).uplinkSimulcast(rids);
    }

    @Test
    void answer_sendsTheOfferedLayers_withTheOfferedExtensionIds_andNoSsrc() throws Exception {
        SdpOfferer o = offerer(List.of("q", "h", "f"));
        o.addRecvOnly(MediaKind.AUDIO);
        String cameraMid = o.addRecvOnly(MediaKind.VIDEO);
        String screenMid = o.uplinkSimulcast(List.of()).addRecvOnly(MediaKind.VIDEO);
        String sdp = o.createOffer();
        ClientSdp.Offer offer = ClientSdp.parseOffer(sdp);
        assertEquals(cameraMid, offer.uploadCamera().mid());
        assertEquals(screenMid, offer.uploadScreen().mid());

        ClientSimulcastSdp.Plan plan = ClientSimulcastSdp.plan(sdp, offer.uploadCamera());
        assertEquals(List.of("q", "h", "f"), plan.rids());
        int ridExt = offer.uploadCamera().extmapId(Extmap.RTP_STREAM_ID).orElseThrow();
        assertEquals(ridExt, plan.ridExtensionId());
        SimulcastSender camera = new SimulcastSender(plan, new Random(7), Set.of(111L, 222L));
        SdpAnswer a = o.applyAnswer(ClientSdp.answer(offer, "2", "clientufrag", "clientpasswordclientpassword",
                CLIENT_FP, true, true, 111L, 222L, camera, "veil-java-X"));

        SdpAnswer.Media cam = a.media(cameraMid).orElseThrow();
        assertEquals(Direction.SENDONLY, cam.direction());
        assertEquals(List.of("q", "h", "f"), cam.simulcastRids());
        assertEquals(ridExt, cam.extmapId(Extmap.RTP_STREAM_ID).orElseThrow());
        assertTrue(cam.primarySsrc().isEmpty(), "a simulcast answer names no SSRC");
        assertEquals(96, (int) cam.payloadTypes().get(0), "VP8 first");
        SdpAnswer.Media screen = a.media(screenMid).orElseThrow();
        assertEquals(Direction.SENDONLY, screen.direction());
        assertEquals(222L, screen.primarySsrc().orElseThrow());
        assertTrue(screen.simulcastRids().isEmpty());

        // one SSRC per layer, none of the others', and each packet names its layer
        Set<Long> ssrcs = new HashSet<>(List.of(111L, 222L));
        for (int layer = 0; layer < 3; layer++) {
            int stream = camera.streamOf(layer);
            assertEquals(layer, stream);
            assertTrue(ssrcs.add(camera.ssrc(stream)), "distinct SSRCs");
            assertEquals(layer, camera.layerOfSsrc(camera.ssrc(stream)), "a key-frame request names its layer");
            List<byte[]> packets = camera.packets(stream, new byte[2500], 9000);
            assertEquals(3, packets.size(), "2,500 bytes in three packets");
            int prevSeq = -1;
            for (int i = 0; i < packets.size(); i++) {
                RtpPacket p = RtpPacket.parse(packets.get(i));
                assertEquals(camera.ssrc(stream), p.header().ssrc());
                assertEquals(plan.rids().get(layer), RtpStreamId.read(p.header(), ridExt));
                assertEquals(i == packets.size() - 1, p.header().marker());
                assertEquals(9000L, p.header().timestamp());
                if (prevSeq >= 0) {
                    assertEquals((prevSeq + 1) & 0xffff, p.header().sequenceNumber());
                }
                prevSeq = p.header().sequenceNumber();
            }
        }
    }

    @Test
    void withoutSimulcastInTheOffer_onePlainStreamCarriesTheTopLayer() throws Exception {
        SdpOfferer o = offerer(List.of());
        o.addRecvOnly(MediaKind.AUDIO);
        String cameraMid = o.addRecvOnly(MediaKind.VIDEO);
        String sdp = o.createOffer();
        ClientSdp.Offer offer = ClientSdp.parseOffer(sdp);
        ClientSimulcastSdp.Plan plan = ClientSimulcastSdp.plan(sdp, offer.uploadCamera());
        assertFalse(plan.simulcast());
        SimulcastSender camera = new SimulcastSender(plan, new Random(7), Set.of(111L));
        assertEquals(1, camera.streams());
        assertEquals(-1, camera.streamOf(0));
        assertEquals(-1, camera.streamOf(1));
        assertEquals(0, camera.streamOf(2));
        assertNotEquals(111L, camera.ssrc(0));
        SdpAnswer a = o.applyAnswer(ClientSdp.answer(offer, "2", "clientufrag", "clientpasswordclientpassword",
                CLIENT_FP, true, true, 111L, 0, camera, "veil-java-X"));
        SdpAnswer.Media cam = a.media(cameraMid).orElseThrow();
        assertEquals(Direction.SENDONLY, cam.direction());
        assertEquals(camera.ssrc(0), (long) cam.primarySsrc().orElseThrow());
        assertTrue(cam.simulcastRids().isEmpty());
    }
}
