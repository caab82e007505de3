package dev.veil.webrtc.router;

import dev.veil.webrtc.rtp.RtpCodec;
import dev.veil.webrtc.sdp.MediaKind;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * An incoming stream of one publisher (mediasoup's Producer): one SSRC, one codec. Created and owned by a {@link
 * Router}; the accessors are for the server's bookkeeping.
 */
public final class Producer {
    static final long NEVER = Long.MIN_VALUE;

    private final String id;
    private final String peerId;
    private final ProducerParams params;
    final List<Consumer> consumers = new ArrayList<>();
    /**
     * Per-packet state of the router's stages, one slot per stage that asks for one (see {@link Router}): an array
     * read instead of a map lookup on the forwarding path.
     */
    final Object[] stageState = new Object[Router.STAGE_SLOTS];
    boolean closed;
    /** Simulcast: on the producer the server made, its layers; on a layer (an internal producer), its group. */
    SimulcastGroup simulcast;
    /** Simulcast: this internal producer's layer (0 = lowest), or -1 (a plain producer, or a group). */
    int layer = -1;

    Producer(String id, String peerId, ProducerParams params) {
        this.id = id;
        this.peerId = peerId;
        this.params = params;
    }

    /** The producer id given by the server. */
    public String id() {
        return id;
    }

    /** The publishing peer (connection id). */
    public String peerId() {
        return peerId;
    }

    /** Audio or video. */
    public MediaKind kind() {
        return params.kind();
    }

    /** The codec. */
    public RtpCodec codec() {
        return params.codec();
    }

    /** The publisher's SSRC. */
    public long ssrc() {
        return params.ssrc();
    }

    /** The publisher's payload type. */
    public int payloadType() {
        return params.payloadType();
    }

    /** The RTP clock rate. */
    public int clockRate() {
        return params.clockRate();
    }

    /** The parameters given at creation. */
    public ProducerParams params() {
        return params;
    }

    /** The consumers currently fed by this producer (unmodifiable snapshot). */
    public List<Consumer> consumers() {
        return Collections.unmodifiableList(new ArrayList<>(consumers));
    }

    /** Whether this producer has simulcast layers ({@link Router#createSimulcastProducer}). */
    public boolean isSimulcast() {
        return simulcast != null && layer < 0;
    }

    /**
     * Simulcast: the SSRC the publisher sends each layer with (lowest layer first), -1 for a layer not seen yet;
     * empty for a plain producer.
     */
    public List<Long> layerSsrcs() {
        if (!isSimulcast()) {
            return List.of();
        }
        List<Long> out = new ArrayList<>();
        for (Producer l : simulcast.layers) {
            out.add(l == null ? -1L : l.ssrc());
        }
        return out;
    }

    /** Whether the producer was closed. */
    public boolean closed() {
        return closed;
    }

    @Override
    public String toString() {
        return "Producer[" + id + " of " + peerId + ", " + params.kind() + " " + params.codec() + ", ssrc="
                + params.ssrc() + "]";
    }
}
