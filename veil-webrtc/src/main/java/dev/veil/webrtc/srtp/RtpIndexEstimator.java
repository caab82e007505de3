package dev.veil.webrtc.srtp;

/**
 * Rollover counter tracking for one SSRC in one direction
 * (<a href="https://www.rfc-editor.org/rfc/rfc3711#appendix-A">RFC 3711 Appendix A</a>).
 *
 * <pre>
 *   if s_l &lt; 32768:  v = (SEQ - s_l &gt; 32768) ? ROC - 1 : ROC
 *   else:            v = (s_l - 32768 &gt; SEQ) ? ROC + 1 : ROC
 *   index = v * 65536 + SEQ
 * </pre>
 *
 * The estimate is only committed ({@link #update}) after the packet authenticated.
 */
final class RtpIndexEstimator {
    static final long MAX_INDEX = (1L << 48) - 1;

    private long roc;
    private int highestSeq;

    RtpIndexEstimator(int firstSeq) {
        this.highestSeq = firstSeq;
    }

    /** Sets the first sequence number of a stream created without one ({@code firstSeq} -1); else a no-op. */
    void startAt(int seq) {
        if (highestSeq < 0) {
            highestSeq = seq;
        }
    }

    /** The 48-bit index of a packet with this sequence number; negative if it would precede ROC 0. */
    long estimate(int seq) {
        long v;
        if (highestSeq < 32768) {
            v = (seq - highestSeq > 32768) ? roc - 1 : roc;
        } else {
            v = (highestSeq - 32768 > seq) ? roc + 1 : roc;
        }
        if (v < 0) {
            return -1;
        }
        return (v << 16) | seq;
    }

    void update(long index) {
        long v = index >>> 16;
        int seq = (int) (index & 0xffff);
        if (v > roc) {
            roc = v;
            highestSeq = seq;
        } else if (v == roc && seq > highestSeq) {
            highestSeq = seq;
        }
    }

    long roc() {
        return roc;
    }

    /** Test hook: start from a given ROC (e.g. to exercise the 2^48 limit or a wrap). */
    void setRoc(long roc) {
        this.roc = roc;
    }
}
