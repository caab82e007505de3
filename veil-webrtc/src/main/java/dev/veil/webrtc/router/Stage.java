package dev.veil.webrtc.router;

import dev.veil.webrtc.rtcp.RtcpPacket;
import dev.veil.webrtc.rtp.RtpPacket;

/**
 * One concern of a {@link Router}'s pipeline (in the spirit of Pion's interceptors): a NACK responder, an upstream
 * loss NACKer, a key-frame requester, SR rewriting, RR scheduling, and later a layer selector or a downlink
 * estimator. A stage has its own state and the same sans-IO contract as every engine here:
 *
 * <ul>
 *   <li><b>Input</b>: the {@code on...} callbacks, each with the current time. The router calls them on the one
 *       thread that drives it, in the order the stages were added; every callback has a no-op default, so a stage
 *       implements only what it needs. They must not throw for anything a peer sends (the router has already
 *       parsed and matched the packet to a producer or consumer).</li>
 *   <li><b>Output</b>: what the stage wants sent, drained by the router through {@link #pollOutput()} (plain RTP or
 *       RTCP addressed to a peer, exactly as {@link Router#pollOutput()} hands it to the server).</li>
 *   <li><b>Time</b>: {@link #poll(long)} runs the stage's timers and returns its next deadline
 *       ({@link #NO_DEADLINE} if none). It is called often (after every packet, by the server), so it must be cheap
 *       when nothing is due. No stage reads a clock, sleeps or owns a thread.</li>
 * </ul>
 *
 * Per-packet callbacks ({@link #onProducerRtp}) are on the forwarding hot path: keep them allocation-free when
 * nothing happens. Stages are not shared between routers.
 */
public interface Stage {

    /** "No timer": the value {@link #poll(long)} returns when the stage has nothing scheduled. */
    long NO_DEADLINE = Long.MAX_VALUE;

    /**
     * A publisher's RTP packet, matched to its producer, before it is forwarded to the producer's consumers.
     *
     * @param keyFrame whether it starts a key frame (video; always false for audio)
     */
    default void onProducerRtp(Producer producer, RtpPacket packet, boolean keyFrame, long nowMillis) {}

    /** An RTCP packet from a publisher about one of its producers (a sender report). */
    default void onProducerRtcp(Producer producer, RtcpPacket packet, long nowMillis) {}

    /**
     * Feedback from a subscriber about one of its consumers (NACK, PLI, or a FIR naming the consumer's SSRC; a FIR
     * naming several consumers is delivered once per consumer).
     */
    default void onConsumerRtcp(Consumer consumer, RtcpPacket packet, long nowMillis) {}

    /**
     * RTCP from a peer that is not about one producer or consumer: receiver reports, REMB, transport-wide feedback,
     * SDES, BYE, unknown types (a downlink estimator listens here).
     */
    default void onPeerRtcp(String peerId, RtcpPacket packet, long nowMillis) {}

    /**
     * A consumer needs a new sync point: it was created, resumed or switched to another producer (a video consumer
     * then waits for a key frame).
     */
    default void onConsumerStarted(Consumer consumer, long nowMillis) {}

    /** A consumer was closed: forget its state. */
    default void onConsumerClosed(Consumer consumer) {}

    /** A producer was closed (after its consumers): forget its state. */
    default void onProducerClosed(Producer producer) {}

    /** Runs what is due at {@code nowMillis}; returns the next deadline, or {@link #NO_DEADLINE}. */
    default long poll(long nowMillis) {
        return NO_DEADLINE;
    }

    /** The next output of this stage, or null when there is none. */
    RouterOutput pollOutput();
}
