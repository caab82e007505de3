package dev.veil.e2ee.codec;

import java.security.GeneralSecurityException;

/** A frame could not be encrypted: no key is set, or the sender's counter space is exhausted. */
public final class FrameCryptoException extends GeneralSecurityException {
    private static final long serialVersionUID = 1L;

    public FrameCryptoException(String message) {
        super(message);
    }

    public FrameCryptoException(String message, Throwable cause) {
        super(message, cause);
    }
}
