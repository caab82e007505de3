package dev.veil.webrtc.sdp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Simulcast in the SFU's offer to a publisher (a=rid recv, a=simulcast:recv) and in the browser's answer. */
class SdpSimulcastTest {

    private static final DtlsFingerprint SERVER_FP = DtlsFingerprint.sha256("server".getBytes(StandardCharsets.UTF_8));
    private static final DtlsFingerprint CLIENT_FP = DtlsFingerprint.sha256("client".getBytes(StandardCharsets.UTF_8));
    private SdpOfferer offerer;

    @BeforeEach
    void setUp() throws Exception {
        offerer = new SdpOfferer(77L, "srvUfrag12345678", "srvPassword0123456789abcdefghijk", SERVER_FP,
                InetAddress.getByName("127.0.0.1"), 5000).uplinkSimulcast(List.of("q", "h", "f"));
    }

    private static List<String> lines(String sdp) {
        return List.of(sdp.split("\r\n"));
    }

    /** The lines of one m-section (by index) of an SDP. */
    private static List<String> section(String sdp, int index) {
        String[] parts = sdp.split("\r\nm=");
        return lines("m=" + parts[index + 1]);
    }

    @Test
    void offer_recvOnlyVideoCarriesRidsSimulcastAndTheStreamIdExtensions() {
        offerer.addRecvOnly(MediaKind.AUDIO);
        offerer.addRecvOnly(MediaKind.VIDEO);
        offerer.addSendOnly(MediaKind.VIDEO, new SendTrack("conn-B", "prod-v", 222222L, "cB"));
        String sdp = offerer.createOffer();
        List<String> audio = section(sdp, 0);
        List<String> video = section(sdp, 1);
        List<String> forwarded = section(sdp, 2);
        assertTrue(video.containsAll(List.of("a=rid:q recv", "a=rid:h recv", "a=rid:f recv", "a=simulcast:recv q;h;f")));
        // ids: 1 = mid, 3 = transport-wide cc, then the first free ones
        assertTrue(video.contains("a=extmap:4 " + Extmap.RTP_STREAM_ID), video.toString());
        assertTrue(video.contains("a=extmap:5 " + Extmap.REPAIRED_RTP_STREAM_ID));
        for (List<String> other : List.of(audio, forwarded)) {
            assertFalse(other.stream().anyMatch(l -> l.startsWith("a=rid") || l.startsWith("a=simulcast")
                    || l.contains("rtp-stream-id")), other.toString());
        }
        // rids come before the candidate lines, after the codecs
        assertTrue(video.indexOf("a=simulcast:recv q;h;f") > video.indexOf("a=rtpmap:96 VP8/90000"));
        assertTrue(video.indexOf("a=simulcast:recv q;h;f") < video.indexOf("a=end-of-candidates"));
    }

    @Test
    void offer_withoutSimulcastHasNoRids() throws Exception {
        SdpOfferer plain = new SdpOfferer(77L, "srvUfrag12345678", "srvPassword0123456789abcdefghijk", SERVER_FP,
                InetAddress.getByName("127.0.0.1"), 5000);
        plain.addRecvOnly(MediaKind.VIDEO);
        String sdp = plain.createOffer();
        assertFalse(sdp.contains("a=rid") || sdp.contains("a=simulcast") || sdp.contains("rtp-stream-id"));
    }

    @Test
    void uplinkSimulcast_refusesBadRids() {
        assertThrows(IllegalArgumentException.class, () -> offerer.uplinkSimulcast(List.of("q")));
        assertThrows(IllegalArgumentException.class, () -> offerer.uplinkSimulcast(List.of("q", "q")));
        assertThrows(IllegalArgumentException.class, () -> offerer.uplinkSimulcast(List.of("q", "a b")));
        assertThrows(IllegalArgumentException.class, () -> offerer.uplinkSimulcast(List.of("q", "x".repeat(17))));
        offerer.uplinkSimulcast(List.of());
    }

