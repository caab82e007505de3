package dev.veil.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.veil.webrtc.sdp.DtlsFingerprint;
import dev.veil.webrtc.sdp.MediaKind;
import dev.veil.webrtc.sdp.SdpAnswer;
import dev.veil.webrtc.sdp.SdpException;
import dev.veil.webrtc.sdp.SdpOfferer;
import dev.veil.webrtc.sdp.SendTrack;
import dev.veil.webrtc.sdp.Direction;
import java.net.InetAddress;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The client's answers against the server's own offer writer and answer checker (SdpOfferer). */
class ClientSdpTest {
    private static final DtlsFingerprint SERVER_FP = DtlsFingerprint.sha256(new byte[] {1, 2, 3});
    private static final DtlsFingerprint CLIENT_FP = DtlsFingerprint.sha256(new byte[] {4, 5, 6});

    private static SdpOfferer offerer() throws Exception {
        return new SdpOfferer(42, "serverufrag12345", "serverpasswordserverpassword1234", SERVER_FP,
                InetAddress.getByName("127.0.0.1"), 50000);
    }

    @Test
    void answer_toSendrecvOffer_isAcceptedByTheServer_andCarriesOwnSsrc() throws Exception {
        SdpOfferer o = offerer();
        o.addRecvOnly(MediaKind.AUDIO);
        o.addSendOnly(MediaKind.AUDIO, new SendTrack("PUBLISHER", "t1", 1234, "c"));
        o.addSendOnly(MediaKind.VIDEO, new SendTrack("PUBLISHER", "t2", 5678, "c"));
        ClientSdp.Offer offer = ClientSdp.parseOffer(o.createOffer());
        assertEquals(50000, offer.candidate().getPort());
        assertEquals(111, ClientSdp.opusPayloadType(offer.uploadAudio()));
        assertEquals(List.of(new Track("PUBLISHER", "audio", "1", 1234), new Track("PUBLISHER", "video", "2", 5678)),
                offer.tracks());

        String answer = ClientSdp.answer(offer, "2", "clientufrag", "clientpasswordclientpassword", CLIENT_FP, true,
                true, 987654321L, "veil-java-X");
        SdpAnswer a = o.applyAnswer(answer);
        assertEquals(Direction.SENDONLY, a.media().get(0).direction());
        assertEquals(987654321L, a.media().get(0).primarySsrc().orElseThrow());
        assertEquals(Direction.RECVONLY, a.media().get(1).direction());
        assertEquals(Direction.RECVONLY, a.media().get(2).direction());
        assertEquals(CLIENT_FP, a.fingerprint());
    }

    @Test
    void answer_withScreenShare_sendsVp8FirstOnTheVideoUpload_underItsOwnSsrc() throws Exception {
        SdpOfferer o = offerer();
        o.addRecvOnly(MediaKind.AUDIO);
        String screenMid = o.addRecvOnly(MediaKind.VIDEO);
        ClientSdp.Offer offer = ClientSdp.parseOffer(o.createOffer());
        assertEquals(screenMid, offer.uploadScreen().mid());
        assertEquals(96, ClientSdp.vp8PayloadType(offer.uploadScreen()));
        SdpAnswer a = o.applyAnswer(ClientSdp.answer(offer, "2", "clientufrag", "clientpasswordclientpassword",
                CLIENT_FP, true, true, 111L, 222L, "veil-java-X"));
        SdpAnswer.Media screen = a.media(screenMid).orElseThrow();
        assertEquals(Direction.SENDONLY, screen.direction());
        assertEquals(222L, screen.primarySsrc().orElseThrow());
        assertEquals(96, screen.payloadTypes().get(0), "VP8 first: the codec the server forwards");
        assertEquals(111L, a.media().get(0).primarySsrc().orElseThrow());
        // without a screen SSRC the video upload stays inactive (the client sends no camera)
        SdpAnswer b = o.applyAnswer(ClientSdp.answer(offer, "3", "clientufrag", "clientpasswordclientpassword",
                CLIENT_FP, true, true, 111L, "veil-java-X"));
        assertEquals(Direction.INACTIVE, b.media(screenMid).orElseThrow().direction());
    }

