package dev.veil.e2ee.identity;

/** A bundle that cannot be parsed: bad JSON, unsupported version, bad base64url or a wrong length. */
public final class BundleFormatException extends Exception {
    private static final long serialVersionUID = 1L;

    public BundleFormatException(String message) {
        super(message);
    }
}
