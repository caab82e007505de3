package dev.veil.e2ee.codec;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** Shared helpers of the frames-*.json vector tests: file location, hex, deterministic test bytes. */
public final class FrameVectorFiles {
    public static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    /** Set to true to (re)write the frames-*.json files from the generator. */
    public static final boolean WRITE = Boolean.getBoolean("veil.vectors.write");

    private FrameVectorFiles() {
    }

    /** test-vectors/ of the repository (from the module directory), or -Dveil.testVectors=DIR. */
    public static Path dir() {
        String p = System.getProperty("veil.testVectors");
        return p != null ? Path.of(p) : Path.of("..", "test-vectors");
    }

    public static JsonNode read(String name) throws IOException {
        return JSON.readTree(dir().resolve(name).toFile());
    }

    public static void write(String name, JsonNode node) throws IOException {
        Files.createDirectories(dir());
        Files.writeString(dir().resolve(name), JSON.writeValueAsString(node) + "\n", StandardCharsets.UTF_8);
    }

    public static String hex(byte[] b) {
        return HexFormat.of().formatHex(b);
    }

    public static byte[] unhex(String s) {
        return HexFormat.of().parseHex(s);
    }

    public static byte[] unhex(JsonNode n) {
        return unhex(n.asText());
    }

    /** {@code length} deterministic bytes named by {@code label} (SHA-256 in counter mode). */
    public static byte[] bytes(String label, int length) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            byte[] out = new byte[length];
            for (int i = 0, pos = 0; pos < length; i++) {
                sha.update(label.getBytes(StandardCharsets.UTF_8));
                sha.update((byte) i);
                byte[] d = sha.digest();
                int n = Math.min(d.length, length - pos);
                System.arraycopy(d, 0, out, pos, n);
                pos += n;
            }
            return out;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A VP8 key frame: frame tag with P = 0, start code 9d 01 2a, 640x480, then payload. */
    public static byte[] vp8KeyFrame(int length, String label) {
        byte[] f = bytes(label, length);
        byte[] head = {0x50, 0x2d, 0x00, (byte) 0x9d, 0x01, 0x2a, (byte) 0x80, 0x02, (byte) 0xe0, 0x01};
        System.arraycopy(head, 0, f, 0, Math.min(head.length, length));
        return f;
    }

    /** A VP8 delta frame: frame tag with P = 1. */
    public static byte[] vp8DeltaFrame(int length, String label) {
        byte[] f = bytes(label, length);
        if (length > 0) {
            f[0] = (byte) (f[0] | 1);
        }
        return f;
    }

    /** An Opus frame: TOC byte 0xfc (SILK WB 20 ms... any config) then payload. */
    public static byte[] opusFrame(int length, String label) {
        byte[] f = bytes(label, length);
        if (length > 0) {
            f[0] = (byte) 0xfc;
        }
        return f;
    }
}
