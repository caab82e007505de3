package dev.veil.webrtc.rtp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.util.Arrays;

/**
 * Fuzz target for the RTP parser (every decrypted packet, and the SFU's header rewriting). Properties: only
 * {@link RtpException}; header, payload and padding lengths add up to the packet; rewriting the packet with its own
 * parsed header gives a packet that parses to the same header, payload and padding, and is a fixed point of a
 * second rewrite (the canonical header encoding).
 */
class RtpFuzzTest {

    @FuzzTest
    void parse(byte[] data) {
        RtpPacket p;
        try {
            p = RtpPacket.parse(data);
        } catch (RtpException e) {
            return;
        }
        assertTrue(p.headerLength() >= RtpHeader.FIXED_LENGTH);
        assertTrue(p.payloadLength() >= 0, "negative payload length");
        assertEquals(data.length, p.headerLength() + p.payloadLength() + p.paddingLength());
        assertArrayEquals(data, p.toByteArray());
        RtpHeader h = p.header();
        assertTrue(h.encodedLength() <= p.headerLength() + 4, "canonical header longer than the parsed one");
        byte[] once = p.rewrite(h);
        RtpPacket q;
        try {
            q = RtpPacket.parse(once);
        } catch (RtpException e) {
            throw new AssertionError("rewritten packet does not parse: " + e.getMessage(), e);
        }
        assertEquals(h, q.header());
        assertArrayEquals(Arrays.copyOfRange(data, p.payloadOffset(), p.payloadOffset() + p.payloadLength()),
                Arrays.copyOfRange(once, q.payloadOffset(), q.payloadOffset() + q.payloadLength()));
        assertEquals(p.paddingLength(), q.paddingLength());
        assertArrayEquals(once, q.rewrite(q.header()), "rewrite(parse(x)) is not a fixed point");
    }
}
