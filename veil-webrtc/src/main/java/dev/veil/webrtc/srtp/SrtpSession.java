package dev.veil.webrtc.srtp;

import java.security.GeneralSecurityException;
import java.util.Arrays;
import java.util.Objects;

/**
 * SRTP and SRTCP protection for one endpoint of one DTLS-SRTP association: outgoing packets are protected with
 * this side's master key, incoming ones checked with the peer's.
 *
 * <p>Per-SSRC state (rollover counter, 128-packet replay windows, SRTCP index) is created on demand: for
 * outgoing streams on their first packet, for incoming streams only once a packet has authenticated, so forged
 * packets allocate nothing. At most {@value #MAX_STREAMS} SSRCs per direction and kind.
 *
 * <p>Protected packets are fresh arrays and inputs are never modified, except by the {@code ...InPlace} calls, which
 * transform the caller's buffer (and leave it as it was when they refuse a packet). A refused packet raises an
 * {@link SrtpException} whose {@link SrtpException#reason()} says why; it carries no stack trace, so dropping
 * and counting is cheap.
 *
 * <p>Not thread-safe: confine each session to one event loop (it reuses its {@code Cipher} and {@code Mac}
 * objects).
 */
public final class SrtpSession {
    /** Cap on SSRCs tracked per direction and per kind (RTP, RTCP). */
    public static final int MAX_STREAMS = 2048;

    private static final int RTP_HEADER = 12;

    private final SrtpProfile profile;
    private final SrtpCipher tx;
    private final SrtpCipher rx;
    // by SSRC, without boxing: a session sends or receives several SSRCs interleaved (a subscriber's forwarded tracks
    // and their RTX; a publisher's audio, video, RTX and simulcast layers), looked up on every packet
    private final SsrcTable<RtpIndexEstimator> txRtp = new SsrcTable<>();
    private final SsrcTable<ReceiveStream> rxRtp = new SsrcTable<>();
    private final SsrcTable<int[]> txRtcp = new SsrcTable<>();
    private final SsrcTable<ReplayWindow> rxRtcp = new SsrcTable<>();

    private static final class ReceiveStream {
        final RtpIndexEstimator estimator;
        final ReplayWindow window = new ReplayWindow();
        /** In {@link #rxRtp} (a packet of it authenticated). */
        boolean known;

        ReceiveStream(RtpIndexEstimator estimator, boolean known) {
            this.estimator = estimator;
            this.known = known;
        }
    }

    SrtpSession(SrtpProfile profile, SrtpCipher tx, SrtpCipher rx) {
        this.profile = profile;
        this.tx = tx;
        this.rx = rx;
    }

    /** The DTLS server's session: sends with the server write key, receives with the client write key. */
    public static SrtpSession forServer(SrtpKeyingMaterial keys) throws GeneralSecurityException {
        Objects.requireNonNull(keys, "keys");
        SrtpProfile p = keys.profile();
        return new SrtpSession(p, SrtpCipher.create(p, keys.serverKey(), keys.serverSalt()),
                SrtpCipher.create(p, keys.clientKey(), keys.clientSalt()));
    }

    /** The DTLS client's session: sends with the client write key, receives with the server write key. */
    public static SrtpSession forClient(SrtpKeyingMaterial keys) throws GeneralSecurityException {
        Objects.requireNonNull(keys, "keys");
        SrtpProfile p = keys.profile();
        return new SrtpSession(p, SrtpCipher.create(p, keys.clientKey(), keys.clientSalt()),
                SrtpCipher.create(p, keys.serverKey(), keys.serverSalt()));
    }

    public SrtpProfile profile() {
        return profile;
    }

    /** Protects a whole plain RTP packet. */
    public byte[] protectRtp(byte[] rtp) throws SrtpException {
        return protectRtp(rtp, 0, rtp.length);
    }

    /** Protects the plain RTP packet in {@code buf[off, off+len)}. */
    public byte[] protectRtp(byte[] buf, int off, int len) throws SrtpException {
        checkBounds(buf, off, len);
        int hdr = rtpHeaderLength(buf, off, len);
        int ssrc = readInt(buf, off + 8);
        RtpIndexEstimator est = sendStream(ssrc);
        long index = sendIndex(est, readU16(buf, off + 2));
        byte[] out;
        try {
            out = tx.protectRtp(buf, off, len, hdr, ssrc, index);
        } catch (SrtpException e) {
            throw e;
        } catch (GeneralSecurityException e) {
            throw new SrtpException(SrtpRejection.CRYPTO_ERROR, e.getMessage());
        }
        est.update(index);
        return out;
    }

