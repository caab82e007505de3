package dev.veil.webrtc.sdp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.util.List;
import org.junit.jupiter.api.Test;

/** RTX (RFC 4588) on the SFU's SENDONLY m-lines: announced only for a video track with an RTX SSRC. */
class SdpSendRtxTest {

    private static SdpOfferer offerer() throws Exception {
        return new SdpOfferer(1, "u1234", "p".repeat(24), DtlsFingerprint.sha256(new byte[] {1, 2, 3}),
                InetAddress.getByName("203.0.113.5"), 5000);
    }

    private static List<String> section(String offer, String mid) {
        List<String> lines = List.of(offer.split("\r\n"));
        int start = lines.indexOf("a=mid:" + mid) - 2;
        int end = start + 1;
        while (end < lines.size() && !lines.get(end).startsWith("m=")) {
            end++;
        }
        return lines.subList(start, end);
    }

    @Test
    void videoTrackWithRtxSsrc_offersRtxPerCodecAndFidGroup() throws Exception {
        SdpOfferer o = offerer();
        String mid = o.addSendOnly(MediaKind.VIDEO, new SendTrack("pub", "pub-video", 1111, "pub", 2222));
        List<String> m = section(o.createOffer(), mid);
        assertTrue(m.get(0).startsWith("m=video 5000 UDP/TLS/RTP/SAVPF 96 102 98 104 97 103 99 105"), m.get(0));
        assertTrue(m.contains("a=rtpmap:97 rtx/90000"), m.toString());
        assertTrue(m.contains("a=fmtp:97 apt=96"), m.toString());
        assertTrue(m.contains("a=fmtp:103 apt=102"), m.toString());
        assertTrue(m.contains("a=fmtp:99 apt=98"), m.toString());
        assertTrue(m.contains("a=fmtp:105 apt=104"), m.toString());
        int fid = m.indexOf("a=ssrc-group:FID 1111 2222");
        assertTrue(fid > 0, m.toString());
        assertTrue(fid < m.indexOf("a=ssrc:1111 cname:pub"), "the group comes before the ssrc lines");
        assertTrue(m.contains("a=ssrc:2222 cname:pub"), m.toString());
        assertTrue(m.contains("a=ssrc:2222 msid:pub pub-video"), m.toString());
    }

    @Test
    void withoutRtxSsrc_orAudio_noRtx() throws Exception {
        SdpOfferer o = offerer();
        String v = o.addSendOnly(MediaKind.VIDEO, new SendTrack("pub", "pub-video", 1111, "pub"));
        String a = o.addSendOnly(MediaKind.AUDIO, new SendTrack("pub", "pub-audio", 3333, "pub", 4444));
        String offer = o.createOffer();
        assertFalse(String.join("\n", section(offer, v)).contains("rtx"), offer);
        assertFalse(String.join("\n", section(offer, v)).contains("FID"), offer);
        assertFalse(String.join("\n", section(offer, a)).contains("rtx"), offer);
        assertFalse(String.join("\n", section(offer, a)).contains("FID"), offer);
        assertThrows(IllegalArgumentException.class, () -> new SendTrack("s", "t", 5, "c", 5));
    }

    @Test
    void answerKeepingRtx_isAccepted() throws Exception {
        SdpOfferer o = offerer();
        String mid = o.addSendOnly(MediaKind.VIDEO, new SendTrack("pub", "pub-video", 1111, "pub", 2222));
        o.createOffer();
        String answer = String.join("\r\n", "v=0", "o=- 1 1 IN IP4 0.0.0.0", "s=-", "t=0 0",
                "a=group:BUNDLE " + mid, "m=video 9 UDP/TLS/RTP/SAVPF 96 97", "c=IN IP4 0.0.0.0", "a=mid:" + mid,
                "a=recvonly", "a=ice-ufrag:abcd", "a=ice-pwd:" + "q".repeat(24),
                "a=fingerprint:sha-256 " + "CD:".repeat(31) + "CD", "a=setup:active", "a=rtcp-mux",
                "a=rtpmap:96 VP8/90000", "a=rtpmap:97 rtx/90000", "a=fmtp:97 apt=96", "") + "\r\n";
        SdpAnswer.Media m = o.applyAnswer(answer).media(mid).orElseThrow();
        assertEquals("apt=96", m.codec(97).orElseThrow().fmtp());
    }
}
