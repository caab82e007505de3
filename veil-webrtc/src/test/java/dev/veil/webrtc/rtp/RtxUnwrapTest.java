package dev.veil.webrtc.rtp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

class RtxUnwrapTest {

    @Test
    void restoresTheOriginalPacket() throws Exception {
        HeaderExtension twcc = new HeaderExtension(3, new byte[] {0, 9});
        RtpHeader rtxHeader = RtpHeader.of(true, 97, 500, 123456, 0xBBBBL).withExtensions(List.of(twcc));
        byte[] payload = {0x12, 0x34, 'v', 'p', '8'}; // OSN 0x1234, then the original payload
        byte[] rtx = RtpPacket.build(rtxHeader, payload, 0, payload.length);
        RtpPacket orig = RtpPacket.parse(RtxUnwrap.unwrap(rtx, 0xAAAAL, 96));
        assertEquals(0xAAAAL, orig.header().ssrc());
        assertEquals(96, orig.header().payloadType());
        assertEquals(0x1234, orig.header().sequenceNumber());
        assertEquals(123456, orig.header().timestamp());
        assertEquals(List.of(twcc), orig.header().extensions());
        byte[] body = new byte[orig.payloadLength()];
        System.arraycopy(orig.buffer(), orig.payloadOffset(), body, 0, body.length);
        assertArrayEquals(new byte[] {'v', 'p', '8'}, body);
    }

    @Test
    void paddingOnlyIsNull() throws Exception {
        byte[] probe = RtpPacket.build(RtpHeader.of(false, 97, 1, 2, 3), new byte[0], 0, 0);
        assertNull(RtxUnwrap.unwrap(probe, 1, 96));
        byte[] osnOnly = RtpPacket.build(RtpHeader.of(false, 97, 1, 2, 3), new byte[] {0, 1}, 0, 2);
        assertNull(RtxUnwrap.unwrap(osnOnly, 1, 96));
        assertThrows(RtpException.class, () -> RtxUnwrap.unwrap(new byte[] {1, 2, 3}, 1, 96));
    }
}
