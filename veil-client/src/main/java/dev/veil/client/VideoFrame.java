package dev.veil.client;

import java.util.Objects;

/**
 * One VP8 frame of another member's video track, reassembled from its RTP packets and decrypted (with E2EE) and
 * authenticated: what {@link Connection.Listener#onVideoFrame} reports. The SDK decodes nothing; {@code keyFrame} is
 * read from the VP8 frame tag (P bit 0).
 *
 * @param senderConnectionId the publisher
 * @param mid the m-line (track) it arrived on, as in {@link Track#mid()}
 * @param ssrc the SSRC the server forwards it under (one per track: a simulcast switch keeps it)
 * @param frame the VP8 frame
 * @param keyFrame whether it is a key frame
 * @param rtpTimestamp its RTP timestamp (90 kHz)
 * @param firstSequence the RTP sequence number of its first packet
 * @param lastSequence the RTP sequence number of its last packet (the one with the marker)
 */
public record VideoFrame(String senderConnectionId, String mid, long ssrc, byte[] frame, boolean keyFrame,
        long rtpTimestamp, int firstSequence, int lastSequence) {
    public VideoFrame {
        Objects.requireNonNull(senderConnectionId, "senderConnectionId");
        Objects.requireNonNull(mid, "mid");
        frame = frame.clone();
    }

    @Override
    public byte[] frame() {
        return frame.clone();
    }

    /** The picture size of a key frame ({@code width << 16 | height}, 14 bits each), or -1. */
    public int keyFrameSize() {
        if (!keyFrame || frame.length < 10 || (frame[3] & 0xff) != 0x9d || (frame[4] & 0xff) != 0x01
                || (frame[5] & 0xff) != 0x2a) {
            return -1;
        }
        int w = ((frame[6] & 0xff) | (frame[7] & 0xff) << 8) & 0x3fff;
        int h = ((frame[8] & 0xff) | (frame[9] & 0xff) << 8) & 0x3fff;
        return w << 16 | h;
    }

    @Override
    public String toString() {
        return "VideoFrame[" + senderConnectionId + " mid " + mid + ", " + frame.length + " bytes"
                + (keyFrame ? ", key" : "") + ", seq " + firstSequence + ".." + lastSequence + "]";
    }
}
