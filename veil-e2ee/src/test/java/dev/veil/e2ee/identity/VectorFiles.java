package dev.veil.e2ee.identity;

import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;

/**
 * Reads and (with {@code -Dveil.vectors.write=true}) writes the language-neutral vector files in the top-level
 * {@code test-vectors/} folder. Every vector test rebuilds its file from fixed inputs and checks that the file on
 * disk is exactly what the implementation produces, then runs the file's cases from their inputs.
 */
public final class VectorFiles {
    public static final ObjectMapper JSON = new ObjectMapper();
    private static final HexFormat HEX = HexFormat.of();

    private VectorFiles() {
    }

    public static boolean writing() {
        return Boolean.getBoolean("veil.vectors.write");
    }

    public static Path dir() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null) {
            Path candidate = p.resolve("test-vectors");
            if (Files.isDirectory(candidate) && Files.exists(p.resolve("pom.xml"))
                    && Files.exists(p.resolve("veil-e2ee"))) {
                return candidate;
            }
            p = p.getParent();
        }
        throw new IllegalStateException("test-vectors/ not found above " + Path.of("").toAbsolutePath());
    }

    /** Writes {@code tree} if writing, then returns what is on disk. */
    public static JsonNode sync(String name, ObjectNode tree) {
        Path file = dir().resolve(name);
        try {
            if (writing()) {
                DefaultPrettyPrinter pp = new DefaultPrettyPrinter()
                        .withObjectIndenter(new DefaultIndenter("  ", "\n"))
                        .withArrayIndenter(new DefaultIndenter("  ", "\n"));
                String text = JSON.writer(pp).writeValueAsString(tree) + "\n";
                Files.writeString(file, text, StandardCharsets.UTF_8);
            }
            return JSON.readTree(Files.readString(file, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** {@code tree} as it reads back from disk (Jackson reads small numbers as ints, the builders put longs). */
    public static JsonNode normalized(JsonNode tree) {
        try {
            return JSON.readTree(JSON.writeValueAsString(tree));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static String hex(byte[] b) {
        return HEX.formatHex(b);
    }

    public static byte[] unhex(String s) {
        return HEX.parseHex(s);
    }

    public static byte[] unhex(JsonNode n) {
        return HEX.parseHex(n.asText());
    }

    /** SHA-256 of an ASCII string: how the vector files make up their fixed private keys. */
    public static byte[] seed(String name) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(name.getBytes(StandardCharsets.UTF_8));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
