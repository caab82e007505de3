package dev.veil.webrtc.sdp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

/**
 * The attribute names {@link SdpAnswer#parse} reads are looked up by hash (a table, not a string switch or a map,
 * both of which Jazzer traces compare by compare): every name and direction is still found, and a name with the same
 * hash as a known one is not taken for it.
 */
class SdpAnswerAttrTest {
    private static final String HEAD = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
            + "a=ice-ufrag:uf\r\na=ice-pwd:pw\r\na=fingerprint:sha-256 AB:CD\r\na=setup:active\r\n";

    @Test
    void everyDirection_andTheMid_found() throws Exception {
        for (Direction d : Direction.values()) {
            SdpAnswer a = SdpAnswer.parse(HEAD + "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=" + d.sdpName()
                    + "\r\na=rtpmap:111 opus/48000/2\r\na=rtcp-mux\r\n");
            assertEquals(d, a.media().get(0).direction());
            assertEquals("0", a.media().get(0).mid());
            assertEquals(1, a.media().get(0).codecs().size());
            assertEquals(true, a.media().get(0).rtcpMux());
        }
    }

    @Test
    void aNameWithTheHashOfAKnownOne_isIgnored() throws Exception {
        String collidesWithMid = "mh\u0083"; // 'i'*31 + 'd' == 'h'*31 + 0x83
        assertEquals("mid".hashCode(), collidesWithMid.hashCode());
        String collidesWithSendonly = "sendonk\u0098"; // 'l'*31 + 'y' == 'k'*31 + 0x98
        assertEquals("sendonly".hashCode(), collidesWithSendonly.hashCode());
        SdpAnswer a = SdpAnswer.parse(HEAD + "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=" + collidesWithMid + ":0\r\na="
                + collidesWithSendonly + "\r\n");
        assertNull(a.media().get(0).mid());
        assertEquals(Direction.SENDRECV, a.media().get(0).direction());
    }

    @Test
    void mLine_mediaOrProtocolWithControlCharacters_refused() throws Exception {
        String ok = "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n";
        assertEquals("UDP/TLS/RTP/SAVPF", SdpAnswer.parse(HEAD + ok).media().get(0).protocol());
        // "\0\u000B": \u000B splits fields, "\0" became the protocol, and the SDK's answer "m=audio 9 \0 ..." read
        // back as a two-field m-line (ClientSdpFuzzTestInputs/parseOffer/finding-mline-control-char-protocol)
        for (String bad : new String[] {"m=audio 9 \0\u000BUDP/TLS/RTP/SAVPF 111", "m=a\0udio 9 UDP/TLS/RTP/SAVPF 111",
            "m=audio 9 UDP/TLS/RTP/SAVPF\u0001 111", "m=aud\u00e9o 9 UDP/TLS/RTP/SAVPF 111"}) {
            org.junit.jupiter.api.Assertions.assertThrows(SdpException.class,
                    () -> SdpAnswer.parse(HEAD + bad + "\r\na=mid:0\r\n"), bad);
        }
    }
}
