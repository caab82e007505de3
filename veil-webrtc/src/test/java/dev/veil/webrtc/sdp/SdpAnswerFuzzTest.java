package dev.veil.webrtc.sdp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Fuzz target for the server's side of SDP: {@link SdpOfferer#applyAnswer} (the answer text comes from the client
 * over signaling, so it is hostile). Properties: only {@link SdpException}; an accepted answer has exactly the
 * offer's m-lines, mids and kinds, only offered payload types, and a fingerprint, ufrag and pwd when any m-line is
 * accepted; applying it does not change the offer.
 */
class SdpAnswerFuzzTest {
    private static final SdpOfferer OFFERER = offerer();
    private static final String OFFER = OFFERER.createOffer();
    private static final List<MediaSection> SECTIONS = List.copyOf(OFFERER.mediaSections());

    private static SdpOfferer offerer() {
        try {
            SdpOfferer o = new SdpOfferer(4242424242L, "srvUfrag12345678", "srvPassword0123456789abcdefghijk",
                    DtlsFingerprint.sha256("server cert".getBytes(StandardCharsets.UTF_8)),
                    InetAddress.getByName("203.0.113.5"), 5000);
            // The offer that the committed seed answers (chromium-answer.sdp): 2 uploads, 2 forwarded tracks.
            o.videoCodecs(List.of(Codec.vp8(), Codec.rtx(97, 96), Codec.h264()));
            o.addRecvOnly(MediaKind.AUDIO);
            o.addRecvOnly(MediaKind.VIDEO);
            o.addSendOnly(MediaKind.AUDIO, new SendTrack("conn-B", "prod-a", 111111L, "cB"));
            o.addSendOnly(MediaKind.VIDEO, new SendTrack("conn-B", "prod-v", 222222L, "cB"));
            return o;
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    @FuzzTest
    void applyAnswer(byte[] data) {
        String text = new String(data, StandardCharsets.UTF_8);
        SdpAnswer a;
        try {
            a = OFFERER.applyAnswer(text);
        } catch (SdpException e) {
            return;
        }
        List<MediaSection> offered = SECTIONS;
        assertEquals(offered.size(), a.media().size());
        boolean anyAccepted = false;
        for (int i = 0; i < offered.size(); i++) {
            SdpAnswer.Media m = a.media().get(i);
            MediaSection o = offered.get(i);
            assertEquals(o.mid(), m.mid());
            assertEquals(o.kind(), m.kind());
            if (m.rejected()) {
                continue;
            }
            anyAccepted = true;
            for (int pt : m.payloadTypes()) {
                assertTrue(o.codecs().stream().anyMatch(c -> c.payloadType() == pt), "unoffered payload type");
            }
            assertNotNull(m.fingerprint());
            assertNotNull(m.iceUfrag());
            assertNotNull(m.icePwd());
        }
        if (anyAccepted) {
            assertNotNull(a.fingerprint());
            assertTrue(a.setup() == SetupRole.ACTIVE || a.setup() == SetupRole.PASSIVE);
        }
        assertEquals(SECTIONS, OFFERER.mediaSections(), "applying an answer changed the offer");
    }

    @FuzzTest
    void parse(byte[] data) {
        try {
            SdpAnswer a = SdpAnswer.parse(new String(data, StandardCharsets.UTF_8));
            assertTrue(a.media().size() <= data.length / 4, "more m-lines than the text can hold");
        } catch (SdpException e) {
            // the documented rejection
        }
    }
}
