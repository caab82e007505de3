package dev.veil.e2ee.identity;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Objects;
import java.util.Set;
import org.bouncycastle.math.ec.rfc8032.Ed25519;

/**
 * An optional persistent identity of one device (or one Java process's key file): an Ed25519 key that certifies
 * each connection's fresh {@link Identity} ({@link DeviceCertificate}), so that its {@linkplain #fingerprint()
 * fingerprint} stays the same from call to call and people can verify it once.
 *
 * <p>Key file format: {@code "veil-device-key-1\n"} followed by the 32-byte Ed25519 seed as 64 lowercase hex digits
 * and {@code "\n"}. {@link #loadOrCreate} creates it atomically with owner-only permissions (rw-------) where the
 * file system has POSIX permissions, and refuses to load a file that group or others may read or write.
 */
public final class DeviceIdentity {
    private static final String HEADER = "veil-device-key-1\n";
    private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rw-------");

    private final byte[] seed;
    private final byte[] publicKey = new byte[Identity.KEY_LENGTH];
    private volatile boolean destroyed;

    private DeviceIdentity(byte[] seed) {
        this.seed = seed;
        Ed25519.generatePublicKey(seed, 0, publicKey, 0);
    }

    /** A fresh device identity (not stored). */
    public static DeviceIdentity generate(SecureRandom random) {
        byte[] seed = new byte[Identity.KEY_LENGTH];
        Objects.requireNonNull(random, "random").nextBytes(seed);
        return new DeviceIdentity(seed);
    }

    /** From a 32-byte Ed25519 seed (copied). */
    public static DeviceIdentity fromSeed(byte[] seed) {
        if (seed == null || seed.length != Identity.KEY_LENGTH) {
            throw new IllegalArgumentException("seed must be 32 bytes");
        }
        return new DeviceIdentity(seed.clone());
    }

    /**
     * Loads the device key from {@code file}, or creates it (owner-only permissions) if it does not exist.
     *
     * @throws IOException if the file cannot be read or created, is malformed, or is accessible to group/others
     */
    public static DeviceIdentity loadOrCreate(Path file, SecureRandom random) throws IOException {
        Objects.requireNonNull(file, "file");
        if (!Files.exists(file)) {
            DeviceIdentity d = generate(random);
            byte[] text = (HEADER + hex(d.seed) + "\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII);
            try {
                boolean posix = Files.getFileStore(file.toAbsolutePath().getParent()).supportsFileAttributeView("posix");
                if (posix) {
                    Files.createFile(file, PosixFilePermissions.asFileAttribute(OWNER_ONLY));
                } else {
                    Files.createFile(file);
                }
                Files.write(file, text, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
                return d;
            } catch (FileAlreadyExistsException race) {
                d.destroy(); // another process made it first: use theirs
            } finally {
                Arrays.fill(text, (byte) 0);
            }
        }
        if (Files.getFileStore(file.toAbsolutePath()).supportsFileAttributeView("posix")) {
            Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file);
            for (PosixFilePermission p : perms) {
                if (!p.name().startsWith("OWNER_")) {
                    throw new IOException("device key file " + file + " is accessible to group or others ("
                            + PosixFilePermissions.toString(perms) + "); chmod 600 it");
                }
            }
        }
        if (Files.size(file) != HEADER.length() + 65) {
            throw new IOException("device key file " + file + " is malformed");
        }
        byte[] text = Files.readAllBytes(file);
        try {
            String s = new String(text, java.nio.charset.StandardCharsets.US_ASCII);
            if (!s.startsWith(HEADER) || s.charAt(s.length() - 1) != '\n') {
                throw new IOException("device key file " + file + " is malformed");
            }
            byte[] seed = new byte[Identity.KEY_LENGTH];
            for (int i = 0; i < seed.length; i++) {
                int hi = Character.digit(s.charAt(HEADER.length() + 2 * i), 16);
                int lo = Character.digit(s.charAt(HEADER.length() + 2 * i + 1), 16);
                if (hi < 0 || lo < 0) {
                    Arrays.fill(seed, (byte) 0);
                    throw new IOException("device key file " + file + " is malformed");
                }
                seed[i] = (byte) (hi << 4 | lo);
            }
            return new DeviceIdentity(seed);
        } finally {
            Arrays.fill(text, (byte) 0);
        }
    }

    private static String hex(byte[] b) {
        StringBuilder s = new StringBuilder(b.length * 2);
        for (byte x : b) {
            s.append(Character.forDigit((x >> 4) & 0xF, 16)).append(Character.forDigit(x & 0xF, 16));
        }
        return s.toString();
    }

    /** The Ed25519 public device key (a copy). */
    public byte[] publicKey() {
        return publicKey.clone();
    }

    /** The device fingerprint people compare and mark verified. */
    public Fingerprint fingerprint() {
        return Fingerprint.ofDevice(publicKey);
    }

    /** Certifies one connection's identity key in one channel. */
    public DeviceCertificate certify(byte[] identityKey, String connectionId, String channelId) {
        if (destroyed) {
            throw new IllegalStateException("device identity has been destroyed");
        }
        byte[] input = DeviceCertificate.signatureInput(publicKey, identityKey, connectionId, channelId);
        byte[] sig = new byte[Ed25519.SIGNATURE_SIZE];
        Ed25519.sign(seed, 0, publicKey, 0, input, 0, input.length, sig, 0);
        return new DeviceCertificate(publicKey, sig);
    }

    /**
     * Vouches for one MLS leaf signature key of one connection (docs/PROTOCOL.md §4.9): Ed25519 over
     * {@code "Veil 1.0 MLS credential" ‖ uint8 len ‖ UTF-8(connection_id) ‖ leaf_signature_key}.
     */
    public byte[] certifyMlsLeaf(String connectionId, byte[] leafSignatureKey) {
        if (destroyed) {
            throw new IllegalStateException("device identity has been destroyed");
        }
        byte[] input = mlsLeafInput(connectionId, leafSignatureKey);
        byte[] sig = new byte[Ed25519.SIGNATURE_SIZE];
        Ed25519.sign(seed, 0, publicKey, 0, input, 0, input.length, sig, 0);
        return sig;
    }

    /** The input {@link #certifyMlsLeaf} signs. */
    public static byte[] mlsLeafInput(String connectionId, byte[] leafSignatureKey) {
        if (leafSignatureKey == null || leafSignatureKey.length != Identity.KEY_LENGTH) {
            throw new IllegalArgumentException("leaf signature key must be 32 bytes");
        }
        byte[] label = "Veil 1.0 MLS credential".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        byte[] cid = ConnectionIds.lengthPrefixed(connectionId);
        byte[] out = Arrays.copyOf(label, label.length + cid.length + leafSignatureKey.length);
        System.arraycopy(cid, 0, out, label.length, cid.length);
        System.arraycopy(leafSignatureKey, 0, out, label.length + cid.length, leafSignatureKey.length);
        return out;
    }

    /** Overwrites the seed in memory (the key file stays). */
    public void destroy() {
        destroyed = true;
        Arrays.fill(seed, (byte) 0);
    }

    @Override
    public String toString() {
        return "DeviceIdentity[" + fingerprint() + "]";
    }
}
