package dev.veil.webrtc.cc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.veil.webrtc.rtcp.Remb;
import dev.veil.webrtc.rtcp.RtcpCompound;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The REMB fallback, on a manual clock. */
class RembGeneratorTest {

    @Test
    void sendsHeadroomTimesTheReceivedRateWithinFloorAndCeiling() throws Exception {
        RembGenerator g = new RembGenerator(7, RembGenerator.Config.defaults());
        g.setSsrcs(List.of(1234L));
        assertEquals(Long.MAX_VALUE, g.nextTimeoutMillis(), "nothing before media");
        g.onPacket(1000, 0);
        assertEquals(0, g.nextTimeoutMillis(), "the first REMB goes out at once");
        g.poll(0);
        Remb first = g.pollOutput();
        assertEquals(300_000, first.bitrate(), "the floor while almost nothing was received");
        assertEquals(List.of(1234L), first.ssrcs());
        assertEquals(first, RtcpCompound.parse(first.encode()).get(0));
        // 1 Mbit/s for a second: 125 packets of 1000 bytes, one every 8 ms
        for (int i = 1; i <= 125; i++) {
            g.onPacket(1000, i * 8);
        }
        assertEquals(500, g.nextTimeoutMillis(), "every 500 ms while media arrives");
        g.poll(499);
        assertNull(g.pollOutput());
        g.poll(1000);
        Remb r = g.pollOutput();
        // about 1.5 × 1 Mbit/s (the mantissa/exponent encoding keeps 18 bits)
        long expected = (long) (g.receivedBps(1000) * 1.5);
        assertEquals(expected, r.bitrate(), expected / 100_000.0 + 4);
        // the window is the last ten 100 ms bins (the current one included): 0.9-1 s of the 1 Mbit/s stream
        assertEquals(true, r.bitrate() >= 1_300_000 && r.bitrate() <= 1_500_000, "REMB " + r.bitrate());
        assertEquals(Long.MAX_VALUE, g.nextTimeoutMillis(), "nothing received since: no REMB");
    }

    @Test
    void neverAboveTheCeiling() {
        RembGenerator g = new RembGenerator(7, new RembGenerator.Config(100, 2.0, 100_000, 2_000_000));
        for (int i = 0; i < 1000; i++) {
            g.onPacket(1200, i); // 9.6 Mbit/s
        }
        g.poll(1000);
        assertEquals(2_000_000, g.pollOutput().bitrate());
    }
}
