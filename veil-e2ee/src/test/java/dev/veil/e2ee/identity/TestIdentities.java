package dev.veil.e2ee.identity;

import java.util.List;

/** The fixed identities every keys-*.json vector file uses (private keys = SHA-256 of a name, see VectorFiles). */
public final class TestIdentities {
    /** name, connection id. The last two ids order differently in UTF-8 and in UTF-16. */
    public static final List<String[]> MEMBERS = List.of(
            new String[] {"alice", "6F9ZQ0Y8RX3BKTT2H0N1D5SVKC"},
            new String[] {"bob", "0SS3B2Q6G5JBNBR9XWWZ7EZWG8"},
            new String[] {"carol", "K6MC2XYD4W7V1RP2N9E2B0ZQ6M"},
            new String[] {"dave", "\uE000-dave"},
            new String[] {"erin", "\uD83D\uDE00-erin"});

    private TestIdentities() {
    }

    public static byte[] edSeed(String name) {
        return VectorFiles.seed("veil vector " + name + " ed25519");
    }

    public static byte[] kxPrivate(String name) {
        return VectorFiles.seed("veil vector " + name + " x25519");
    }

    public static Identity identity(String name) {
        return Identity.fromPrivateKeys(edSeed(name), kxPrivate(name));
    }

    public static String connectionId(String name) {
        for (String[] m : MEMBERS) {
            if (m[0].equals(name)) {
                return m[1];
            }
        }
        throw new IllegalArgumentException(name);
    }

    public static Bundle bundle(String name) {
        return identity(name).bundle(connectionId(name));
    }
}
