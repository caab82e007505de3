package dev.veil.server;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.veil.webrtc.rtcp.PictureLossIndication;
import dev.veil.webrtc.rtcp.ReceiverReport;
import dev.veil.webrtc.rtcp.Remb;
import dev.veil.webrtc.rtcp.RtcpCompound;
import dev.veil.webrtc.rtcp.TransportFeedback;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The header walk that keeps the downlink estimator from parsing every RTCP compound twice. */
class DownlinkCcScanTest {

    @Test
    void findsFeedbackAnywhereInACompoundAndNothingElse() {
        ReceiverReport rr = new ReceiverReport(1, List.of());
        TransportFeedback fb = new TransportFeedback(1, 2, 10, 1, 0, 0, List.of(new TransportFeedback.Received(10, 4)));
        assertTrue(DownlinkCc.mayCarryFeedback(RtcpCompound.write(List.of(rr, fb))));
        assertTrue(DownlinkCc.mayCarryFeedback(RtcpCompound.write(List.of(rr, new Remb(1, 5000, List.of(2L))))));
        assertFalse(DownlinkCc.mayCarryFeedback(RtcpCompound.write(List.of(rr, new PictureLossIndication(1, 2)))));
        assertFalse(DownlinkCc.mayCarryFeedback(new byte[0]));
    }

    @Test
    void neverThrowsOnGarbage() {
        Random r = new Random(4);
        int found = 0;
        for (int i = 0; i < 100_000; i++) {
            byte[] b = new byte[r.nextInt(64)];
            r.nextBytes(b);
            found += DownlinkCc.mayCarryFeedback(b) ? 1 : 0;
        }
        assertTrue(found > 0 && found < 100_000, "some random compounds look like feedback, most do not: " + found);
    }
}
