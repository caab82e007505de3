package dev.veil.webrtc.sdp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class SdpOffererTest {

    private static final DtlsFingerprint SERVER_FP = DtlsFingerprint.sha256("server cert".getBytes(StandardCharsets.UTF_8));
    private SdpOfferer offerer;

    @BeforeEach
    void setUp() throws Exception {
        offerer = new SdpOfferer(4242424242L, "srvUfrag12345678", "srvPassword0123456789abcdefghijk", SERVER_FP,
                InetAddress.getByName("203.0.113.5"), 5000);
    }

    static String fixture(String name) throws IOException {
        try (InputStream in = SdpOffererTest.class.getResourceAsStream(name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static List<String> lines(String sdp) {
        return List.of(sdp.split("\r\n"));
    }

    @Test
    void createOffer_recvAndSendTracks_hasEveryWebRtcLine() throws Exception {
        String a = offerer.addRecvOnly(MediaKind.AUDIO);
        String v = offerer.addRecvOnly(MediaKind.VIDEO);
        String fwd = offerer.addSendOnly(MediaKind.VIDEO, new SendTrack("conn-B", "prod-7", 3000000001L, "cnameB"));
        assertEquals(List.of("0", "1", "2"), List.of(a, v, fwd));
        String sdp = offerer.createOffer();
        assertTrue(sdp.endsWith("\r\n"));
        List<String> l = lines(sdp);
        assertEquals("v=0", l.get(0));
        assertEquals("o=- 4242424242 1 IN IP4 0.0.0.0", l.get(1));
        assertTrue(l.contains("a=ice-lite"));
        assertTrue(l.contains("a=group:BUNDLE 0 1 2"));
        assertTrue(l.contains("m=audio 5000 UDP/TLS/RTP/SAVPF 111"));
        assertTrue(l.contains("m=video 5000 UDP/TLS/RTP/SAVPF 96 102 98 104"));
        assertTrue(l.contains("a=rtpmap:104 AV1/90000"));
        assertTrue(l.contains("a=fmtp:104 level-idx=5;profile=0;tier=0"));
        assertTrue(l.contains("a=rtpmap:111 opus/48000/2"));
        assertTrue(l.contains("a=fmtp:111 minptime=10;useinbandfec=1"));
        assertTrue(l.contains("a=rtpmap:96 VP8/90000"));
        assertTrue(l.contains("a=rtcp-fb:96 nack"));
        assertTrue(l.contains("a=rtcp-fb:96 nack pli"));
        assertTrue(l.contains("a=rtcp-fb:96 ccm fir"));
        assertTrue(l.contains("a=rtpmap:102 H264/90000"));
        assertTrue(l.contains("a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"));
        assertTrue(l.contains("a=msid:conn-B prod-7"));
        assertTrue(l.contains("a=ssrc:3000000001 cname:cnameB"));
        assertEquals(3, l.stream().filter(x -> x.equals("a=setup:actpass")).count());
        assertEquals(3, l.stream().filter(x -> x.equals("a=rtcp-mux")).count());
        assertEquals(3, l.stream().filter(x -> x.equals("a=rtcp-rsize")).count());
        assertEquals(3, l.stream().filter(x -> x.equals("a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid")).count());
        assertEquals(3, l.stream().filter(x -> x.equals("a=candidate:1 1 udp 2130706431 203.0.113.5 5000 typ host"))
                .count());
        assertEquals(3, l.stream().filter(x -> x.equals("a=end-of-candidates")).count());
        assertEquals(3, l.stream().filter(x -> x.equals("a=ice-ufrag:srvUfrag12345678")).count());
        assertEquals(3, l.stream().filter(x -> x.equals("a=fingerprint:" + SERVER_FP.toSdpValue())).count());
        assertEquals(2, l.stream().filter(x -> x.equals("a=recvonly")).count());
        assertEquals(1, l.stream().filter(x -> x.equals("a=sendonly")).count());
    }

    @Test
    void createOffer_uplinkCongestionControlOnlyOnRecvOnlyMLines() throws Exception {
        offerer.addRecvOnly(MediaKind.AUDIO);
        offerer.addRecvOnly(MediaKind.VIDEO);
        offerer.addSendOnly(MediaKind.VIDEO, new SendTrack("conn-B", "prod-7", 3000000001L, "cnameB"));
        offerer.addSendOnly(MediaKind.AUDIO, new SendTrack("conn-B", "prod-8", 3000000002L, "cnameB"));
        assertEquals(3, offerer.transportWideCcExtmapId(), "3: does not collide with sdes:mid on 1");
        SdpAnswer parsed = SdpAnswer.parse(offerer.createOffer());
        SdpAnswer.Media mic = parsed.media("0").orElseThrow();
        SdpAnswer.Media cam = parsed.media("1").orElseThrow();
        SdpAnswer.Media fwdVideo = parsed.media("2").orElseThrow();
        SdpAnswer.Media fwdAudio = parsed.media("3").orElseThrow();
        for (SdpAnswer.Media up : List.of(mic, cam)) {
            assertEquals(3, up.extmapId(Extmap.TRANSPORT_WIDE_CC).orElseThrow());
            assertEquals(1, up.extmapId(Extmap.SDES_MID).orElseThrow());
        }
        assertTrue(mic.codec(111).orElseThrow().rtcpFeedback().contains("transport-cc"));
        assertTrue(!mic.codec(111).orElseThrow().rtcpFeedback().contains("goog-remb"));
        for (int pt : List.of(96, 102)) {
            List<String> fb = cam.codec(pt).orElseThrow().rtcpFeedback();
            assertTrue(fb.containsAll(List.of("transport-cc", "goog-remb", "nack", "nack pli", "ccm fir")), fb.toString());
        }
        // the server puts no transport-wide sequence numbers on forwarded media: subscribers are not offered it
        for (SdpAnswer.Media down : List.of(fwdVideo, fwdAudio)) {
            assertTrue(down.extmapId(Extmap.TRANSPORT_WIDE_CC).isEmpty());
            for (int pt : down.payloadTypes()) {
                List<String> fb = down.codec(pt).orElseThrow().rtcpFeedback();
                assertTrue(!fb.contains("transport-cc") && !fb.contains("goog-remb"), fb.toString());
            }
        }
        // RTX on the upload video only (received, unwrapped): one per video codec, on the next free payload type
        assertEquals(List.of(96, 102, 98, 104, 97, 103, 99, 105), cam.payloadTypes());
        assertEquals("apt=104", cam.codec(105).orElseThrow().fmtp());
        assertEquals("apt=98", cam.codec(99).orElseThrow().fmtp());
        assertEquals("apt=96", cam.codec(97).orElseThrow().fmtp());
        assertEquals("apt=102", cam.codec(103).orElseThrow().fmtp());
        assertTrue(fwdVideo.codec(97).isEmpty());
        // no start bitrate unless asked
        assertTrue(!cam.codec(96).orElseThrow().fmtp().contains("x-google-start-bitrate"));
        SdpOfferer start = new SdpOfferer(1, "u1234", "p".repeat(24), SERVER_FP, InetAddress.getByName("203.0.113.5"),
                5000).uplinkStartBitrateKbps(1000);
        start.addRecvOnly(MediaKind.VIDEO);
        start.addSendOnly(MediaKind.VIDEO, new SendTrack("conn-B", "prod-7", 3000000001L, "cnameB"));
        SdpAnswer so = SdpAnswer.parse(start.createOffer());
        assertEquals("x-google-start-bitrate=1000", so.media("0").orElseThrow().codec(96).orElseThrow().fmtp());
        assertTrue(so.media("0").orElseThrow().codec(102).orElseThrow().fmtp().endsWith(";x-google-start-bitrate=1000"));
        assertEquals("", so.media("1").orElseThrow().codec(96).orElseThrow().fmtp(), "not on what the server sends");
        // a custom extmap list that takes 3: the next free id
        SdpOfferer other = new SdpOfferer(1, "u1234", "p".repeat(24), SERVER_FP, InetAddress.getByName("203.0.113.5"),
                5000).extmaps(List.of(new Extmap(1, Extmap.SDES_MID), new Extmap(3, Extmap.AUDIO_LEVEL)));
        assertEquals(4, other.transportWideCcExtmapId());
        // goog-remb alone (the REMB fallback, as a client without transport-cc would answer)
        SdpOfferer remb = new SdpOfferer(1, "u1234", "p".repeat(24), SERVER_FP, InetAddress.getByName("203.0.113.5"),
                5000).uplinkTransportCc(false);
        remb.addRecvOnly(MediaKind.VIDEO);
        String rembOffer = remb.createOffer();
        assertTrue(rembOffer.contains("a=rtcp-fb:96 goog-remb"));
        assertTrue(!rembOffer.contains("transport-cc") && !rembOffer.contains(Extmap.TRANSPORT_WIDE_CC));
        // and off
        SdpOfferer off = new SdpOfferer(1, "u1234", "p".repeat(24), SERVER_FP, InetAddress.getByName("203.0.113.5"),
                5000).uplinkCongestionControl(false);
        off.addRecvOnly(MediaKind.VIDEO);
        assertTrue(!off.createOffer().contains("transport-cc"));
    }

    @Test
    void createOffer_downlinkCongestionControlOnSendOnlyMLinesWhenAsked() throws Exception {
        SdpOfferer o = new SdpOfferer(1, "u1234", "p".repeat(24), SERVER_FP, InetAddress.getByName("203.0.113.5"),
                5000).downlinkCongestionControl(true);
        o.addRecvOnly(MediaKind.VIDEO);
        o.addSendOnly(MediaKind.VIDEO, new SendTrack("conn-B", "prod-7", 3000000001L, "cnameB"));
        o.addSendOnly(MediaKind.AUDIO, new SendTrack("conn-B", "prod-8", 3000000002L, "cnameB"));
        SdpAnswer parsed = SdpAnswer.parse(o.createOffer());
        SdpAnswer.Media up = parsed.media("0").orElseThrow();
        for (String mid : List.of("1", "2")) {
            SdpAnswer.Media down = parsed.media(mid).orElseThrow();
            assertEquals(up.extmapId(Extmap.TRANSPORT_WIDE_CC), down.extmapId(Extmap.TRANSPORT_WIDE_CC),
                    "one id per BUNDLE transport");
            for (int pt : down.payloadTypes()) {
                List<String> fb = down.codec(pt).orElseThrow().rtcpFeedback();
                assertTrue(fb.contains("transport-cc"), fb.toString());
                assertEquals(down.kind() == MediaKind.VIDEO, fb.contains("goog-remb"), fb.toString());
            }
        }
        assertTrue(parsed.media("1").orElseThrow().codec(97).isEmpty(), "still no RTX on what the server sends");
    }

    @Test
    void createOffer_parsesBackWithSameModel() throws Exception {
        offerer.addRecvOnly(MediaKind.AUDIO);
        offerer.addSendOnly(MediaKind.AUDIO, new SendTrack("conn-B", "prod-1", 17L, "cnameB"));
        SdpAnswer parsed = SdpAnswer.parse(offerer.createOffer());
        assertTrue(parsed.iceLite());
        assertEquals(List.of("0", "1"), parsed.bundleMids());
        assertEquals(SetupRole.ACTPASS, parsed.setup());
        assertEquals(SERVER_FP, parsed.fingerprint());
        assertEquals("srvUfrag12345678", parsed.iceUfrag());
        SdpAnswer.Media send = parsed.media("1").orElseThrow();
        assertEquals(Direction.SENDONLY, send.direction());
        assertEquals(List.of(17L), send.ssrcs());
        assertEquals("conn-B", send.msidStream());
        assertEquals("prod-1", send.msidTrack());
        assertEquals(Map.of(17L, "cnameB"), send.cnames());
        assertEquals(Codec.opus(), send.codec(111).orElseThrow());
        assertEquals(1, send.extmapId(Extmap.SDES_MID).orElseThrow());
    }

    @Test
    void reOffer_trackRemovedAndAdded_keepsOrderPortAndMarksInactive() throws Exception {
        offerer.addRecvOnly(MediaKind.AUDIO);
        String gone = offerer.addSendOnly(MediaKind.VIDEO, new SendTrack("conn-B", "prod-2", 5L, "cB"));
        offerer.createOffer();
        offerer.deactivate(gone);
        String added = offerer.addSendOnly(MediaKind.VIDEO, new SendTrack("conn-C", "prod-3", 6L, "cC"));
        assertEquals("2", added);
        String sdp = offerer.createOffer();
        assertTrue(sdp.contains("o=- 4242424242 2 IN IP4"));
        SdpAnswer p = SdpAnswer.parse(sdp);
        assertEquals(List.of("0", "1", "2"), p.media().stream().map(SdpAnswer.Media::mid).toList());
        SdpAnswer.Media inactive = p.media("1").orElseThrow();
        assertEquals(Direction.INACTIVE, inactive.direction());
        assertEquals(5000, inactive.port());
        assertTrue(inactive.ssrcs().isEmpty());
        assertNull(inactive.msidStream());
        assertEquals(List.of(6L), p.media("2").orElseThrow().ssrcs());
        assertFalse(sdp.contains("prod-2"));
    }

    /**
     * What a browser answers (the parts the offerer checks): every m-line with its mid and kind, the rejected ones
     * rejected (port 0, out of BUNDLE, like Chromium), the others accepted with the direction reversed.
     */
    private static String answerTo(String offer) throws SdpException {
        SdpAnswer o = SdpAnswer.parse(offer);
        StringBuilder sb = new StringBuilder("v=0\r\no=- 7 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE");
        for (SdpAnswer.Media m : o.media()) {
            if (!m.rejected()) {
                sb.append(' ').append(m.mid());
            }
        }
        sb.append("\r\n");
        for (SdpAnswer.Media m : o.media()) {
            if (m.rejected()) {
                sb.append("m=").append(m.media()).append(" 0 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 0.0.0.0\r\na=mid:")
                        .append(m.mid()).append("\r\n");
                continue;
            }
            sb.append("m=").append(m.media()).append(" 9 UDP/TLS/RTP/SAVPF ").append(m.payloadTypes().get(0))
                    .append("\r\nc=IN IP4 0.0.0.0\r\na=mid:").append(m.mid()).append("\r\na=")
                    .append(m.direction() == Direction.SENDONLY ? "recvonly"
                            : m.direction() == Direction.RECVONLY ? "sendonly" : "inactive")
                    .append("\r\na=ice-ufrag:brws\r\na=ice-pwd:browserpasswordbrowserpa\r\na=fingerprint:")
                    .append(SERVER_FP.toSdpValue()).append("\r\na=setup:active\r\na=rtcp-mux\r\n");
        }
        return sb.toString();
    }

    private static SendTrack track(int n) {
        return new SendTrack("conn-" + n, "prod-" + n, 1000L + n, "c" + n);
    }

    @Test
    void remove_nextOfferRejectsMLine_portZeroOutOfBundleNoTrack() throws Exception {
        offerer.addRecvOnly(MediaKind.AUDIO);
        String gone = offerer.addSendOnly(MediaKind.VIDEO, track(2));
        String stays = offerer.addSendOnly(MediaKind.AUDIO, track(3));
        offerer.applyAnswer(answerTo(offerer.createOffer()));
        offerer.remove(gone);
        assertTrue(offerer.isRejected(gone));
        String sdp = offerer.createOffer();
        assertTrue(sdp.contains("a=group:BUNDLE 0 2\r\n"), sdp);
        SdpAnswer p = SdpAnswer.parse(sdp);
        assertEquals(List.of("0", "1", "2"), p.media().stream().map(SdpAnswer.Media::mid).toList());
        SdpAnswer.Media rejected = p.media(gone).orElseThrow();
        assertTrue(rejected.rejected());
        assertEquals(MediaKind.VIDEO, rejected.kind());
        assertEquals(Direction.INACTIVE, rejected.direction());
        assertTrue(rejected.ssrcs().isEmpty());
        assertNull(rejected.msidStream());
        assertFalse(sdp.contains("prod-2"));
        int at = sdp.indexOf("a=mid:" + gone);
        String section = sdp.substring(sdp.lastIndexOf("m=", at), sdp.indexOf("m=", at));
        assertEquals("m=video 0 UDP/TLS/RTP/SAVPF 96 102 98 104\r\nc=IN IP4 203.0.113.5\r\na=mid:1\r\na=inactive\r\n",
                section);
        assertEquals(List.of(1003L), p.media(stays).orElseThrow().ssrcs());
        assertThrows(IllegalArgumentException.class, () -> offerer.remove(gone));
        assertThrows(IllegalArgumentException.class, () -> offerer.setDirection(gone, Direction.SENDONLY));
    }

    @Test
    void addSendOnly_afterRejectionAnswered_recyclesIndexWithNewMidOfSameKindOnly() throws Exception {
        offerer.addRecvOnly(MediaKind.AUDIO);
        String v = offerer.addSendOnly(MediaKind.VIDEO, track(1));
        String a = offerer.addSendOnly(MediaKind.AUDIO, track(2));
        offerer.applyAnswer(answerTo(offerer.createOffer()));
        offerer.remove(v);
        offerer.remove(a);
        // not answered yet: the browser has not stopped the transceivers, so the m-lines cannot be reused
        String offer = offerer.createOffer();
        assertEquals("3", offerer.addSendOnly(MediaKind.AUDIO, track(3)));
        assertEquals(4, offerer.mediaSections().size());
        offerer.applyAnswer(answerTo(offer));
        // answered: the audio m-line (index 2) takes a new audio track under a new mid; video goes to index 1
        assertEquals("4", offerer.addSendOnly(MediaKind.AUDIO, track(4)));
        assertEquals("5", offerer.addSendOnly(MediaKind.VIDEO, track(5)));
        assertEquals("6", offerer.addSendOnly(MediaKind.VIDEO, track(6)));
        assertEquals(List.of("0", "5", "4", "3", "6"),
                offerer.mediaSections().stream().map(MediaSection::mid).toList());
        SdpAnswer p = SdpAnswer.parse(offerer.createOffer());
        assertEquals(List.of("0", "5", "4", "3", "6"), p.bundleMids());
        assertEquals(List.of(1004L), p.media("4").orElseThrow().ssrcs());
        assertEquals("conn-5", p.media("5").orElseThrow().msidStream());
        assertTrue(p.media().stream().noneMatch(SdpAnswer.Media::rejected));
    }

    @Test
    void remove_firstMLine_becomesInactiveNotRejected_bundleTagStays() throws Exception {
        String first = offerer.addSendOnly(MediaKind.AUDIO, track(1));
        String second = offerer.addSendOnly(MediaKind.AUDIO, track(2));
        offerer.applyAnswer(answerTo(offerer.createOffer()));
        offerer.remove(first);
        offerer.remove(second);
        String sdp = offerer.createOffer();
        assertTrue(sdp.contains("a=group:BUNDLE 0\r\n"), sdp);
        SdpAnswer p = SdpAnswer.parse(sdp);
        assertFalse(p.media(first).orElseThrow().rejected());
        assertEquals(Direction.INACTIVE, p.media(first).orElseThrow().direction());
        assertTrue(p.media(second).orElseThrow().rejected());
        offerer.applyAnswer(answerTo(sdp));
        assertEquals("2", offerer.addSendOnly(MediaKind.AUDIO, track(3)));
        assertEquals(List.of("0", "2"), offerer.mediaSections().stream().map(MediaSection::mid).toList());
    }

    @Test
    void applyAnswer_acceptsMLineTheOfferRejected_throws() throws Exception {
        offerer.addRecvOnly(MediaKind.AUDIO);
        String gone = offerer.addSendOnly(MediaKind.AUDIO, track(1));
        String first = offerer.createOffer();
        offerer.applyAnswer(answerTo(first));
        offerer.remove(gone);
        offerer.createOffer();
        // an answer that accepts the rejected m-line (here: the answer to the first offer) does not fit
        SdpException e = assertThrows(SdpException.class, () -> offerer.applyAnswer(answerTo(first)));
        assertTrue(e.getMessage().contains("rejected"), e.getMessage());
        // and the m-line stays unusable until a fitting answer comes
        offerer.addSendOnly(MediaKind.AUDIO, track(2));
        assertEquals(3, offerer.mediaSections().size());
    }

    @Test
    void applyAnswer_checksTheOfferSent_notLaterChanges() throws Exception {
        offerer.addRecvOnly(MediaKind.AUDIO);
        String offer = offerer.createOffer();
        offerer.addSendOnly(MediaKind.VIDEO, track(1)); // not offered yet
        offerer.applyAnswer(answerTo(offer));
        SdpOfferer fresh = new SdpOfferer(1, "abcd", "0123456789012345678901", SERVER_FP,
                InetAddress.getByName("127.0.0.1"), 5000);
        fresh.addRecvOnly(MediaKind.AUDIO);
        assertThrows(SdpException.class, () -> fresh.applyAnswer(answerTo(offer)), "no offer was made");
    }

    /**
     * Churn: one track comes and goes at a time, N times over (with up to 3 other publishers live). The offer stays
     * as small as after the first cycles: m-lines are recycled, never added for good.
     */
    @Test
    void churn_manyTracksComeAndGo_offerStaysBounded() throws Exception {
        offerer.addRecvOnly(MediaKind.AUDIO);
        offerer.addRecvOnly(MediaKind.VIDEO);
        offerer.applyAnswer(answerTo(offerer.createOffer()));
        java.util.ArrayDeque<String[]> live = new java.util.ArrayDeque<>();
        int largestAfterWarmup = 0;
        int largestWarmup = 0;
        int maxSections = 0;
        for (int n = 0; n < 1000; n++) {
            String a = offerer.addSendOnly(MediaKind.AUDIO, track(2 * n));
            String v = offerer.addSendOnly(MediaKind.VIDEO, track(2 * n + 1));
            live.add(new String[] {a, v});
            String offer = offerer.createOffer();
            offerer.applyAnswer(answerTo(offer));
            int size = offer.length();
            if (live.size() > 3) {
                for (String mid : live.remove()) {
                    offerer.remove(mid);
                }
                offer = offerer.createOffer();
                offerer.applyAnswer(answerTo(offer));
                size = Math.max(size, offer.length());
            }
            if (n < 10) {
                largestWarmup = Math.max(largestWarmup, size);
            } else {
                largestAfterWarmup = Math.max(largestAfterWarmup, size);
            }
            maxSections = Math.max(maxSections, offerer.mediaSections().size());
        }
        // only the numbers in it grow longer (mids, track names, SSRCs, the version: 1 to 4 digits), never the m-lines
        assertTrue(largestAfterWarmup <= largestWarmup + 300, largestAfterWarmup + " vs " + largestWarmup);
        // 2 uploads + 4 publishers x 2 tracks at the peak: no more m-lines than that ever
        assertEquals(10, maxSections);
        assertTrue(largestAfterWarmup < 10_000, "largest offer " + largestAfterWarmup);
        assertEquals("2001", offerer.mediaSections().stream().map(MediaSection::mid)
                .max(java.util.Comparator.comparingInt(Integer::parseInt)).orElseThrow(), "mids are never reused");
    }

    @Test
    void createOffer_noMediaOrIpv6_handled() throws Exception {
        assertThrows(IllegalStateException.class, offerer::createOffer);
        SdpOfferer v6 = new SdpOfferer(1, "abcd", "0123456789012345678901", SERVER_FP,
                InetAddress.getByName("2001:db8::5"), 443);
        v6.addInactive(MediaKind.AUDIO);
        String sdp = v6.createOffer();
        assertTrue(sdp.contains("c=IN IP6 2001:db8:0:0:0:0:0:5\r\n"));
        assertTrue(sdp.contains("a=candidate:1 1 udp 2130706431 2001:db8:0:0:0:0:0:5 443 typ host\r\n"));
        assertTrue(sdp.contains("a=inactive\r\n"));
    }

    @Test
    void setIceCredentials_restart_nextOfferCarriesThem() {
        offerer.addRecvOnly(MediaKind.AUDIO);
        offerer.setIceCredentials("newUfragnewUfrag", "newPasswordnewPasswordnewPasswor");
        String sdp = offerer.createOffer();
        assertTrue(sdp.contains("a=ice-ufrag:newUfragnewUfrag\r\n"));
        assertTrue(sdp.contains("a=ice-pwd:newPasswordnewPasswordnewPasswor\r\n"));
    }

    /** The offer that the chromium-answer.sdp fixture answers: 2 uploads, 2 forwarded tracks, VP8+RTX+H264. */
    private void chromiumOffer() {
        offerer.videoCodecs(List.of(Codec.vp8(), Codec.rtx(97, 96), Codec.h264()));
        offerer.addRecvOnly(MediaKind.AUDIO);
        offerer.addRecvOnly(MediaKind.VIDEO);
        offerer.addSendOnly(MediaKind.AUDIO, new SendTrack("conn-B", "prod-a", 111111L, "cB"));
        offerer.addSendOnly(MediaKind.VIDEO, new SendTrack("conn-B", "prod-v", 222222L, "cB"));
        offerer.createOffer();
    }

    @Test
    void applyAnswer_chromiumAnswer_extractsEverythingTheServerNeeds() throws Exception {
        chromiumOffer();
        SdpAnswer a = offerer.applyAnswer(fixture("chromium-answer.sdp"));
        assertEquals("Fh3k", a.iceUfrag());
        assertEquals("p4Qz8xXk0mT1wNcLsVb9dA2e", a.icePwd());
        assertEquals(SetupRole.ACTIVE, a.setup());
        assertEquals("sha-256", a.fingerprint().algorithm());
        assertEquals(32, a.fingerprint().value().length);
        assertEquals(0x7B, a.fingerprint().value()[0] & 0xFF);
        assertEquals(0x7D, a.fingerprint().value()[31] & 0xFF);
        assertFalse(a.iceLite());
        assertEquals(List.of("0", "1", "2", "3"), a.bundleMids());

        SdpAnswer.Media mic = a.media("0").orElseThrow();
        assertEquals(MediaKind.AUDIO, mic.kind());
        assertEquals(Direction.SENDONLY, mic.direction());
        assertEquals(List.of(111), mic.payloadTypes());
        assertEquals(2404115117L, mic.primarySsrc().orElseThrow());
        assertEquals("b9e2a6c4-3f1d-4e8a-9c57-2d61f0a8e3b4", mic.msidStream());
        assertEquals(1, mic.extmapId(Extmap.SDES_MID).orElseThrow());
        assertTrue(mic.rtcpMux());

        SdpAnswer.Media cam = a.media("1").orElseThrow();
        assertEquals(List.of(96, 97, 102), cam.payloadTypes());
        assertEquals(3735928559L, cam.primarySsrc().orElseThrow());
        assertEquals(1122334455L, cam.rtxSsrcFor(3735928559L).orElseThrow());
        assertEquals(List.of(new SdpAnswer.SsrcGroup("FID", List.of(3735928559L, 1122334455L))), cam.ssrcGroups());
        assertEquals("XqT2f9Lk7bN4vR1s", cam.cnames().get(3735928559L));
        assertEquals("apt=96", cam.codec(97).orElseThrow().fmtp());
        assertEquals(List.of("nack", "nack pli", "ccm fir"), cam.codec(96).orElseThrow().rtcpFeedback());
        assertEquals("H264", cam.codec(102).orElseThrow().name());

        SdpAnswer.Media fwd = a.media("3").orElseThrow();
        assertEquals(Direction.RECVONLY, fwd.direction());
        assertTrue(fwd.ssrcs().isEmpty());
        assertTrue(fwd.primarySsrc().isEmpty());
    }

    @Test
    void applyAnswer_lfLineEndingsAndSessionLevelFingerprint_accepted() throws Exception {
        chromiumOffer();
        String ans = fixture("chromium-answer.sdp").replace("\r\n", "\n");
        String fpLine = ans.lines().filter(l -> l.startsWith("a=fingerprint:")).findFirst().orElseThrow();
        ans = ans.replace(fpLine + "\n", "").replace("t=0 0\n", "t=0 0\n" + fpLine + "\n"); // Firefox style
        SdpAnswer a = offerer.applyAnswer(ans);
        assertEquals(32, a.fingerprint().value().length);
        assertEquals(a.fingerprint(), a.media("3").orElseThrow().fingerprint());
    }

    @Test
    void applyAnswer_midsOutOfOrder_throws() throws Exception {
        chromiumOffer();
        String ans = fixture("chromium-answer.sdp").replace("a=mid:2\r\n", "a=mid:X\r\n");
        assertThrows(SdpException.class, () -> offerer.applyAnswer(ans));
    }

    @Test
    void applyAnswer_illegalDirection_throws() throws Exception {
        chromiumOffer();
        // mid 3 was offered sendonly: the browser cannot answer sendonly
        String ans = fixture("chromium-answer.sdp");
        int m3 = ans.indexOf("a=mid:3");
        String bad = ans.substring(0, m3) + ans.substring(m3).replaceFirst("a=recvonly", "a=sendonly");
        assertThrows(SdpException.class, () -> offerer.applyAnswer(bad));
    }

    @Test
    void applyAnswer_missingFingerprintOrActpassOrUnofferedPt_throws() throws Exception {
        chromiumOffer();
        String ans = fixture("chromium-answer.sdp");
        String noFp = ans.replaceAll("a=fingerprint:[^\r]*\r\n", "");
        assertThrows(SdpException.class, () -> offerer.applyAnswer(noFp));
        String actpass = ans.replace("a=setup:active", "a=setup:actpass");
        assertThrows(SdpException.class, () -> offerer.applyAnswer(actpass));
        String pt = ans.replaceFirst("m=audio 9 UDP/TLS/RTP/SAVPF 111", "m=audio 9 UDP/TLS/RTP/SAVPF 111 0");
        assertThrows(SdpException.class, () -> offerer.applyAnswer(pt));
        String fewer = ans.substring(0, ans.indexOf("m=video 9 UDP/TLS/RTP/SAVPF 96 97 102\r\nc=IN IP4 0.0.0.0\r\n"
                + "a=rtcp:9 IN IP4 0.0.0.0\r\na=ice-ufrag:Fh3k\r\na=ice-pwd:p4Qz8xXk0mT1wNcLsVb9dA2e\r\n"
                + "a=ice-options:trickle\r\na=fingerprint:sha-256 7B:0E:3A:9C:41:D2:58:6F:1A:B3:C4:77:E0:2D:95:08:"
                + "6C:F1:23:BA:4E:90:D7:31:AF:62:08:CE:5B:19:E4:7D\r\na=setup:active\r\na=mid:3"));
        assertThrows(SdpException.class, () -> offerer.applyAnswer(fewer));
    }

    @Test
    void applyAnswer_rejectedMLine_allowed() throws Exception {
        chromiumOffer();
        String ans = fixture("chromium-answer.sdp");
        int m3 = ans.lastIndexOf("m=video 9 ");
        String rejected = ans.substring(0, m3) + "m=video 0 " + ans.substring(m3 + "m=video 9 ".length());
        SdpAnswer a = offerer.applyAnswer(rejected);
        assertTrue(a.media("3").orElseThrow().rejected());
    }

    @Test
    void parse_garbage_throwsSdpException() {
        assertThrows(SdpException.class, () -> SdpAnswer.parse("hello"));
        assertThrows(SdpException.class, () -> SdpAnswer.parse(null));
        assertThrows(SdpException.class, () -> SdpAnswer.parse("v=0\r\nm=audio x UDP/TLS/RTP/SAVPF 111\r\n"));
        assertThrows(SdpException.class, () -> SdpAnswer.parse("v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 300\r\n"));
        assertThrows(SdpException.class, () -> SdpAnswer.parse("v=0\r\nbogus\r\n"));
        assertThrows(SdpException.class, () -> SdpAnswer.parse(
                "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=ice-ufrag:a\r\na=ice-pwd:b\r\n"
                        + "a=fingerprint:sha-256 ZZ:00\r\n"));
        assertThrows(SdpException.class, () -> SdpAnswer.parse(
                "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=ice-ufrag:a\r\na=ice-pwd:b\r\n"
                        + "a=fingerprint:sha-256 00:11\r\na=ssrc:99999999999 cname:x\r\n"));
    }

    @Test
    void dtlsFingerprint_formatParseMatch_roundTrip() throws Exception {
        byte[] cert = "certificate DER".getBytes(StandardCharsets.UTF_8);
        DtlsFingerprint fp = DtlsFingerprint.sha256(cert);
        String v = fp.toSdpValue();
        assertTrue(v.matches("sha-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}"));
        DtlsFingerprint back = DtlsFingerprint.parse(v.toLowerCase(java.util.Locale.ROOT).replace("sha-256", "SHA-256"));
        assertEquals(fp, back);
        assertArrayEquals(fp.value(), back.value());
        assertTrue(back.matches(cert));
        assertFalse(back.matches("other".getBytes(StandardCharsets.UTF_8)));
        assertFalse(new DtlsFingerprint("md5", new byte[16]).matches(cert));
    }

    @Test
    void direction_answerRules() {
        assertTrue(Direction.RECVONLY.acceptsAnswer(Direction.SENDONLY));
        assertTrue(Direction.RECVONLY.acceptsAnswer(Direction.INACTIVE));
        assertFalse(Direction.RECVONLY.acceptsAnswer(Direction.RECVONLY));
        assertFalse(Direction.SENDONLY.acceptsAnswer(Direction.SENDRECV));
        assertTrue(Direction.SENDRECV.acceptsAnswer(Direction.RECVONLY));
        assertFalse(Direction.INACTIVE.acceptsAnswer(Direction.SENDONLY));
    }

    @Test
    void iceTcpPort_addsAPassiveTcpCandidateBelowTheUdpOne() {
        offerer.addRecvOnly(MediaKind.AUDIO);
        assertFalse(offerer.createOffer().contains(" tcp "));
        offerer.iceTcpPort(5001);
        List<String> l = lines(offerer.createOffer());
        int udp = l.indexOf("a=candidate:1 1 udp 2130706431 203.0.113.5 5000 typ host");
        int tcp = l.indexOf("a=candidate:2 1 tcp 1520435199 203.0.113.5 5001 typ host tcptype passive");
        assertTrue(udp >= 0 && tcp == udp + 1, String.join("\n", l));
        assertEquals("a=end-of-candidates", l.get(tcp + 1));
        assertTrue(SdpOfferer.HOST_TCP_CANDIDATE_PRIORITY < SdpOfferer.HOST_CANDIDATE_PRIORITY);
        assertThrows(IllegalArgumentException.class, () -> offerer.iceTcpPort(65536));
    }
}
