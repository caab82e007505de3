package dev.veil.webrtc.router;

import dev.veil.webrtc.rtcp.RtcpCompound;
import dev.veil.webrtc.rtcp.RtcpPacket;
import dev.veil.webrtc.rtp.RtpPacket;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The in-memory router harness the router tests share ({@link RouterTest}, {@link RouterSimulcastTest}): a router
 * driven on a manual clock ({@link #now}), packets and RTCP fed in as a peer would send them, and everything it
 * outputs drained and sorted by peer. Each test class creates the router in its own {@code @BeforeEach}.
 */
abstract class RouterFixture {
    static final String PUB = "pub";
    static final byte[] VP8_KEY = {0x10, 0x50, 0x42, 0x00, (byte) 0x9d, 0x01, 0x2a}; // S=1 PID=0, P=0
    static final byte[] VP8_DELTA = {0x10, 0x51, 0x42, 0x00, 0x01, 0x02};

    Router router;
    long now;

    void send(String peer, byte[] pkt) {
        router.handleRtp(peer, pkt, 0, pkt.length, now);
    }

    void sendRtcp(String peer, RtcpPacket... packets) {
        byte[] b = RtcpCompound.write(List.of(packets));
        router.handleRtcp(peer, b, 0, b.length, now);
    }

    List<RouterOutput> drain() {
        List<RouterOutput> out = new ArrayList<>();
        for (RouterOutput o; (o = router.pollOutput()) != null; ) {
            out.add(o);
        }
        return out;
    }

    static List<RtpPacket> rtpTo(List<RouterOutput> outs, String peer) throws Exception {
        List<RtpPacket> l = new ArrayList<>();
        for (RouterOutput o : outs) {
            if (o instanceof RouterOutput.Rtp r && r.peerId().equals(peer)) {
                l.add(RtpPacket.parse(r.packet()));
            }
        }
        return l;
    }

    static List<RtcpPacket> rtcpTo(List<RouterOutput> outs, String peer) throws Exception {
        List<RtcpPacket> l = new ArrayList<>();
        for (RouterOutput o : outs) {
            if (o instanceof RouterOutput.Rtcp r && r.peerId().equals(peer)) {
                l.addAll(RtcpCompound.parse(r.packet()));
            }
        }
        return l;
    }

    static byte[] payloadOf(RtpPacket p) {
        return Arrays.copyOfRange(p.buffer(), p.payloadOffset(), p.payloadOffset() + p.payloadLength());
    }
}
