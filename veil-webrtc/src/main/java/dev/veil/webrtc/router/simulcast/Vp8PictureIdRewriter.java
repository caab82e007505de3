package dev.veil.webrtc.router.simulcast;

/**
 * Keeps the VP8 payload descriptor's PictureID and TL0PICIDX (RFC 7741 §4.2) of one subscriber's stream continuous
 * across simulcast layer switches, as the {@link LayerSwitcher} keeps its sequence numbers and timestamps continuous.
 *
 * <h2>Why</h2>
 * Each layer has its own PictureID and TL0PICIDX counters. A receiver finds a VP8 frame's references from them
 * (libwebrtc's frame id is the unwrapped PictureID): after a switch the new layer's ids jump, by any amount, forward
 * or back. A key frame restarts the decoder, but the next delta frames of the new layer then carry ids "before" the
 * last frame decoded, or behind gaps the receiver remembers as missing, and are held back as not decodable — until
 * the receiver gives up and asks for another key frame (3 s without a decodable frame): a 3.4 s freeze right after a
 * switch in 2 of 4 netlab runs at 400 kbit/s, each ended by the subscriber's own PLI. Rewritten, the new layer's
 * key frame gets the last PictureID sent + 1 and the last TL0PICIDX sent + 1, and its frames follow from there.
 *
 * <h2>Use</h2>
 * Per consumer: {@link #onSwitch} with the first packet of each switch point (the first one included: it keeps that
 * layer's own ids), then {@link #rewrite} on every packet sent (the consumer's copy, never the shared input), with
 * {@code newest} when its sequence number is the highest sent so far. A 7-bit PictureID stays 7 bits (rewritten
 * modulo 128). Packets without the fields pass unchanged; a truncated descriptor is left alone. The descriptor is
 * outside the frame an E2EE sender encrypts (the packetizer writes it), so this works with E2EE on. Sans-IO, no
 * allocation, not thread-safe.
 */
public final class Vp8PictureIdRewriter {

    private boolean started;
    private int pictureIdOffset;
    private int tl0Offset;
    private int lastPictureId = -1;
    private int lastTl0 = -1;

    /**
     * A switch point: the first packet of a key frame of the layer the consumer gets from now on ({@code
     * payloadOffset}/{@code payloadLength}: its RTP payload, as received). Ids continue from the last ones sent.
     */
    public void onSwitch(byte[] buf, int payloadOffset, int payloadLength) {
        int pid = field(buf, payloadOffset, payloadLength, true);
        int tl0 = field(buf, payloadOffset, payloadLength, false);
        if (!started) {
            started = true;
            pictureIdOffset = 0;
            tl0Offset = 0;
            return;
        }
        if (pid >= 0 && lastPictureId >= 0) {
            pictureIdOffset = (lastPictureId + 1 - pid) & 0x7FFF;
        }
        if (tl0 >= 0 && lastTl0 >= 0) {
            tl0Offset = (lastTl0 + 1 - tl0) & 0xFF;
        }
    }

    /**
     * Rewrites the ids of one outgoing packet in place ({@code payloadOffset}: where its VP8 descriptor starts).
     *
     * @param newest whether it is the newest packet sent (its ids become the "last sent" of the next switch)
     */
    public void rewrite(byte[] buf, int payloadOffset, int payloadLength, boolean newest) {
        if (!started || payloadLength < 3 || (buf[payloadOffset] & 0x80) == 0) {
            return;
        }
        int xb = buf[payloadOffset + 1] & 0xFF;
        int p = payloadOffset + 2;
        int end = payloadOffset + payloadLength;
        if ((xb & 0x80) != 0) { // I: PictureID
            int b = buf[p] & 0xFF;
            if ((b & 0x80) != 0) {
                if (p + 1 >= end) {
                    return;
                }
                int pid = (((b & 0x7F) << 8) | (buf[p + 1] & 0xFF)) + pictureIdOffset & 0x7FFF;
                buf[p] = (byte) (0x80 | pid >>> 8);
                buf[p + 1] = (byte) pid;
                p += 2;
                lastPictureId = newest ? pid : lastPictureId;
            } else {
                int pid = (b + pictureIdOffset) & 0x7F;
                buf[p] = (byte) pid;
                p += 1;
                lastPictureId = newest ? pid : lastPictureId;
            }
        }
        if ((xb & 0x40) != 0 && p < end) { // L: TL0PICIDX
            int tl0 = (buf[p] + tl0Offset) & 0xFF;
            buf[p] = (byte) tl0;
            lastTl0 = newest ? tl0 : lastTl0;
        }
    }

    /** The PictureID ({@code pictureId}) or TL0PICIDX of a VP8 payload, or -1 if absent or truncated. */
    static int field(byte[] buf, int off, int len, boolean pictureId) {
        if (len < 3 || (buf[off] & 0x80) == 0) {
            return -1;
        }
        int xb = buf[off + 1] & 0xFF;
        int p = off + 2;
        int end = off + len;
        int pid = -1;
        if ((xb & 0x80) != 0) {
            int b = buf[p] & 0xFF;
            if ((b & 0x80) != 0) {
                if (p + 1 >= end) {
                    return -1;
                }
                pid = ((b & 0x7F) << 8) | (buf[p + 1] & 0xFF);
                p += 2;
            } else {
                pid = b;
                p += 1;
            }
        }
        if (pictureId) {
            return pid;
        }
        return (xb & 0x40) != 0 && p < end ? buf[p] & 0xFF : -1;
    }
}
