package dev.veil.e2ee.identity;

import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The room verification code: every member computes it from the same set of (connection id, identity key) pairs
 * (its own included), so members who read the same code aloud see the same members with the same keys. It changes
 * whenever a member joins or leaves or any identity key changes.
 *
 * <pre>
 *   members sorted by connection id (unsigned lexicographic order of the UTF-8 bytes), n = 1..65535
 *   input  = "Veil 1.0 room code" ‖ n (uint16) ‖ for each member: len (uint8) ‖ connection id ‖ identity_key (32)
 *   hash   = SHA-256(input)
 *   group i (i = 0..5) = uint40 big-endian of hash[5i .. 5i+5) mod 100000, as 5 decimal digits with leading zeros
 *   display = the 6 groups separated by one space, e.g. "01234 56789 00000 99999 12345 67890"
 * </pre>
 *
 * <p>The SDKs show the code <em>with context</em> ({@link #of(Context, Collection)}), which also covers the channel
 * id, the E2EE mode and the frame format, so that members who agree on the code also agree on what kind of call
 * they are in:
 *
 * <pre>
 *   input  = "Veil 1.1 room code" ‖ len (uint8) ‖ channel id (UTF-8) ‖ mode (uint8) ‖ format (uint8)
 *            ‖ cipher suite (uint16) ‖ n (uint16) ‖ for each member: len (uint8) ‖ connection id ‖ identity_key (32)
 *   mode   = 1 keys (group key manager), 2 passphrase;  format = 1 SFrame, 2 JFrame;
 *   cipher suite = the SFrame suite id (RFC 9605), 0 for JFrame
 * </pre>
 */
public final class VerificationCode {
    /** Number of 5-digit groups. */
    public static final int GROUPS = 6;
    private final byte[] hash;
    private final String display;

    private VerificationCode(byte[] hash) {
        this.hash = hash;
        StringBuilder b = new StringBuilder(GROUPS * 6 - 1);
        for (int g = 0; g < GROUPS; g++) {
            long v = 0;
            for (int i = 0; i < 5; i++) {
                v = v << 8 | (hash[5 * g + i] & 0xFF);
            }
            String d = Long.toString(v % 100_000);
            if (g > 0) {
                b.append(' ');
            }
            b.append("00000", 0, 5 - d.length()).append(d);
        }
        this.display = b.toString();
    }

    /** One member of the room as the code sees it. */
    public record Member(String connectionId, byte[] identityKey) {
        public Member {
            ConnectionIds.requireValid(connectionId);
            if (identityKey == null || identityKey.length != Identity.KEY_LENGTH) {
                throw new IllegalArgumentException("identity key must be 32 bytes");
            }
            identityKey = identityKey.clone();
        }

        @Override
        public byte[] identityKey() {
            return identityKey.clone();
        }

        public static Member of(Bundle b) {
            return new Member(b.connectionId(), b.identityKey());
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Member m && connectionId.equals(m.connectionId)
                    && Arrays.equals(identityKey, m.identityKey);
        }

        @Override
        public int hashCode() {
            return connectionId.hashCode();
        }

        @Override
        public String toString() {
            return "Member[" + connectionId + "]";
        }
    }

    /** Mode values of {@link Context}. */
    public static final int MODE_KEYS = 1;
    public static final int MODE_PASSPHRASE = 2;
    /** Format values of {@link Context}. */
    public static final int FORMAT_SFRAME = 1;
    public static final int FORMAT_JFRAME = 2;

    /** What the code covers besides the members: channel, E2EE mode, frame format and SFrame cipher suite. */
    public record Context(String channelId, int mode, int format, int cipherSuite) {
        public Context {
            ConnectionIds.requireValid(channelId);
            if (mode != MODE_KEYS && mode != MODE_PASSPHRASE) {
                throw new IllegalArgumentException("mode must be 1 (keys) or 2 (passphrase)");
            }
            if (format != FORMAT_SFRAME && format != FORMAT_JFRAME) {
                throw new IllegalArgumentException("format must be 1 (SFrame) or 2 (JFrame)");
            }
            if (cipherSuite < 0 || cipherSuite > 0xFFFF || (format == FORMAT_JFRAME) != (cipherSuite == 0)) {
                throw new IllegalArgumentException("cipher suite must be an SFrame suite id, or 0 for JFrame");
            }
        }
    }

    /**
     * The code with context: the one the SDKs show (docs/PROTOCOL.md §3.2).
     *
     * @throws IllegalArgumentException as {@link #of(Collection)}
     */
    public static VerificationCode of(Context context, Collection<Member> members) {
        return new VerificationCode(Fingerprint.sha256().digest(hashInput(context, members)));
    }

    /** The exact bytes the code with context hashes (for test vectors). */
    public static byte[] hashInput(Context context, Collection<Member> members) {
        java.util.Objects.requireNonNull(context, "context");
        byte[] v1 = hashInput(members);
        byte[] rest = Arrays.copyOfRange(v1, Labels.ROOM_CODE.length, v1.length); // n ‖ members
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        out.writeBytes(Labels.ROOM_CODE_CONTEXT);
        out.writeBytes(ConnectionIds.lengthPrefixed(context.channelId()));
        out.write(context.mode());
        out.write(context.format());
        out.write(context.cipherSuite() >>> 8);
        out.write(context.cipherSuite() & 0xFF);
        out.writeBytes(rest);
        return out.toByteArray();
    }

    /**
     * The code of a member set, without context (the key manager's view; the SDKs show
     * {@link #of(Context, Collection)}).
     *
     * @throws IllegalArgumentException if the set is empty, larger than 65535 or names a connection id twice
     */
    public static VerificationCode of(Collection<Member> members) {
        return new VerificationCode(hash(members));
    }

    /** The exact bytes that are hashed (for test vectors). */
    public static byte[] hashInput(Collection<Member> members) {
        if (members == null || members.isEmpty() || members.size() > 0xFFFF) {
            throw new IllegalArgumentException("a room has 1..65535 members");
        }
        List<Member> sorted = new ArrayList<>(members);
        sorted.sort((a, b) -> ConnectionIds.ORDER.compare(a.connectionId(), b.connectionId()));
        Set<String> seen = new HashSet<>();
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        out.writeBytes(Labels.ROOM_CODE);
        out.write(sorted.size() >>> 8);
        out.write(sorted.size() & 0xFF);
        for (Member m : sorted) {
            if (!seen.add(m.connectionId())) {
                throw new IllegalArgumentException("connection id listed twice");
            }
            out.writeBytes(ConnectionIds.lengthPrefixed(m.connectionId()));
            out.writeBytes(m.identityKey);
        }
        return out.toByteArray();
    }

    private static byte[] hash(Collection<Member> members) {
        return Fingerprint.sha256().digest(hashInput(members));
    }

    /** The 32-byte SHA-256 the code is read from (a copy). */
    public byte[] hash() {
        return hash.clone();
    }

    /** The 30-digit code in 6 groups of 5. */
    public String display() {
        return display;
    }

    /** Constant-time comparison with a code read out by another member (spaces ignored). */
    public boolean matches(String other) {
        if (other == null) {
            return false;
        }
        byte[] a = display.replace(" ", "").getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        byte[] b = other.replace(" ", "").getBytes(java.nio.charset.StandardCharsets.UTF_8);
        return MessageDigest.isEqual(a, b);
    }

    /** Constant-time over the hash. */
    @Override
    public boolean equals(Object o) {
        return o instanceof VerificationCode c && MessageDigest.isEqual(hash, c.hash);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(hash);
    }

    @Override
    public String toString() {
        return display;
    }
}
