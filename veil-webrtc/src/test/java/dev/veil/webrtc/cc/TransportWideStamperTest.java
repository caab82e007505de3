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

    @Test
    void addsTheElementWhenThePacketLacksItInEveryHeaderForm() throws Exception {
        SendHistory h = new SendHistory(256, 40);
        TransportWideStamper s = new TransportWideStamper(3, h);
        List<List<HeaderExtension>> forms = List.of(List.of(), List.of(new HeaderExtension(1, "12".getBytes())),
                List.of(new HeaderExtension(20, "x".getBytes())));
        int seq = 40;
        for (List<HeaderExtension> ext : forms) {
            byte[] unpadded = RtpPacket.build(RtpHeader.of(true, 111, 77, 1234, 0xABCD).withExtensions(ext),
                    new byte[] {9, 8, 7}, 0, 3);
            byte[] p = java.util.Arrays.copyOf(unpadded, unpadded.length + 4);
            p[0] |= 0x20;
            p[p.length - 1] = 4;
            RtpPacket before = RtpPacket.parse(p);
            byte[] out = s.stampOrAdd(p, 5);
            assertTrue(out != p, "a new array");
            assertEquals(seq, TransportSequence.find(out, 0, out.length, 3));
            RtpPacket after = RtpPacket.parse(out);
            assertEquals(before.header().sequenceNumber(), after.header().sequenceNumber());
            assertEquals(before.paddingLength(), after.paddingLength());
            assertEquals(3, after.payloadLength());
            assertEquals(9, out[after.payloadOffset()]);
            for (HeaderExtension e : ext) {
                assertTrue(after.header().extensions().contains(e), "kept " + e);
            }
            assertEquals(out.length, h.bytes(h.unwrap(seq)));
            assertTrue(s.stampOrAdd(out, 6) == out, "then stamped in place");
            seq += 2;
        }
        assertEquals(3, s.added());
        assertEquals(0, s.skipped());
        TransportWideStamper high = new TransportWideStamper(20, new SendHistory(256, 0));
        byte[] oneByte = packet(List.of(new HeaderExtension(1, "a".getBytes())));
        assertTrue(high.stampOrAdd(oneByte, 1) == oneByte, "id 20 does not fit a one-byte block: left alone");
        assertEquals(1, high.skipped());
    }

    @Test
    void addingNeverThrowsOnGarbageAndWhatItAddsIsFound() {
        java.util.Random r = new java.util.Random(11);
        int added = 0;
        for (int i = 0; i < 100_000; i++) {
            byte[] b = new byte[r.nextInt(48)];
            r.nextBytes(b);
            if (b.length > 0) {
                b[0] = (byte) (0x80 | (b[0] & 0x1F));
            }
            int id = 1 + r.nextInt(20);
            byte[] out = TransportSequence.withElement(b, 0, b.length, id);
            if (out != null) {
                added++;
                assertTrue(TransportSequence.write(out, 0, out.length, id, 0xBEEF) || !unambiguous(b, id),
                        "an added element can be written");
            }
        }
        assertTrue(added > 1000, "exercised: " + added);
    }

    /** Whether the original had no element of that id (a duplicate id would be found first). */
    private static boolean unambiguous(byte[] b, int id) {
        return TransportSequence.find(b, 0, b.length, id) < 0 && (b.length < 1 || (b[0] & 0x10) == 0);
    }
}
