package dev.veil.webrtc.stun;

/** The class of a STUN message: the two C bits of the message type (RFC 8489 §5). */
public enum StunClass {
    /** 0b00 */
    REQUEST(0),
    /** 0b01 */
    INDICATION(1),
    /** 0b10 */
    SUCCESS_RESPONSE(2),
    /** 0b11 */
    ERROR_RESPONSE(3);

    private final int bits;

    StunClass(int bits) {
        this.bits = bits;
    }

    /** The two class bits, C1C0. */
    public int bits() {
        return bits;
    }

    static StunClass ofBits(int bits) {
        return values()[bits & 3];
    }
}
