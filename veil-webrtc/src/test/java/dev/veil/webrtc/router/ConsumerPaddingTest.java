package dev.veil.webrtc.router;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.veil.webrtc.cc.TransportSequence;
import dev.veil.webrtc.rtp.RtpPacket;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The padding-only packets a consumer builds for bandwidth probes (on its RTX stream, no payload). */
class ConsumerPaddingTest {

    private static final ConsumerParams WITH_RTX = new ConsumerParams(0x5001L, 100, "cn", 1, "v1").withRtx(0x5002L, 101);

    @Test
    void paddingGoesOnTheRtxStreamWithNoPayloadAndRoomForTheTransportWideNumber() throws Exception {
        Producer p = StageFixtures.video("pv", "pub", 0x2222L);
        Consumer c = StageFixtures.consumer("c", "sub", p, WITH_RTX);
        assertNull(c.padding(250, 3), "nothing before the first forwarded packet");
        assertNotNull(c.forward(StageFixtures.rtp(0x2222L, 96, 10, 9000, StageFixtures.VP8_KEY), true, 0));
        byte[] a = c.padding(250, 3);
        byte[] b = c.padding(250, 3);
        assertEquals(250, a.length);
        RtpPacket pa = RtpPacket.parse(a);
        RtpPacket pb = RtpPacket.parse(b);
        assertEquals(0x5002L, pa.header().ssrc(), "the RTX SSRC");
        assertEquals(101, pa.header().payloadType(), "the RTX payload type");
        assertEquals(0, pa.payloadLength(), "no payload: no frame, nothing to decrypt");
        assertEquals(a.length - pa.payloadOffset(), pa.paddingLength());
        assertEquals(100_000, pa.header().timestamp(), "the last timestamp sent");
        assertEquals((pa.header().sequenceNumber() + 1) & 0xFFFF, pb.header().sequenceNumber(),
                "the RTX stream's own sequence");
        assertEquals("v1", new String(pa.header().extension(1).data(), StandardCharsets.US_ASCII));
        assertEquals(0, TransportSequence.find(a, 0, a.length, 3), "a zeroed element to stamp");
        // a retransmission after it continues the same RTX sequence
        byte[] rtx = c.retransmit(StageFixtures.rtp(0x2222L, 96, 10, 9000, StageFixtures.VP8_KEY));
        assertEquals((pb.header().sequenceNumber() + 1) & 0xFFFF, RtpPacket.parse(rtx).header().sequenceNumber());
        // the padding is 1..255 bytes whatever is asked
        assertEquals(255, RtpPacket.parse(c.padding(1000, 3)).paddingLength());
        assertEquals(1, RtpPacket.parse(c.padding(1, 3)).paddingLength());
    }

    @Test
    void noPaddingWithoutRtxOrWhenPausedOrClosed() throws Exception {
        Producer p = StageFixtures.video("pv", "pub", 0x2222L);
        Consumer plain = StageFixtures.consumer("p", "sub", p, new ConsumerParams(0x6001L, 100, "cn", 0, null));
        plain.forward(StageFixtures.rtp(0x2222L, 96, 10, 9000, StageFixtures.VP8_KEY), true, 0);
        assertNull(plain.padding(250, 3), "no RTX stream to pad on (padding on the media SSRC would look like loss)");
        Consumer c = StageFixtures.consumer("c", "sub", p, WITH_RTX);
        c.forward(StageFixtures.rtp(0x2222L, 96, 10, 9000, StageFixtures.VP8_KEY), true, 0);
        c.paused = true;
        assertNull(c.padding(250, 3));
        c.paused = false;
        assertTrue(c.padding(250, 0).length == 250, "without a transport-wide id: still padding");
        c.closed = true;
        assertNull(c.padding(250, 3));
    }
}
