package dev.veil.webrtc.cc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.veil.webrtc.rtp.HeaderExtension;
import dev.veil.webrtc.rtp.RtpHeader;
import dev.veil.webrtc.rtp.RtpPacket;
import java.util.List;
import org.junit.jupiter.api.Test;

class TransportWideStamperTest {

    private static byte[] packet(List<HeaderExtension> ext) {
        return RtpPacket.build(RtpHeader.of(true, 111, 77, 1234, 0xABCD).withExtensions(ext), new byte[40], 0, 40);
    }

    @Test
    void stampsConsecutiveNumbersInPlaceAndRecordsSizeAndTime() throws Exception {
        SendHistory h = new SendHistory(256, 0xFFFE);
        TransportWideStamper s = new TransportWideStamper(3, h);
        byte[] p = packet(List.of(new HeaderExtension(1, "a".getBytes()), new HeaderExtension(3, new byte[2])));
        byte[] before = p.clone();
        assertEquals(0xFFFE, s.stamp(p, 0, p.length, 10));
        assertEquals(0xFFFE, TransportSequence.find(p, 0, p.length, 3));
        assertEquals(0xFFFF, s.stamp(p, 0, p.length, 20));
        assertEquals(0, s.stamp(p, 0, p.length, 30), "wraps");
        assertEquals(0, TransportSequence.find(p, 0, p.length, 3));
        RtpPacket parsed = RtpPacket.parse(p);
        assertEquals(77, parsed.header().sequenceNumber(), "nothing else changed");
        int diffs = 0;
        for (int i = 0; i < p.length; i++) {
            diffs += p[i] != before[i] ? 1 : 0;
        }
        assertTrue(diffs <= 2, "only the two sequence bytes change");
        long ext = h.unwrap(0);
        assertEquals(0x10000, ext);
        assertTrue(h.contains(ext));
        assertEquals(p.length, h.bytes(ext));
        assertEquals(30, h.sendMicros(ext));
        assertEquals(30, h.lastSendMicros());
        assertEquals(3, s.stamped());
    }

    @Test
    void aPacketWithoutTheElementIsLeftAloneAndNotRecorded() {
        SendHistory h = new SendHistory(256, 0);
        TransportWideStamper s = new TransportWideStamper(3, h);
        byte[] p = packet(List.of(new HeaderExtension(1, "a".getBytes())));
        byte[] copy = p.clone();
        assertEquals(-1, s.stamp(p, 0, p.length, 1));
        assertEquals(java.util.Arrays.toString(copy), java.util.Arrays.toString(p));
        assertEquals(0, h.nextSequence());
        assertEquals(1, s.skipped());
        assertFalse(TransportSequence.write(new byte[5], 0, 5, 3, 1));
    }

    @Test
    void historyForgetsBeyondItsCapacity() {
        SendHistory h = new SendHistory(256, 0);
        for (int i = 0; i < 300; i++) {
            h.add(100, i);
        }
        assertFalse(h.contains(10), "overwritten");
        assertTrue(h.contains(299));
        assertFalse(h.contains(300), "not sent yet");
        assertEquals(299, h.unwrap(299));
        assertThrows(IllegalArgumentException.class, () -> new SendHistory(300, 0));
        assertThrows(IllegalArgumentException.class, () -> new TransportWideStamper(0, h));
    }
}
