package dev.veil.client;

/** Why a connection could not be made or was refused; the message says it in plain words. */
public final class VeilClientException extends Exception {
    private static final long serialVersionUID = 1L;

    public VeilClientException(String message) {
        super(message);
    }

    public VeilClientException(String message, Throwable cause) {
        super(message, cause);
    }
}
