package dev.veil.webrtc.mux;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class DemuxTest {

    private static PacketKind first(int b0, int b1) {
        return Demux.classify(new byte[] {(byte) b0, (byte) b1, 0, 0});
    }

    @Test
    void classify_stunRange_isStun() {
        for (int b = 0; b <= 3; b++) {
            assertEquals(PacketKind.STUN, first(b, 1));
        }
    }

    @Test
    void classify_dtlsRange_isDtls() {
        assertEquals(PacketKind.DTLS, first(20, 0));
        assertEquals(PacketKind.DTLS, first(22, 0xFE)); // handshake record
        assertEquals(PacketKind.DTLS, first(63, 0));
        assertEquals(PacketKind.UNKNOWN, first(19, 0)); // ZRTP
        assertEquals(PacketKind.UNKNOWN, first(64, 0)); // TURN channel
    }

    @Test
    void classify_rtpAndRtcp_splitByPacketType() {
        assertEquals(PacketKind.RTP, first(0x80, 111));
        assertEquals(PacketKind.RTP, first(0x80, 0x80 | 96)); // marker set, PT 96
        assertEquals(PacketKind.RTCP, first(0x80, 200)); // SR
        assertEquals(PacketKind.RTCP, first(0x81, 201)); // RR
        assertEquals(PacketKind.RTCP, first(0x81, 205)); // RTPFB
        assertEquals(PacketKind.RTCP, first(0x81, 206)); // PSFB
        assertEquals(PacketKind.RTCP, first(0x80, 192));
        assertEquals(PacketKind.RTCP, first(0x80, 223));
        assertEquals(PacketKind.RTP, first(0x80, 224));
        assertEquals(PacketKind.RTP, first(191, 0));
        assertEquals(PacketKind.UNKNOWN, first(192, 0));
    }

    @Test
    void classify_emptyOrShortOrBadBounds_isUnknown() {
        assertEquals(PacketKind.UNKNOWN, Demux.classify(new byte[0]));
        assertEquals(PacketKind.UNKNOWN, Demux.classify(null));
        assertEquals(PacketKind.UNKNOWN, Demux.classify(new byte[] {(byte) 0x80}));
        assertEquals(PacketKind.UNKNOWN, Demux.classify(new byte[4], 3, 5));
        assertEquals(PacketKind.UNKNOWN, Demux.classify(new byte[4], -1, 2));
        assertEquals(PacketKind.STUN, Demux.classify(new byte[] {9, 9, 0, 1}, 2, 2));
    }
}