    /**
     * Protects the plain RTP packet in {@code buf[off, off+len)} in place (the forwarding path: no copy, and no
     * allocation when {@link #allocationFree()}): the payload is encrypted where it is and the tag is written after
     * it, so {@code buf} must have {@link #tagLength()} bytes of room at {@code off + len}.
     *
     * @return the length of the SRTP packet now at {@code buf[off..]} ({@code len + tagLength()})
     */
    public int protectRtpInPlace(byte[] buf, int off, int len) throws SrtpException {
        checkBounds(buf, off, len);
        if (off + len > buf.length - tx.tagLength()) {
            throw new SrtpException(SrtpRejection.MALFORMED, "no room for the SRTP tag after the packet");
        }
        int hdr = rtpHeaderLength(buf, off, len);
        int ssrc = readInt(buf, off + 8);
        RtpIndexEstimator est = sendStream(ssrc);
        long index = sendIndex(est, readU16(buf, off + 2));
        int n;
        try {
            n = tx.protectRtpInPlace(buf, off, len, hdr, ssrc, index);
        } catch (SrtpException e) {
            throw e;
        } catch (GeneralSecurityException e) {
            throw new SrtpException(SrtpRejection.CRYPTO_ERROR, e.getMessage());
        }
        est.update(index);
        return n;
    }

    /** The outgoing stream of an SSRC (created on its first packet). */
    private RtpIndexEstimator sendStream(int ssrc) throws SrtpException {
        RtpIndexEstimator est = txRtp.get(ssrc);
        if (est == null) {
            if (txRtp.size() >= MAX_STREAMS) {
                throw new SrtpException(SrtpRejection.TOO_MANY_STREAMS, "too many outgoing SSRCs");
            }
            est = new RtpIndexEstimator(-1);
            txRtp.put(ssrc, est);
        }
        return est;
    }

    private static long sendIndex(RtpIndexEstimator est, int seq) throws SrtpException {
        est.startAt(seq);
        long index = est.estimate(seq);
        if (index < 0) {
            throw new SrtpException(SrtpRejection.TOO_OLD, "sequence number precedes the stream's first packet");
        }
        if (index > RtpIndexEstimator.MAX_INDEX) {
            throw new SrtpException(SrtpRejection.INDEX_EXHAUSTED, "SRTP index exhausted; re-key");
        }
        return index;
    }

    /** The SRTP tag length of this session's profile (bytes an in-place protect adds). */
    public int tagLength() {
        return tx.tagLength();
    }

    /**
     * Whether the RTP packet transforms run on the JDK's intrinsics without allocating ({@code --add-opens
     * java.base/com.sun.crypto.provider=ALL-UNNAMED}); otherwise public JCE, with its per-packet allocations.
     */
    public static boolean allocationFree() {
        return JdkAes.AVAILABLE;
    }

    /** Why {@link #allocationFree()} is false (null when it is true). */
    public static String allocationFreeUnavailableReason() {
        return JdkAes.UNAVAILABLE_REASON;
    }

    /** Checks and decrypts a whole SRTP packet, returning the plain RTP packet. */
    public byte[] unprotectRtp(byte[] srtp) throws SrtpException {
        return unprotectRtp(srtp, 0, srtp.length);
    }

    /** Checks and decrypts the SRTP packet in {@code buf[off, off+len)} into a new array (the input is untouched). */
    public byte[] unprotectRtp(byte[] buf, int off, int len) throws SrtpException {
        checkBounds(buf, off, len);
        byte[] copy = Arrays.copyOfRange(buf, off, off + len);
        int n = unprotectRtpInPlace(copy, 0, len);
        return Arrays.copyOf(copy, n);
    }

    /**
     * Checks and decrypts the SRTP packet in {@code buf[off, off+len)} in place (the forwarding path: no copy, and
     * no allocation when {@link #allocationFree()}). If it is refused, the buffer is left as it was.
     *
     * @return the length of the plain RTP packet now at {@code buf[off..]} ({@code len - tagLength()})
     */
    public int unprotectRtpInPlace(byte[] buf, int off, int len) throws SrtpException {
        checkBounds(buf, off, len);
        int hdr = rtpHeaderLength(buf, off, len);
        if (len < hdr + rx.tagLength()) {
            throw new SrtpException(SrtpRejection.TOO_SHORT, "SRTP packet shorter than header and tag");
        }
        int ssrc = readInt(buf, off + 8);
        int seq = readU16(buf, off + 2);
        ReceiveStream stream = receiveStream(ssrc, seq);
        long index = receiveIndex(stream, seq);
        int n;
        try {
            n = rx.unprotectRtpInPlace(buf, off, len, hdr, ssrc, index);
        } catch (SrtpException e) {
            throw e;
        } catch (GeneralSecurityException e) {
            throw new SrtpException(SrtpRejection.CRYPTO_ERROR, e.getMessage());
        }
        accepted(ssrc, stream, index);
        return n;
    }

