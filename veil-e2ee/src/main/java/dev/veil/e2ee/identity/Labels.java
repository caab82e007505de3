package dev.veil.e2ee.identity;

import java.nio.charset.StandardCharsets;

/** The ASCII labels of Veil's identity layer (docs/PROTOCOL.md §3.1). Each is used as a prefix, never alone. */
final class Labels {
    static final byte[] BUNDLE = ascii("Veil 1.0 bundle");
    static final byte[] FINGERPRINT = ascii("Veil 1.0 fingerprint");
    static final byte[] ROOM_CODE = ascii("Veil 1.0 room code");
    static final byte[] ROOM_CODE_CONTEXT = ascii("Veil 1.1 room code");
    static final byte[] DEVICE_FINGERPRINT = ascii("Veil 1.0 device fingerprint");
    static final byte[] DEVICE_CERTIFICATE = ascii("Veil 1.0 device certificate");

    private Labels() {
    }

    static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }
}
