package dev.veil.client;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The device fingerprints a user has verified, each with the display name the peer had then. Share one instance
 * across connections ({@link Options#withVerifiedPeers}) so that a verification made in one call holds in the next.
 *
 * <p>In memory ({@link #VerifiedPeers()}), or persistent ({@link #load(Path)}): then every {@link #add} rewrites the
 * file atomically (a temporary file in the same directory, owner-only, moved over the old one), so a crash leaves the
 * old or the new list, never half of one. {@link Options#withDeviceKeyFile} opts into a persistent list next to the
 * device key file ({@link #fileFor(Path)}). The list is bounded: at most {@value #MAX_ENTRIES} devices (adding more
 * forgets the least recently verified one), fingerprints of at most {@value #MAX_FINGERPRINT_CHARS} and names of at
 * most {@value #MAX_NAME_CHARS} characters, and a file larger than {@value #MAX_FILE_BYTES} bytes is refused before it
 * is read. Thread-safe.
 */
public final class VerifiedPeers {
    /** At most this many verified devices are remembered. */
    public static final int MAX_ENTRIES = 256;
    /** Longest fingerprint (display form) remembered. */
    public static final int MAX_FINGERPRINT_CHARS = 256;
    /** Longest (claimed) name remembered. */
    public static final int MAX_NAME_CHARS = 1024;
    /** A larger file is refused unread (the entries above fit many times over). */
    public static final int MAX_FILE_BYTES = 4 * 1024 * 1024;

    private static final String HEADER = "veil-verified-peers-1";
    private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();
    private static final Base64.Decoder B64D = Base64.getUrlDecoder();
    private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rw-------");

    /** A verified device fingerprint and the (server-relayed, claimed) name it was verified under, or null. */
    public record Entry(String fingerprint, String name) {}

    /** Normalized fingerprint → entry, least recently verified first. */
    private final Map<String, Entry> byFingerprint = new LinkedHashMap<>();
    private final Path file;

    /** An in-memory list (gone with the process). */
    public VerifiedPeers() {
        this.file = null;
    }

    private VerifiedPeers(Path file) {
        this.file = file;
    }

    /**
     * A list persisted in {@code file}: read now if it exists (else empty; the file is created on the first
     * {@link #add}), rewritten atomically on every add.
     *
     * @throws IOException if the file cannot be read, is malformed or larger than {@value #MAX_FILE_BYTES} bytes, or
     *     is accessible to group or others (whoever can write it can make the SDK show a device as verified)
     */
    public static VerifiedPeers load(Path file) throws IOException {
        VerifiedPeers v = new VerifiedPeers(file.toAbsolutePath());
        v.read();
        return v;
    }

    /** Where {@link Options#withDeviceKeyFile} keeps the verified devices: {@code <key file>.verified}, beside it. */
    public static Path fileFor(Path deviceKeyFile) {
        return deviceKeyFile.resolveSibling(deviceKeyFile.getFileName() + ".verified");
    }

    /** The file this list is persisted in, or null in memory. */
    public Path file() {
        return file;
    }

    /**
     * Remembers a verified device fingerprint (display form, any case/spacing) under {@code name} (may be null) and,
     * if persistent, writes the list out before returning (the in-memory list changes only if that succeeds).
     *
     * @throws IllegalArgumentException if the fingerprint or name is longer than the bounds
     * @throws java.io.UncheckedIOException if the list cannot be written
     */
    public synchronized void add(String fingerprint, String name) {
        if (fingerprint.length() > MAX_FINGERPRINT_CHARS || (name != null && name.length() > MAX_NAME_CHARS)) {
            throw new IllegalArgumentException("fingerprint or name too long to remember");
        }
        Map<String, Entry> next = new LinkedHashMap<>(byFingerprint);
        String key = normalize(fingerprint);
        next.remove(key); // re-verifying moves it to the most recent end
        next.put(key, new Entry(fingerprint, name));
        Iterator<String> oldest = next.keySet().iterator();
        while (next.size() > MAX_ENTRIES) {
            oldest.next();
            oldest.remove();
        }
        if (file != null) {
            try {
                write(next.values());
            } catch (IOException e) {
                throw new java.io.UncheckedIOException("cannot save the verified devices to " + file, e);
            }
        }
        byFingerprint.clear();
        byFingerprint.putAll(next);
    }

    /** The entry of a device fingerprint, or null. */
    public synchronized Entry get(String fingerprint) {
        return fingerprint == null ? null : byFingerprint.get(normalize(fingerprint));
    }

    /** The fingerprints verified under {@code name} (empty for null). */
    public synchronized List<String> fingerprintsOf(String name) {
        List<String> out = new ArrayList<>();
        if (name != null) {
            for (Entry e : byFingerprint.values()) {
                if (name.equals(e.name())) {
                    out.add(e.fingerprint());
                }
            }
        }
        return out;
    }

    /** The entries, least recently verified first. */
    public synchronized List<Entry> entries() {
        return List.copyOf(byFingerprint.values());
    }

    static String normalize(String fp) {
        return fp.replace(" ", "").replace(":", "").toLowerCase(Locale.ROOT);
    }

    // ------------------------------------------------------------------------------------------------ the file

    private void read() throws IOException {
        long size;
        try {
            size = Files.size(file);
        } catch (NoSuchFileException e) {
            return;
        }
        if (Files.getFileStore(file).supportsFileAttributeView("posix")) {
            Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file);
            for (PosixFilePermission p : perms) {
                if (!p.name().startsWith("OWNER_")) {
                    throw new IOException("verified devices file " + file + " is accessible to group or others ("
                            + PosixFilePermissions.toString(perms) + "); chmod 600 it");
                }
            }
        }
        if (size > MAX_FILE_BYTES) {
            throw new IOException("verified devices file " + file + " is larger than " + MAX_FILE_BYTES + " bytes");
        }
        String[] lines = new String(Files.readAllBytes(file), StandardCharsets.US_ASCII).split("\n", -1);
        if (lines.length < 2 || !lines[0].equals(HEADER) || !lines[lines.length - 1].isEmpty()
                || lines.length - 2 > MAX_ENTRIES) {
            throw new IOException("verified devices file " + file + " is malformed");
        }
        for (int i = 1; i < lines.length - 1; i++) {
            String[] f = lines[i].split(" ", -1);
            try {
                if (f.length != 2) {
                    throw new IllegalArgumentException("not two fields");
                }
                String fp = new String(B64D.decode(f[0]), StandardCharsets.UTF_8);
                String name = f[1].equals("-") ? null : new String(B64D.decode(f[1]), StandardCharsets.UTF_8);
                if (fp.isEmpty() || fp.length() > MAX_FINGERPRINT_CHARS
                        || (name != null && name.length() > MAX_NAME_CHARS)) {
                    throw new IllegalArgumentException("out of bounds");
                }
                byFingerprint.remove(normalize(fp));
                byFingerprint.put(normalize(fp), new Entry(fp, name));
            } catch (IllegalArgumentException e) {
                throw new IOException("verified devices file " + file + " is malformed at line " + (i + 1));
            }
        }
    }

    private void write(Iterable<Entry> entries) throws IOException {
        StringBuilder sb = new StringBuilder(HEADER).append('\n');
        for (Entry e : entries) {
            sb.append(B64.encodeToString(e.fingerprint().getBytes(StandardCharsets.UTF_8))).append(' ')
                    .append(e.name() == null ? "-" : B64.encodeToString(e.name().getBytes(StandardCharsets.UTF_8)))
                    .append('\n');
        }
        Path dir = file.getParent();
        boolean posix = Files.getFileStore(dir).supportsFileAttributeView("posix");
        String prefix = file.getFileName() + ".";
        Path tmp = posix
                ? Files.createTempFile(dir, prefix, ".tmp", PosixFilePermissions.asFileAttribute(OWNER_ONLY))
                : Files.createTempFile(dir, prefix, ".tmp");
        try {
            Files.write(tmp, sb.toString().getBytes(StandardCharsets.US_ASCII));
            try (var ch = java.nio.channels.FileChannel.open(tmp, java.nio.file.StandardOpenOption.WRITE)) {
                ch.force(true); // on disk before it replaces the old list
            }
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