    @Test
    void answer_keepsTransportCcNackAndRtxOnReceivedMLines_andThePlanNamesTheRtxStream() throws Exception {
        SdpOfferer o = offerer().downlinkCongestionControl(true);
        o.addRecvOnly(MediaKind.AUDIO);
        String audioMid = o.addSendOnly(MediaKind.AUDIO, new SendTrack("P", "pa", 1234, "c"));
        String videoMid = o.addSendOnly(MediaKind.VIDEO, new SendTrack("P", "pv", 5678, "c", 5679));
        String sdp = o.createOffer();
        ClientSdp.Offer offer = ClientSdp.parseOffer(sdp);
        ReceiverFeedback.Plan plan = offer.receivePlan();
        int ext = offer.media().get(2).extmapId(dev.veil.webrtc.sdp.Extmap.TRANSPORT_WIDE_CC).orElseThrow();
        assertEquals(ext, plan.transportWideExtensionId());
        assertEquals(false, plan.remb(), "transport-cc offered: no REMB");
        assertEquals(List.of(new ReceiverFeedback.Stream(1234, 0, java.util.Map.of(), false),
                new ReceiverFeedback.Stream(5678, 5679, java.util.Map.of(97, 96, 103, 102, 99, 98, 105, 104), true)),
                plan.streams());

        SdpAnswer a = o.applyAnswer(ClientSdp.answer(offer, "2", "clientufrag", "clientpasswordclientpassword",
                CLIENT_FP, true, true, 987654321L, "veil-java-X"));
        for (String mid : List.of(audioMid, videoMid)) {
            SdpAnswer.Media m = a.media(mid).orElseThrow();
            assertEquals(ext, m.extmapId(dev.veil.webrtc.sdp.Extmap.TRANSPORT_WIDE_CC).orElseThrow());
            List<String> fb = m.codec(m.payloadTypes().get(0)).orElseThrow().rtcpFeedback();
            assertTrue(fb.contains("transport-cc"), mid + ": " + fb);
            assertTrue(!fb.contains("goog-remb"), mid + ": " + fb);
        }
        SdpAnswer.Media video = a.media(videoMid).orElseThrow();
        assertTrue(video.codec(96).orElseThrow().rtcpFeedback().contains("nack"));
        assertEquals("apt=96", video.codec(97).orElseThrow().fmtp(), "RTX kept for VP8");
        SdpAnswer.Media upload = a.media().get(0);
        assertTrue(upload.extmapId(dev.veil.webrtc.sdp.Extmap.TRANSPORT_WIDE_CC).isEmpty(),
                "the client stamps nothing it sends: no extension on its upload");

        // a receive-only offer without transport-cc: REMB; a client that receives nothing answers no feedback
        String remb = sdp.replaceAll("a=rtcp-fb:(\\d+) transport-cc\r\n", "");
        ClientSdp.Offer rembOffer = ClientSdp.parseOffer(remb);
        assertEquals(-1, rembOffer.receivePlan().transportWideExtensionId());
        assertTrue(rembOffer.receivePlan().remb());
        String rembAnswer = ClientSdp.answer(rembOffer, "2", "u", "clientpasswordclientpassword", CLIENT_FP, true,
                true, 1L, "c");
        assertTrue(rembAnswer.contains("a=rtcp-fb:96 goog-remb\r\n"), rembAnswer);
        assertTrue(!rembAnswer.contains("transport-wide-cc"), rembAnswer);
        String deaf = ClientSdp.answer(offer, "2", "u", "clientpasswordclientpassword", CLIENT_FP, true, false, 1L,
                "c");
        assertTrue(!deaf.contains("transport-cc") && !deaf.contains("a=rtcp-fb"), deaf);
        // Options.withoutCongestionFeedback(): no transport-cc and no REMB, NACK and RTX kept
        SdpAnswer quiet = o.applyAnswer(ClientSdp.answer(offer, "3", "clientufrag", "clientpasswordclientpassword",
                CLIENT_FP, true, true, 987654321L, 0, null, "veil-java-X", false));
        SdpAnswer.Media qv = quiet.media(videoMid).orElseThrow();
        assertTrue(qv.extmapId(dev.veil.webrtc.sdp.Extmap.TRANSPORT_WIDE_CC).isEmpty());
        assertEquals(List.of("nack", "nack pli"), qv.codec(96).orElseThrow().rtcpFeedback());
        assertEquals("apt=96", qv.codec(97).orElseThrow().fmtp());
        assertEquals(new ReceiverFeedback.Plan(-1, false, plan.streams()), offer.receivePlan(false));
    }

