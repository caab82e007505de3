package dev.veil.webrtc.srtp;

import java.security.GeneralSecurityException;
import java.util.Objects;

/**
 * A packet was refused by SRTP/SRTCP protection or unprotection, with a typed {@link #reason()}.
 *
 * <p>Thrown once per bad packet, so it carries no stack trace (filling one in is the costly part of an
 * exception and an attacker can make us throw at line rate).
 */
public final class SrtpException extends GeneralSecurityException {
    private static final long serialVersionUID = 1L;

    private final SrtpRejection reason;

    public SrtpException(SrtpRejection reason, String message) {
        super(message);
        this.reason = Objects.requireNonNull(reason, "reason");
    }

    /** Why the packet was refused. */
    public SrtpRejection reason() {
        return reason;
    }

    @Override
    public Throwable fillInStackTrace() {
        return this;
    }

    @Override
    public String toString() {
        return "SrtpException[" + reason + ": " + getMessage() + "]";
    }
}
