package dev.veil.webrtc.ice;

import java.util.Objects;
import java.util.random.RandomGenerator;

/**
 * An ICE username fragment and password ({@code a=ice-ufrag}, {@code a=ice-pwd}; RFC 8839 §5.4). The password is
 * the short-term credential that keys MESSAGE-INTEGRITY, so {@link #toString()} never shows it.
 *
 * @param ufrag 4..256 ice-chars
 * @param password 22..256 ice-chars
 */
public record IceCredentials(String ufrag, String password) {

    private static final String ICE_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    /** Length of generated ufrags. */
    public static final int UFRAG_LENGTH = 16;
    /** Length of generated passwords (32 chars of 6 bits = 192 bits). */
    public static final int PASSWORD_LENGTH = 32;

    public IceCredentials {
        Objects.requireNonNull(ufrag, "ufrag");
        Objects.requireNonNull(password, "password");
        if (ufrag.length() < 4 || ufrag.length() > 256 || !isIceChars(ufrag)) {
            throw new IllegalArgumentException("ice-ufrag must be 4..256 ice-chars");
        }
        if (password.length() < 22 || password.length() > 256 || !isIceChars(password)) {
            throw new IllegalArgumentException("ice-pwd must be 22..256 ice-chars");
        }
    }

    /** Fresh random credentials: 16-char ufrag and 32-char password from {@code random} (use a SecureRandom). */
    public static IceCredentials random(RandomGenerator random) {
        return new IceCredentials(randomIceString(random, UFRAG_LENGTH), randomIceString(random, PASSWORD_LENGTH));
    }

    private static String randomIceString(RandomGenerator random, int n) {
        StringBuilder sb = new StringBuilder(n);
        for (int i = 0; i < n; i++) {
            sb.append(ICE_CHARS.charAt(random.nextInt(ICE_CHARS.length())));
        }
        return sb.toString();
    }

    private static boolean isIceChars(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (ICE_CHARS.indexOf(s.charAt(i)) < 0) {
                return false;
            }
        }
        return true;
    }

    @Override
    public String toString() {
        return "IceCredentials[ufrag=" + ufrag + ", password=<redacted>]";
    }
}