    @Test
    void vp8Packetizer_equalChunks_startBitOnTheFirstOnly() {
        byte[] frame = new byte[2501];
        for (int i = 0; i < frame.length; i++) {
            frame[i] = (byte) i;
        }
        List<byte[]> p = Vp8Packetizer.packetize(frame, 1100);
        assertEquals(3, p.size());
        assertEquals(List.of(834, 834, 833), p.stream().map(x -> x.length - 1).toList());
        assertEquals(0x10, p.get(0)[0]);
        assertEquals(0, p.get(1)[0]);
        assertEquals(0, p.get(2)[0]);
        java.io.ByteArrayOutputStream joined = new java.io.ByteArrayOutputStream();
        p.forEach(x -> joined.write(x, 1, x.length - 1));
        org.junit.jupiter.api.Assertions.assertArrayEquals(frame, joined.toByteArray());
        assertEquals(1, Vp8Packetizer.packetize(new byte[] {1}, 1100).size());
        assertThrows(IllegalArgumentException.class, () -> Vp8Packetizer.packetize(new byte[0], 1100));
    }

    @Test
    void answer_recvonlyRole_sendsNothing() throws Exception {
        SdpOfferer o = offerer();
        o.addInactive(MediaKind.AUDIO);
        ClientSdp.Offer offer = ClientSdp.parseOffer(o.createOffer());
        SdpAnswer a = o.applyAnswer(ClientSdp.answer(offer, "2", "clientufrag", "clientpasswordclientpassword",
                CLIENT_FP, false, true, 1, "c"));
        assertEquals(Direction.INACTIVE, a.media().get(0).direction());
        assertTrue(a.media().get(0).ssrcs().isEmpty());
    }

    private static String answerAs(ClientSdp.Offer offer) {
        return ClientSdp.answer(offer, "2", "clientufrag", "clientpasswordclientpassword", CLIENT_FP, true, true,
                987654321L, "veil-java-X");
    }

    @Test
    void answer_rejectedAndRecycledMLines_rejectedOutOfBundle_tracksFollowTheNewMid() throws Exception {
        SdpOfferer o = offerer();
        o.addRecvOnly(MediaKind.AUDIO);
        String gone = o.addSendOnly(MediaKind.AUDIO, new SendTrack("P1", "p1-audio", 1111, "P1"));
        o.applyAnswer(answerAs(ClientSdp.parseOffer(o.createOffer())));

        // P1 leaves: its m-line is rejected; the client rejects it too and leaves it out of BUNDLE
        o.remove(gone);
        ClientSdp.Offer rejecting = ClientSdp.parseOffer(o.createOffer());
        assertEquals(List.of(), rejecting.tracks());
        String answer = answerAs(rejecting);
        assertTrue(answer.contains("a=group:BUNDLE 0\r\n"), answer);
        assertTrue(answer.contains("m=audio 0 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\nm=")
                || answer.endsWith("m=audio 0 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\n"), answer);
        SdpAnswer a = o.applyAnswer(answer);
        assertTrue(a.media(gone).orElseThrow().rejected());
        assertEquals(List.of("0"), a.bundleMids());

        // P2 joins: same m-line index, new mid, new SSRC: a new Track
        String mid = o.addSendOnly(MediaKind.AUDIO, new SendTrack("P2", "p2-audio", 2222, "P2"));
        assertEquals("2", mid);
        ClientSdp.Offer recycled = ClientSdp.parseOffer(o.createOffer());
        assertEquals(2, recycled.media().size());
        assertEquals(List.of(new Track("P2", "audio", "2", 2222)), recycled.tracks());
        SdpAnswer b = o.applyAnswer(answerAs(recycled));
        assertEquals(List.of("0", "2"), b.bundleMids());
        assertEquals(Direction.RECVONLY, b.media("2").orElseThrow().direction());
    }