    /** What Chromium 156 answers to it (an answerer's encodings are named after the offer's rids). */
    private static String chromiumAnswer(String simulcastLine, String... ridLines) {
        StringBuilder sb = new StringBuilder();
        sb.append("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n");
        sb.append("m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendonly\r\n");
        sb.append("a=ice-ufrag:Cl1e\r\na=ice-pwd:clientpassword0123456789\r\n");
        sb.append("a=fingerprint:").append(CLIENT_FP.toSdpValue()).append("\r\na=setup:active\r\na=rtcp-mux\r\n");
        sb.append("a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid\r\n");
        sb.append("a=extmap:4 ").append(Extmap.RTP_STREAM_ID).append("\r\n");
        sb.append("a=extmap:5 ").append(Extmap.REPAIRED_RTP_STREAM_ID).append("\r\n");
        sb.append("a=rtpmap:96 VP8/90000\r\na=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n");
        for (String r : ridLines) {
            sb.append(r).append("\r\n");
        }
        if (simulcastLine != null) {
            sb.append(simulcastLine).append("\r\n");
        }
        return sb.toString();
    }

    @Test
    void answer_chromiumSimulcastSend_isParsedWithItsStreamIdExtensions() throws Exception {
        offerer.addRecvOnly(MediaKind.VIDEO);
        offerer.createOffer();
        SdpAnswer a = offerer.applyAnswer(chromiumAnswer("a=simulcast:send q;h;f",
                "a=rid:q send", "a=rid:h send", "a=rid:f send"));
        SdpAnswer.Media m = a.media("0").orElseThrow();
        assertEquals(List.of("q", "h", "f"), m.simulcastRids());
        assertEquals(4, m.extmapId(Extmap.RTP_STREAM_ID).orElseThrow());
        assertEquals(5, m.extmapId(Extmap.REPAIRED_RTP_STREAM_ID).orElseThrow());
        assertTrue(m.primarySsrc().isEmpty(), "simulcast answers name no SSRC: the layers are told by their RIDs");
    }

    @Test
    void answer_simulcastForms_pausedAlternativesDraftAndMissingRidLines() throws Exception {
        SdpAnswer.Media m = SdpAnswer.parse(chromiumAnswer("a=simulcast:send ~q;h,x;f recv z",
                "a=rid:q send", "a=rid:h send pt=96", "a=rid:f send", "a=rid:z recv")).media().get(0);
        assertEquals(List.of("q", "h", "f"), m.simulcastRids(), "paused prefix dropped, first alternative kept");
        m = SdpAnswer.parse(chromiumAnswer("a=simulcast: send rid=q;h", "a=rid:q send", "a=rid:h send"))
                .media().get(0);
        assertEquals(List.of("q", "h"), m.simulcastRids(), "the draft's rid= form");
        m = SdpAnswer.parse(chromiumAnswer("a=simulcast:send q;h;f", "a=rid:q send", "a=rid:f send")).media().get(0);
        assertEquals(List.of("q", "f"), m.simulcastRids(), "a rid without its a=rid send line is not sent");
        m = SdpAnswer.parse(chromiumAnswer(null, "a=rid:q send")).media().get(0);
        assertEquals(List.of(), m.simulcastRids(), "no a=simulcast: no simulcast");
        StringBuilder many = new StringBuilder("a=simulcast:send ");
        for (int i = 0; i < 20; i++) {
            many.append(i == 0 ? "" : ";").append("r").append(i);
        }
        assertThrows(SdpException.class, () -> SdpAnswer.parse(chromiumAnswer(many.toString())));
    }

    @Test
    void answer_sendingARidThatWasNotOffered_isRefused() throws Exception {
        offerer.addRecvOnly(MediaKind.VIDEO);
        offerer.createOffer();
        SdpException e = assertThrows(SdpException.class, () -> offerer.applyAnswer(chromiumAnswer(
                "a=simulcast:send q;h;x", "a=rid:q send", "a=rid:h send", "a=rid:x send")));
        assertTrue(e.getMessage().contains("rid x"), e.getMessage());
    }
}