    /** The known stream of an incoming SSRC, or a new one that is kept only once a packet authenticates. */
    private ReceiveStream receiveStream(int ssrc, int seq) throws SrtpException {
        ReceiveStream stream = rxRtp.get(ssrc);
        if (stream == null) {
            if (rxRtp.size() >= MAX_STREAMS) {
                throw new SrtpException(SrtpRejection.TOO_MANY_STREAMS, "too many incoming SSRCs");
            }
            return new ReceiveStream(new RtpIndexEstimator(seq), false);
        }
        return stream;
    }

    private static long receiveIndex(ReceiveStream stream, int seq) throws SrtpException {
        long index = stream.estimator.estimate(seq);
        if (index < 0) {
            throw new SrtpException(SrtpRejection.TOO_OLD, "sequence number precedes the stream's first packet");
        }
        if (index > RtpIndexEstimator.MAX_INDEX) {
            throw new SrtpException(SrtpRejection.INDEX_EXHAUSTED, "SRTP index exhausted");
        }
        SrtpRejection replay = stream.window.check(index);
        if (replay != null) {
            throw new SrtpException(replay, "SRTP index " + index + " refused by the replay window");
        }
        return index;
    }

    private void accepted(int ssrc, ReceiveStream stream, long index) {
        if (!stream.known) {
            stream.known = true;
            rxRtp.put(ssrc, stream);
        }
        stream.estimator.update(index);
        stream.window.accept(index);
    }

    /** Protects a whole plain (compound) RTCP packet; the payload is encrypted (E = 1). */
    public byte[] protectRtcp(byte[] rtcp) throws SrtpException {
        return protectRtcp(rtcp, 0, rtcp.length, true);
    }

    /** Protects the plain RTCP packet in {@code buf[off, off+len)} (E = 1). */
    public byte[] protectRtcp(byte[] buf, int off, int len) throws SrtpException {
        return protectRtcp(buf, off, len, true);
    }

    byte[] protectRtcp(byte[] buf, int off, int len, boolean encrypt) throws SrtpException {
        checkBounds(buf, off, len);
        checkRtcpHeader(buf, off, len, 8);
        int ssrc = readInt(buf, off + 4);
        int[] next = txRtcp.get(ssrc);
        if (next == null) {
            if (txRtcp.size() >= MAX_STREAMS) {
                throw new SrtpException(SrtpRejection.TOO_MANY_STREAMS, "too many outgoing RTCP SSRCs");
            }
            next = new int[1];
            txRtcp.put(ssrc, next);
        }
        if (next[0] < 0) {
            throw new SrtpException(SrtpRejection.INDEX_EXHAUSTED, "SRTCP index exhausted; re-key");
        }
        int index = next[0];
        byte[] out;
        try {
            out = tx.protectRtcp(buf, off, len, ssrc, index, encrypt);
        } catch (SrtpException e) {
            throw e;
        } catch (GeneralSecurityException e) {
            throw new SrtpException(SrtpRejection.CRYPTO_ERROR, e.getMessage());
        }
        next[0] = index + 1; // becomes negative after 2^31 - 1: exhausted
        return out;
    }

    /** Checks and decrypts a whole SRTCP packet, returning the plain (compound) RTCP packet. */
    public byte[] unprotectRtcp(byte[] srtcp) throws SrtpException {
        return unprotectRtcp(srtcp, 0, srtcp.length);
    }

    /** Checks and decrypts the SRTCP packet in {@code buf[off, off+len)} into a new array (the input is untouched). */
    public byte[] unprotectRtcp(byte[] buf, int off, int len) throws SrtpException {
        checkBounds(buf, off, len);
        byte[] copy = Arrays.copyOfRange(buf, off, off + len);
        int n = unprotectRtcpInPlace(copy, 0, len);
        return Arrays.copyOf(copy, n);
    }

