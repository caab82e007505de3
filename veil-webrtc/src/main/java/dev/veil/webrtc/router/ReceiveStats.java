package dev.veil.webrtc.router;

import dev.veil.webrtc.rtcp.ReportBlock;
import dev.veil.webrtc.rtp.RtpHeader;

/** Reception statistics of one producer for receiver reports (RFC 3550 §6.4.1 and Appendix A.1, A.3, A.8). */
final class ReceiveStats {
    private boolean initialized;
    private int baseSeq;
    private int maxSeq;
    private long cycles;
    private long received;
    private long expectedPrior;
    private long receivedPrior;
    private double jitter;
    private long lastTransit;

    /** Counts a packet; returns whether it advanced the highest sequence number. */
    boolean update(int seq, long rtpTimestamp, long nowMillis, int clockRate) {
        received++;
        long arrival = nowMillis * clockRate / 1000;
        long transit = arrival - rtpTimestamp;
        if (!initialized) {
            initialized = true;
            baseSeq = seq;
            maxSeq = seq;
            lastTransit = transit;
            return true;
        }
        int delta = RtpHeader.seqDelta(maxSeq, seq);
        if (delta <= 0) {
            return false; // reordered or retransmitted: no jitter sample
        }
        if (seq < maxSeq) {
            cycles += 65536;
        }
        maxSeq = seq;
        int d = (int) (transit - lastTransit); // the cast absorbs RTP timestamp wrap-around
        lastTransit = transit;
        jitter += (Math.abs((double) d) - jitter) / 16.0;
        return true;
    }

    boolean hasData() {
        return initialized;
    }

    long extendedHighest() {
        return cycles + maxSeq;
    }

    /** A report block for the interval since the previous call. */
    ReportBlock report(long ssrc, long lastSr, long delaySinceLastSr) {
        long extMax = extendedHighest();
        long expected = extMax - baseSeq + 1;
        long lost = expected - received;
        int cumulative = (int) Math.max(-0x80_0000, Math.min(0x7F_FFFF, lost));
        long expectedInterval = expected - expectedPrior;
        long receivedInterval = received - receivedPrior;
        expectedPrior = expected;
        receivedPrior = received;
        long lostInterval = expectedInterval - receivedInterval;
        int fraction = expectedInterval <= 0 || lostInterval <= 0 ? 0 : (int) ((lostInterval << 8) / expectedInterval);
        return new ReportBlock(ssrc, Math.min(255, fraction), cumulative, extMax & 0xFFFF_FFFFL,
                ((long) jitter) & 0xFFFF_FFFFL, lastSr, delaySinceLastSr);
    }
}
