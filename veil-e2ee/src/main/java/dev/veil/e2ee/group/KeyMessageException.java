package dev.veil.e2ee.group;

/** A key message that is not well formed (wrong length, unknown type, reserved bits set). */
public final class KeyMessageException extends Exception {
    private static final long serialVersionUID = 1L;

    public KeyMessageException(String message) {
        super(message);
    }
}