    /**
     * Checks and decrypts the SRTCP packet in {@code buf[off, off+len)} in place (the receive path: no copy, and no
     * allocation for an encrypted packet of a known SSRC when {@link #allocationFree()}). If it is refused, the buffer
     * is left as it was.
     *
     * @return the length of the plain (compound) RTCP packet now at {@code buf[off..]}
     */
    public int unprotectRtcpInPlace(byte[] buf, int off, int len) throws SrtpException {
        checkBounds(buf, off, len);
        checkRtcpHeader(buf, off, len, 8 + rx.tagLength() + SrtpCipher.SRTCP_INDEX_LENGTH);
        int ssrc = readInt(buf, off + 4);
        int word = readInt(buf, off + rx.srtcpIndexOffset(len));
        boolean encrypted = word < 0;
        int index = word & 0x7fffffff;
        ReplayWindow window = rxRtcp.get(ssrc);
        boolean isNew = window == null;
        if (isNew) {
            if (rxRtcp.size() >= MAX_STREAMS) {
                throw new SrtpException(SrtpRejection.TOO_MANY_STREAMS, "too many incoming RTCP SSRCs");
            }
            window = new ReplayWindow();
        }
        SrtpRejection replay = window.check(index);
        if (replay != null) {
            throw new SrtpException(replay, "SRTCP index " + index + " refused by the replay window");
        }
        int n;
        try {
            n = rx.unprotectRtcpInPlace(buf, off, len, ssrc, index, encrypted);
        } catch (SrtpException e) {
            throw e;
        } catch (GeneralSecurityException e) {
            throw new SrtpException(SrtpRejection.CRYPTO_ERROR, e.getMessage());
        }
        if (isNew) {
            rxRtcp.put(ssrc, window);
        }
        window.accept(index);
        return n;
    }

    /** Test hook: pretend an outgoing SSRC has already wrapped {@code roc} times. */
    void setSendRoc(int ssrc, int firstSeq, long roc) {
        RtpIndexEstimator est = new RtpIndexEstimator(firstSeq);
        est.setRoc(roc);
        txRtp.put(ssrc, est);
    }

    /** Test hook: the next SRTCP index used for an SSRC. */
    void setSendRtcpIndex(int ssrc, int index) {
        txRtcp.put(ssrc, new int[] {index});
    }

    /** Test hook: pretend an incoming SSRC has already wrapped {@code roc} times. */
    void setReceiveRoc(int ssrc, int firstSeq, long roc) {
        RtpIndexEstimator est = new RtpIndexEstimator(firstSeq);
        est.setRoc(roc);
        rxRtp.put(ssrc, new ReceiveStream(est, true));
    }

    /** The current rollover counter of an incoming SSRC, or -1 if unknown. */
    long receiveRoc(int ssrc) {
        ReceiveStream s = rxRtp.get(ssrc);
        return s == null ? -1 : s.estimator.roc();
    }

    static int rtpHeaderLength(byte[] p, int off, int len) throws SrtpException {
        if (len < RTP_HEADER) {
            throw new SrtpException(SrtpRejection.TOO_SHORT, "shorter than an RTP header");
        }
        int b0 = p[off] & 0xff;
        if ((b0 >>> 6) != 2) {
            throw new SrtpException(SrtpRejection.MALFORMED, "not RTP version 2");
        }
        int hdr = RTP_HEADER + 4 * (b0 & 0x0f);
        if ((b0 & 0x10) != 0) {
            if (len < hdr + 4) {
                throw new SrtpException(SrtpRejection.MALFORMED, "header extension runs past the packet");
            }
            hdr += 4 + 4 * readU16(p, off + hdr + 2);
        }
        if (hdr > len) {
            throw new SrtpException(SrtpRejection.MALFORMED, "RTP header runs past the packet");
        }
        return hdr;
    }

    private static void checkRtcpHeader(byte[] p, int off, int len, int minLength) throws SrtpException {
        if (len < minLength) {
            throw new SrtpException(SrtpRejection.TOO_SHORT, "RTCP packet too short");
        }
        if (((p[off] & 0xff) >>> 6) != 2) {
            throw new SrtpException(SrtpRejection.MALFORMED, "not RTCP version 2");
        }
    }

    private static void checkBounds(byte[] buf, int off, int len) throws SrtpException {
        Objects.requireNonNull(buf, "buf");
        if (off < 0 || len < 0 || off > buf.length - len) {
            throw new SrtpException(SrtpRejection.MALFORMED, "offset/length outside the buffer");
        }
    }

    static int readInt(byte[] b, int off) {
        return ((b[off] & 0xff) << 24) | ((b[off + 1] & 0xff) << 16) | ((b[off + 2] & 0xff) << 8) | (b[off + 3] & 0xff);
    }

    static int readU16(byte[] b, int off) {
        return ((b[off] & 0xff) << 8) | (b[off + 1] & 0xff);
    }

    @Override
    public String toString() {
        return "SrtpSession[" + profile + ", " + txRtp.size() + " out / " + rxRtp.size() + " in RTP streams]";
    }
}
