package dev.veil.e2ee.mls;

/**
 * An MLS operation failed: a message that does not verify or does not fit the group, or a local operation the group
 * state does not allow. The message names the step that failed; it never contains key material.
 */
public final class MlsException extends Exception {
    private static final long serialVersionUID = 1L;

    public MlsException(String message) {
        super(message);
    }

    public MlsException(String message, Throwable cause) {
        super(message + (cause == null || cause.getMessage() == null ? "" : ": " + cause.getMessage()), cause);
    }
}
