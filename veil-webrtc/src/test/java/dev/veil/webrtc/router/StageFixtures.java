package dev.veil.webrtc.router;

import dev.veil.webrtc.rtcp.RtcpCompound;
import dev.veil.webrtc.rtcp.RtcpPacket;
import dev.veil.webrtc.rtp.RtpCodec;
import dev.veil.webrtc.rtp.RtpHeader;
import dev.veil.webrtc.rtp.RtpPacket;
import dev.veil.webrtc.sdp.MediaKind;
import java.util.ArrayList;
import java.util.List;

/** Producers, consumers and packets for testing one stage on its own (no router around it). */
final class StageFixtures {
    static final byte[] VP8_KEY = {0x10, 0x50, 0x42, 0x00, (byte) 0x9d, 0x01, 0x2a};
    static final byte[] VP8_DELTA = {0x10, 0x51, 0x42, 0x00, 0x01, 0x02};

    private StageFixtures() {}

    static Producer video(String id, String peer, long ssrc) {
        return new Producer(id, peer, new ProducerParams(MediaKind.VIDEO, RtpCodec.VP8, 96, 90000, ssrc, "1"));
    }

    static Producer audio(String id, String peer, long ssrc) {
        return new Producer(id, peer, new ProducerParams(MediaKind.AUDIO, RtpCodec.OPUS, 111, 48000, ssrc, "0"));
    }

    static Consumer consumer(String id, String peer, Producer p, ConsumerParams params) {
        Consumer c = new Consumer(id, peer, p, params, 5000, 100_000, 700);
        p.consumers.add(c);
        return c;
    }

    static RtpPacket rtp(long ssrc, int pt, int seq, long ts, byte[] payload) throws Exception {
        return RtpPacket.parse(RtpPacket.build(RtpHeader.of(false, pt, seq & 0xFFFF, ts, ssrc), payload, 0,
                payload.length));
    }

    static List<RouterOutput> drain(Stage s) {
        List<RouterOutput> out = new ArrayList<>();
        for (RouterOutput o; (o = s.pollOutput()) != null; ) {
            out.add(o);
        }
        return out;
    }

    static List<RtcpPacket> rtcp(List<RouterOutput> outs, String peer) throws Exception {
        List<RtcpPacket> l = new ArrayList<>();
        for (RouterOutput o : outs) {
            if (o instanceof RouterOutput.Rtcp r && r.peerId().equals(peer)) {
                l.addAll(RtcpCompound.parse(r.packet()));
            }
        }
        return l;
    }
}
