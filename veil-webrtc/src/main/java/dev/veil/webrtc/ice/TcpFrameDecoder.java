package dev.veil.webrtc.ice;

/**
 * The receiving half of RFC 4571 framing, as ICE-TCP uses it (<a href="https://www.rfc-editor.org/rfc/rfc6544#section-3">RFC
 * 6544 §3</a>): on a TCP connection every STUN, DTLS, SRTP or SRTCP packet is preceded by its length as a 16-bit
 * unsigned big-endian integer; nothing else is on the stream.
 *
 * <h2>Sans-IO contract</h2>
 * No socket, no thread, no clock. The caller hands over received bytes with {@link #feed}, which consumes bytes
 * until one frame is complete (or the input ends) and returns how many it took; a completed frame is then taken with
 * {@link #poll()}. Call {@code feed} again with the rest of the input until it is all consumed:
 * <pre>{@code
 * for (int off = 0; off < n; ) {
 *     off += decoder.feed(buf, off, n - off);
 *     for (byte[] frame; (frame = decoder.poll()) != null; ) handle(frame);
 *     if (decoder.failed()) { close(); break; }
 * }
 * }</pre>
 *
 * <h2>Bounds</h2>
 * A frame's buffer is allocated only once its length is known and found within {@code 1..maxFrame}; a length of 0
 * or above {@code maxFrame} fails the decoder (a desynchronised or hostile stream: RFC 4571 streams carry no
 * resynchronisation point, so the only safe reaction is to close the connection). After a failure nothing more is
 * consumed. At most one frame is held, so the memory per connection is at most {@code maxFrame + 2} bytes.
 * Not thread-safe: confine to one event loop.
 */
public final class TcpFrameDecoder {

    /** RFC 4571's length field is 16 bits. */
    public static final int MAX_FRAME_LIMIT = 0xFFFF;

    private final int maxFrame;
    /** Length header bytes seen so far (0..2) and the header value being assembled. */
    private int headerBytes;
    private int length;
    /** The frame being filled (null between frames) and how much of it is filled. */
    private byte[] frame;
    private int filled;
    /** A completed frame waiting for {@link #poll()}. */
    private byte[] ready;
    private String failure;
    private long frames;

    /**
     * @param maxFrame the largest frame accepted, 1..65535 (the server uses its largest datagram)
     */
    public TcpFrameDecoder(int maxFrame) {
        if (maxFrame < 1 || maxFrame > MAX_FRAME_LIMIT) {
            throw new IllegalArgumentException("maxFrame must be 1.." + MAX_FRAME_LIMIT + ", got " + maxFrame);
        }
        this.maxFrame = maxFrame;
    }

    /**
     * Consumes bytes of {@code buf[off..off+len)} until a frame completes or the input ends.
     *
     * @return the number of bytes consumed (0 if a completed frame is still waiting for {@link #poll()}, or after a
     *     failure)
     */
    public int feed(byte[] buf, int off, int len) {
        if (off < 0 || len < 0 || off > buf.length - len) {
            throw new IndexOutOfBoundsException("off " + off + " len " + len + " of " + buf.length);
        }
        if (failure != null || ready != null) {
            return 0;
        }
        int start = off;
        int end = off + len;
        while (off < end) {
            if (frame == null) {
                length = (length << 8) | (buf[off++] & 0xFF);
                if (++headerBytes < 2) {
                    continue;
                }
                if (length == 0 || length > maxFrame) {
                    failure = length == 0 ? "empty frame" : "frame of " + length + " bytes (at most " + maxFrame + ")";
                    return off - start;
                }
                frame = new byte[length];
                filled = 0;
                continue;
            }
            int n = Math.min(end - off, frame.length - filled);
            System.arraycopy(buf, off, frame, filled, n);
            off += n;
            filled += n;
            if (filled == frame.length) {
                ready = frame;
                frame = null;
                headerBytes = 0;
                length = 0;
                frames++;
                return off - start;
            }
        }
        return off - start;
    }

    /** The completed frame, or null; a frame is returned once. */
    public byte[] poll() {
        byte[] f = ready;
        ready = null;
        return f;
    }

    /** True once the stream broke the framing rules; see {@link #failure()}. */
    public boolean failed() {
        return failure != null;
    }

    /** Why the decoder failed, or null. */
    public String failure() {
        return failure;
    }

    /** True if bytes of an unfinished frame (or its header) are held. */
    public boolean hasPartialFrame() {
        return headerBytes > 0 || frame != null;
    }

    /** Frames completed so far. */
    public long frames() {
        return frames;
    }

    /** The 2-byte length header of a frame of {@code length} bytes (1..65535). */
    public static byte[] header(int length) {
        if (length < 1 || length > MAX_FRAME_LIMIT) {
            throw new IllegalArgumentException("frame length must be 1.." + MAX_FRAME_LIMIT + ", got " + length);
        }
        return new byte[] {(byte) (length >>> 8), (byte) length};
    }

    /** {@code packet} framed: its 2-byte length, then the packet. */
    public static byte[] encode(byte[] packet) {
        byte[] h = header(packet.length);
        byte[] out = new byte[2 + packet.length];
        out[0] = h[0];
        out[1] = h[1];
        System.arraycopy(packet, 0, out, 2, packet.length);
        return out;
    }
}
