package dev.veil.webrtc.rtcp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.util.List;
import java.util.TreeSet;

/**
 * Fuzz target for the RTCP compound parser (every decrypted SRTCP packet). Properties: only {@link RtcpException};
 * at most one packet per 4 input bytes; writing the parsed packets gives a compound that parses to equal packets,
 * no larger than the input, and is a fixed point (write(parse(write(parse(x)))) == write(parse(x))).
 */
class RtcpFuzzTest {

    @FuzzTest
    void parse(byte[] data) {
        List<RtcpPacket> packets;
        try {
            packets = RtcpCompound.parse(data);
        } catch (RtcpException e) {
            return;
        }
        assertTrue(!packets.isEmpty() && packets.size() <= data.length / 4);
        byte[] once = RtcpCompound.write(packets);
        assertTrue(once.length <= data.length, "re-encoding is larger than the input");
        List<RtcpPacket> again;
        try {
            again = RtcpCompound.parse(once);
        } catch (RtcpException e) {
            throw new AssertionError("re-encoded compound does not parse: " + e.getMessage(), e);
        }
        // the same packets (an UnknownRtcp keeps its padding and P bit, so a padded one cannot read back as another
        // type: RtcpFuzzTestInputs/parse/unknown-padded-*), and a byte fixed point
        assertEquals(packets.size(), again.size());
        for (int i = 0; i < packets.size(); i++) {
            if (packets.get(i) instanceof GenericNack n && again.get(i) instanceof GenericNack m) {
                // a NACK is a set: the writer packs PID/BLP pairs in its own order (nack-reencoded-in-another-order)
                assertEquals(List.of(n.senderSsrc(), n.mediaSsrc()), List.of(m.senderSsrc(), m.mediaSsrc()));
                assertEquals(new TreeSet<>(n.lostSequenceNumbers()), new TreeSet<>(m.lostSequenceNumbers()));
            } else {
                assertEquals(packets.get(i), again.get(i));
            }
        }
        assertArrayEquals(once, RtcpCompound.write(again), "write(parse(x)) is not a fixed point");
    }
}
