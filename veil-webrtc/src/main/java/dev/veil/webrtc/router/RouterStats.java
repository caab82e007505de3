package dev.veil.webrtc.router;

/**
 * Counters of a {@link Router} since it was created (a snapshot).
 *
 * @param rtpReceived RTP packets handed to the router
 * @param rtpMalformed RTP packets that did not parse (dropped)
 * @param rtpUnknownSsrc RTP packets whose SSRC is no producer of the sending peer (dropped)
 * @param rtpWrongPayloadType RTP packets with another payload type than the producer's (dropped)
 * @param rtpForwarded RTP packets emitted to consumers (retransmissions not included)
 * @param rtpDroppedBeforeKeyFrame packet copies not forwarded to an unpaused consumer (a video consumer waiting for
 *     a key frame, or a packet older than the consumer's sync point)
 * @param rtcpReceived RTCP datagrams handed to the router
 * @param rtcpMalformed RTCP datagrams that did not parse (dropped)
 * @param nackedPackets sequence numbers NACKed by subscribers
 * @param retransmittedFromCache NACKed packets answered from the retransmission cache
 * @param nackedUpstream sequence numbers NACKed to publishers because the cache missed them
 * @param keyFrameRequestsSent PLI/FIR sent to publishers
 * @param keyFrameRequestsSuppressed key-frame requests dropped by the rate limit
 * @param senderReportsSent SRs sent to subscribers
 * @param receiverReportsSent RR packets sent to publishers
 * @param retransmittedRtx of {@code retransmittedFromCache}, those sent on a consumer's RTX stream (RFC 4588)
 * @param pliSent PLIs sent to publishers (of {@code keyFrameRequestsSent})
 * @param firSent FIRs sent to publishers (of {@code keyFrameRequestsSent})
 * @param upstreamLost sequence numbers found missing in publishers' video streams (gap detection)
 * @param upstreamRecovered of those, the ones that arrived later (reordered or retransmitted)
 * @param upstreamGivenUp of those, the ones given up after the last NACK retry
 * @param retransmissionsSuppressed NACKed packets in the cache not resent: resent to that consumer a moment ago, or
 *     too old
 * @param retransmissionsSkippedDraining NACKed sequence numbers not answered because the consumer was draining its
 *     simulcast layer after a congestion downgrade (its old layer's losses, not worth the congested link)
 */
public record RouterStats(long rtpReceived, long rtpMalformed, long rtpUnknownSsrc, long rtpWrongPayloadType,
        long rtpForwarded, long rtpDroppedBeforeKeyFrame, long rtcpReceived, long rtcpMalformed, long nackedPackets,
        long retransmittedFromCache, long nackedUpstream, long keyFrameRequestsSent, long keyFrameRequestsSuppressed,
        long senderReportsSent, long receiverReportsSent, long retransmittedRtx, long pliSent, long firSent,
        long upstreamLost, long upstreamRecovered, long upstreamGivenUp, long retransmissionsSuppressed,
        long retransmissionsSkippedDraining) {}
