package dev.veil.client;

import dev.veil.webrtc.rtp.HeaderExtension;
import dev.veil.webrtc.rtp.RtpHeader;
import dev.veil.webrtc.rtp.RtpPacket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * The RTP side of the camera video upload ({@link ClientSimulcastSdp.Plan}): one SSRC and sequence space per
 * simulcast layer, every packet naming its layer with the RtpStreamId extension (and its m-line with the MID
 * extension when negotiated), VP8 frames split by {@link Vp8Packetizer}, the marker on a frame's last packet. Sans-IO:
 * {@link #packets} returns the plain RTP packets; the caller protects (SRTP) and sends them. Without simulcast in the
 * plan it is one plain stream that carries the top layer only. Loop-confined.
 *
 * <p>The extensions ride on every packet, not just the first ones (which is all a browser sends until the receiver's
 * RTCP acknowledges the SSRC): this client reads no receiver reports, and a few bytes a packet is the price of never
 * having the server guess a layer.
 */
final class SimulcastSender {
    /** The layers a simulcast upload carries: q, h, f (docs/PROTOCOL.md §1.3). */
    static final int LAYERS = 3;

    private final ClientSimulcastSdp.Plan plan;
    private final long[] ssrcs;
    private final int[] sequences;
    private final List<List<HeaderExtension>> extensions = new ArrayList<>();

    /**
     * @param avoid SSRCs already used on this transport (the audio and screen streams)
     */
    SimulcastSender(ClientSimulcastSdp.Plan plan, Random random, Set<Long> avoid) {
        this.plan = plan;
        int n = plan.simulcast() ? plan.rids().size() : 1;
        ssrcs = new long[n];
        sequences = new int[n];
        Set<Long> used = new HashSet<>(avoid);
        for (int i = 0; i < n; i++) {
            long s;
            do {
                s = random.nextInt() & 0xffffffffL;
            } while (s == 0 || !used.add(s));
            ssrcs[i] = s;
            sequences[i] = random.nextInt(0x10000);
            List<HeaderExtension> ext = new ArrayList<>();
            if (plan.midExtensionId() > 0) {
                ext.add(new HeaderExtension(plan.midExtensionId(), plan.mid().getBytes(StandardCharsets.US_ASCII)));
            }
            if (plan.simulcast()) {
                ext.add(new HeaderExtension(plan.ridExtensionId(),
                        plan.rids().get(i).getBytes(StandardCharsets.US_ASCII)));
            }
            extensions.add(List.copyOf(ext));
        }
    }

    ClientSimulcastSdp.Plan plan() {
        return plan;
    }

    /** The number of streams sent: the plan's layers, or 1 without simulcast. */
    int streams() {
        return ssrcs.length;
    }

    /** The SSRC of stream {@code i} (the plain stream's is announced in the answer). */
    long ssrc(int i) {
        return ssrcs[i];
    }

    /**
     * The stream that carries layer {@code layer} (0 = lowest of {@link #LAYERS}), or -1 if it is not sent: with
     * simulcast the layer's own stream (a plan with fewer rids drops the lowest), without it only the top layer.
     */
    int streamOf(int layer) {
        if (layer < 0 || layer >= LAYERS) {
            throw new IllegalArgumentException("layer must be 0.." + (LAYERS - 1));
        }
        int s = layer - (LAYERS - ssrcs.length);
        return s >= 0 && s < ssrcs.length ? s : -1;
    }

    /** The layer (0 = lowest of {@link #LAYERS}) stream SSRC {@code ssrc} carries, or -1 if it is not one of these. */
    int layerOfSsrc(long ssrc) {
        for (int i = 0; i < ssrcs.length; i++) {
            if (ssrcs[i] == ssrc) {
                return i + LAYERS - ssrcs.length;
            }
        }
        return -1;
    }

    /** The RTP packets of one (already E2EE-sealed) VP8 frame of stream {@code stream}, in sending order. */
    List<byte[]> packets(int stream, byte[] payload, long rtpTimestamp) {
        List<byte[]> chunks = Vp8Packetizer.packetize(payload, Vp8Packetizer.MAX_CHUNK);
        List<byte[]> out = new ArrayList<>(chunks.size());
        for (int i = 0; i < chunks.size(); i++) {
            byte[] c = chunks.get(i);
            sequences[stream] = (sequences[stream] + 1) & 0xffff;
            RtpHeader h = RtpHeader.of(i == chunks.size() - 1, plan.vp8PayloadType(), sequences[stream],
                    rtpTimestamp & 0xffffffffL, ssrcs[stream]).withExtensions(extensions.get(stream));
            out.add(RtpPacket.build(h, c, 0, c.length));
        }
        return out;
    }
}
