package dev.veil.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.veil.webrtc.sdp.DtlsFingerprint;
import dev.veil.webrtc.sdp.SdpAnswer;
import dev.veil.webrtc.sdp.SdpException;
import java.nio.charset.StandardCharsets;

/**
 * Fuzz target for the Java SDK's side of SDP: {@link ClientSdp#parseOffer} reads the offer the (untrusted) server
 * sends. Properties: only {@link SdpException}; the candidate is an IP literal (never a name to look up); the
 * answer written for any accepted offer is well-formed SDP with the offer's m-lines and mids in order (nothing in
 * the offer can inject lines into the answer).
 */
class ClientSdpFuzzTest {
    private static final DtlsFingerprint FP = DtlsFingerprint.sha256(new byte[] {4, 5, 6});

    @FuzzTest
    void parseOffer(byte[] data) {
        ClientSdp.Offer offer;
        try {
            offer = ClientSdp.parseOffer(new String(data, StandardCharsets.UTF_8));
        } catch (SdpException e) {
            return;
        }
        assertTrue(offer.candidate().getAddress() != null && !offer.candidate().isUnresolved());
        offer.tracks();
        offer.uploadAudio();
        String answer = ClientSdp.answer(offer, "2", "clientufrag", "clientpasswordclientpassword", FP, true, true,
                1234, "cname");
        SdpAnswer parsed;
        try {
            parsed = SdpAnswer.parse(answer);
        } catch (SdpException e) {
            throw new AssertionError("the answer to an accepted offer does not parse: " + e.getMessage(), e);
        }
        assertEquals(offer.media().size(), parsed.media().size());
        for (int i = 0; i < offer.media().size(); i++) {
            assertEquals(offer.media().get(i).mid(), parsed.media().get(i).mid());
            assertEquals(offer.media().get(i).kind(), parsed.media().get(i).kind());
        }
    }
}