    @Test
    void parseOffer_hostNameCandidate_refusedWithoutLookingItUp() throws Exception {
        SdpOfferer o = offerer();
        o.addRecvOnly(MediaKind.AUDIO);
        String sdp = o.createOffer().replace(" 127.0.0.1 50000 typ host", " veil-fuzz.invalid 50000 typ host");
        assertTrue(sdp.contains("veil-fuzz.invalid"));
        assertThrows(SdpException.class, () -> ClientSdp.parseOffer(sdp));
        assertThrows(java.net.UnknownHostException.class, () -> ClientSdp.ipLiteral("256.1.1.1"));
        assertEquals(InetAddress.getByName("198.18.0.1"), ClientSdp.ipLiteral("198.18.0.1"));
        assertEquals(InetAddress.getByName("::1"), ClientSdp.ipLiteral("::1"));
    }

    @Test
    void parseOffer_withoutCandidate_throws() throws Exception {
        SdpOfferer o = offerer();
        o.addRecvOnly(MediaKind.AUDIO);
        String sdp = o.createOffer().replaceAll("a=candidate:[^\r]*\r\n", "");
        assertThrows(SdpException.class, () -> ClientSdp.parseOffer(sdp));
    }

    @Test
    void parseOffer_candidate_isTheFirstHostCandidateLine_LfOrCrlf() throws Exception {
        SdpOfferer o = offerer();
        o.addRecvOnly(MediaKind.AUDIO);
        String crlf = o.createOffer();
        String lf = crlf.replace("\r\n", "\n");
        // a candidate-shaped text that does not start a line is not a candidate; a relay candidate is skipped
        String extra = "a=x:a=candidate:1 1 udp 1 10.0.0.1 1 typ host\r\n"
                + "a=candidate:2 1 UDP 5 198.18.0.9 7000 typ relay\r\n";
        String noisy = crlf.replace("a=candidate:", extra + "a=candidate:");
        for (String sdp : List.of(crlf, lf, noisy)) {
            ClientSdp.Offer offer = ClientSdp.parseOffer(sdp);
            assertEquals(InetAddress.getByName("127.0.0.1"), offer.candidate().getAddress());
            assertEquals(50000, offer.candidate().getPort());
        }
        // the first host candidate wins, as before
        String two = crlf.replace("a=candidate:", "a=candidate:9 1 udp 9 198.18.0.2 6000 typ host\r\na=candidate:");
        assertEquals(6000, ClientSdp.parseOffer(two).candidate().getPort());
        String last = crlf.stripTrailing() + "\r\na=candidate:9 1 udp 9 198.18.0.2 6000 typ host";
        assertEquals(50000, ClientSdp.parseOffer(last).candidate().getPort());
        String onlyLast = crlf.replaceAll("a=candidate:[^\r]*\r\n", "").stripTrailing()
                + "\na=candidate:9 1 udp 9 198.18.0.2 6000 typ host";
        assertEquals(6000, ClientSdp.parseOffer(onlyLast).candidate().getPort());
    }
}
