package dev.veil.e2ee.identity;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Comparator;

/**
 * Connection ids as Veil's E2EE layer encodes them: the UTF-8 bytes of the id the server assigned, 1 to 255 bytes,
 * always written with a one-byte length prefix.
 *
 * <pre>
 *   cid = len (uint8, 1..255) ‖ UTF-8 bytes of the connection id
 * </pre>
 *
 * <p>Ordering (for the room verification code) is unsigned lexicographic order of the UTF-8 bytes, which is not
 * Java's (or JavaScript's) UTF-16 {@code String} order for ids outside the BMP.
 */
public final class ConnectionIds {
    /** Longest connection id in UTF-8 bytes. */
    public static final int MAX_LENGTH = 255;

    /** Unsigned lexicographic order of the UTF-8 bytes. */
    public static final Comparator<String> ORDER = (a, b) -> Arrays.compareUnsigned(utf8(a), utf8(b));

    private ConnectionIds() {
    }

    /** True if {@code id} is a connection id Veil can carry: non-null, 1..255 UTF-8 bytes, well-formed UTF-16. */
    public static boolean isValid(String id) {
        if (id == null || id.isEmpty()) {
            return false;
        }
        try {
            int n = StandardCharsets.UTF_8.newEncoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .encode(java.nio.CharBuffer.wrap(id)).remaining();
            return n <= MAX_LENGTH;
        } catch (CharacterCodingException e) {
            return false;
        }
    }

    /** Throws {@link IllegalArgumentException} unless {@link #isValid(String)}. */
    public static String requireValid(String id) {
        if (!isValid(id)) {
            throw new IllegalArgumentException("not a valid connection id (1..255 UTF-8 bytes)");
        }
        return id;
    }

    /** The UTF-8 bytes of a valid id. */
    public static byte[] utf8(String id) {
        return requireValid(id).getBytes(StandardCharsets.UTF_8);
    }

    /** {@code len ‖ UTF-8 bytes}. */
    public static byte[] lengthPrefixed(String id) {
        byte[] b = utf8(id);
        byte[] out = new byte[1 + b.length];
        out[0] = (byte) b.length;
        System.arraycopy(b, 0, out, 1, b.length);
        return out;
    }

    /**
     * Decodes {@code len} bytes of strict UTF-8 at {@code off}; returns null if they are not well-formed UTF-8 or
     * {@code len} is 0.
     */
    public static String decode(byte[] buf, int off, int len) {
        if (len < 1 || len > MAX_LENGTH || off < 0 || off + len > buf.length) {
            return null;
        }
        CharsetDecoder d = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        try {
            return d.decode(ByteBuffer.wrap(buf, off, len)).toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }
}
