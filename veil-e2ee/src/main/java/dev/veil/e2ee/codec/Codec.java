package dev.veil.e2ee.codec;

/**
 * The built-in clear-prefix rules, byte-compatible with Jitsi's {@code UNENCRYPTED_BYTES} table.
 *
 * <pre>
 *   codec  frame type                        clear prefix
 *   VP8    KEY                               10 bytes  (3-byte frame tag, start code 9d 01 2a, 2+2 bytes size;
 *                                                       RFC 6386 section 9.1)
 *   VP8    DELTA                              3 bytes  (the frame tag)
 *   VP8    UNSPECIFIED                       10 if (byte0 &amp; 1) == 0 (P bit clear: key frame), else 3
 *   OPUS   any                                1 byte   (the TOC byte, RFC 6716 section 3.1)
 *   NONE   any                                0 bytes  (the whole frame is encrypted)
 * </pre>
 *
 * Every rule is clamped to the frame length, so a short frame never throws.
 */
public enum Codec implements ClearPrefixPolicy {
    VP8 {
        @Override
        public int clearPrefixLength(byte[] frame, int off, int len, FrameType type) {
            if (len <= 0) {
                return 0;
            }
            boolean key = switch (type) {
                case KEY -> true;
                case DELTA -> false;
                case UNSPECIFIED -> (frame[off] & 1) == 0;
            };
            return Math.min(key ? VP8_KEY_FRAME_PREFIX : VP8_DELTA_FRAME_PREFIX, len);
        }
    },
    OPUS {
        @Override
        public int clearPrefixLength(byte[] frame, int off, int len, FrameType type) {
            return Math.min(OPUS_PREFIX, Math.max(len, 0));
        }
    },
    NONE {
        @Override
        public int clearPrefixLength(byte[] frame, int off, int len, FrameType type) {
            return 0;
        }
    };

    /** VP8 key frame: frame tag (3) + start code (3) + width and height (2 + 2). */
    public static final int VP8_KEY_FRAME_PREFIX = 10;
    /** VP8 delta frame: the 3-byte frame tag. */
    public static final int VP8_DELTA_FRAME_PREFIX = 3;
    /** Opus: the TOC byte. */
    public static final int OPUS_PREFIX = 1;

    /** The largest prefix any built-in codec keeps in clear. */
    public static final int MAX_PREFIX = VP8_KEY_FRAME_PREFIX;
}
