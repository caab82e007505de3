package dev.veil.webrtc.srtp;

import java.security.GeneralSecurityException;
import java.util.Arrays;
import java.util.Objects;

/**
 * The SRTP master keys and salts of one DTLS-SRTP association, both directions.
 *
 * <p>DTLS exports {@code 2 * (key + salt)} bytes with the label "EXTRACTOR-dtls_srtp" (RFC 5764 §4.2); they
 * split as:
 *
 * <pre>
 * client_write_SRTP_master_key | server_write_SRTP_master_key |
 * client_write_SRTP_master_salt | server_write_SRTP_master_salt
 * </pre>
 *
 * <p>This is the seam between the DTLS engine and SRTP (the DTLS engine produces it, {@link SrtpSession} consumes
 * it). Key bytes are never shown by {@link #toString()}; {@link #destroy()} zeroes them once the sessions are
 * made.
 */
public final class SrtpKeyingMaterial {
    private final SrtpProfile profile;
    private final byte[] clientKey;
    private final byte[] clientSalt;
    private final byte[] serverKey;
    private final byte[] serverSalt;

    private SrtpKeyingMaterial(SrtpProfile profile, byte[] clientKey, byte[] clientSalt, byte[] serverKey,
            byte[] serverSalt) {
        this.profile = profile;
        this.clientKey = clientKey;
        this.clientSalt = clientSalt;
        this.serverKey = serverKey;
        this.serverSalt = serverSalt;
    }

    /**
     * Splits the output of the DTLS exporter.
     *
     * @throws GeneralSecurityException if {@code exported} is not {@link SrtpProfile#exportLength()} bytes long
     */
    public static SrtpKeyingMaterial fromDtlsExport(SrtpProfile profile, byte[] exported)
            throws GeneralSecurityException {
        Objects.requireNonNull(profile, "profile");
        Objects.requireNonNull(exported, "exported");
        if (exported.length != profile.exportLength()) {
            throw new GeneralSecurityException("DTLS-SRTP export must be " + profile.exportLength()
                    + " bytes for " + profile + ", got " + exported.length);
        }
        int k = profile.keyLength();
        int s = profile.saltLength();
        return new SrtpKeyingMaterial(profile,
                Arrays.copyOfRange(exported, 0, k),
                Arrays.copyOfRange(exported, 2 * k, 2 * k + s),
                Arrays.copyOfRange(exported, k, 2 * k),
                Arrays.copyOfRange(exported, 2 * k + s, 2 * k + 2 * s));
    }

    /** Master keys given directly (tests, or SDES-style keying). Arrays are copied. */
    public static SrtpKeyingMaterial of(SrtpProfile profile, byte[] clientKey, byte[] clientSalt, byte[] serverKey,
            byte[] serverSalt) throws GeneralSecurityException {
        Objects.requireNonNull(profile, "profile");
        check(clientKey, profile.keyLength(), "clientKey");
        check(serverKey, profile.keyLength(), "serverKey");
        check(clientSalt, profile.saltLength(), "clientSalt");
        check(serverSalt, profile.saltLength(), "serverSalt");
        return new SrtpKeyingMaterial(profile, clientKey.clone(), clientSalt.clone(), serverKey.clone(),
                serverSalt.clone());
    }

    private static void check(byte[] b, int len, String name) throws GeneralSecurityException {
        Objects.requireNonNull(b, name);
        if (b.length != len) {
            throw new GeneralSecurityException(name + " must be " + len + " bytes, got " + b.length);
        }
    }

    /** The negotiated protection profile. */
    public SrtpProfile profile() {
        return profile;
    }

    byte[] clientKey() {
        return clientKey;
    }

    byte[] clientSalt() {
        return clientSalt;
    }

    byte[] serverKey() {
        return serverKey;
    }

    byte[] serverSalt() {
        return serverSalt;
    }

    /**
     * Constant-time comparison of the key material (for tests that check both ends exported the same keys).
     */
    public boolean sameKeysAs(SrtpKeyingMaterial other) {
        if (other == null || other.profile != profile) {
            return false;
        }
        boolean eq = java.security.MessageDigest.isEqual(clientKey, other.clientKey);
        eq &= java.security.MessageDigest.isEqual(serverKey, other.serverKey);
        eq &= java.security.MessageDigest.isEqual(clientSalt, other.clientSalt);
        eq &= java.security.MessageDigest.isEqual(serverSalt, other.serverSalt);
        return eq;
    }

    /** Zeroes the key bytes. Sessions already made from this material keep working. */
    public void destroy() {
        Arrays.fill(clientKey, (byte) 0);
        Arrays.fill(clientSalt, (byte) 0);
        Arrays.fill(serverKey, (byte) 0);
        Arrays.fill(serverSalt, (byte) 0);
    }

    @Override
    public String toString() {
        return "SrtpKeyingMaterial[" + profile + ", keys redacted]";
    }
}
