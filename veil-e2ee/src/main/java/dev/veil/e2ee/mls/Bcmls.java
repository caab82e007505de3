package dev.veil.e2ee.mls;

import org.bouncycastle.mls.codec.MLSInputStream;
import org.bouncycastle.mls.codec.MLSMessage;
import org.bouncycastle.mls.codec.MLSOutputStream;
import org.bouncycastle.mls.crypto.MlsCipherSuite;

/**
 * The seam to BouncyCastle's MLS (bcmls). Two shortfalls of bcmls 1.84 are handled here (see docs/SECURITY.md, MLS key
 * mode):
 *
 * <ul>
 *   <li>{@code MlsCipherSuite.getSuite(id)} returns one static instance per suite whose {@code BcMlsAead} holds a
 *       single {@code GCMBlockCipher} (and whose KDF and signer are shared too), and bcmls resolves that same instance
 *       whenever it decodes a key package, welcome or group info. Two groups used on two threads at once would
 *       interleave {@code init}/{@code doFinal} on one cipher. Every bcmls call in this package therefore runs under
 *       {@link #LOCK} ({@code MlsCipherSuiteSharingTest} shows the sharing).</li>
 *   <li>Its decoders throw unchecked exceptions (and plain {@code Exception}) on malformed input; {@link #decode}
 *       turns every failure into an {@link MlsException}.</li>
 * </ul>
 */
final class Bcmls {
    /** Serializes every use of bcmls in this JVM (see the class comment). */
    static final Object LOCK = new Object();

    /** MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519, the only suite this mode uses. */
    static final short SUITE_ID = MlsCipherSuite.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519;

    /** Largest MLS message accepted (a commit adding many members with a full path stays far below). */
    static final int MAX_MESSAGE_BYTES = 1 << 20;

    private Bcmls() {
    }

    static MlsCipherSuite suite() {
        try {
            return MlsCipherSuite.getSuite(SUITE_ID);
        } catch (Exception e) {
            throw new IllegalStateException("bcmls lacks cipher suite 1", e);
        }
    }

    static MLSMessage decode(byte[] bytes) throws MlsException {
        if (bytes == null || bytes.length == 0) {
            throw new MlsException("empty MLS message");
        }
        if (bytes.length > MAX_MESSAGE_BYTES) {
            throw new MlsException("MLS message of " + bytes.length + " bytes exceeds " + MAX_MESSAGE_BYTES);
        }
        try {
            MLSMessage m = (MLSMessage) MLSInputStream.decode(bytes, MLSMessage.class);
            if (m == null) {
                throw new MlsException("undecodable MLS message");
            }
            return m;
        } catch (MlsException e) {
            throw e;
        } catch (Exception | StackOverflowError | OutOfMemoryError e) {
            throw new MlsException("malformed MLS message", e instanceof Exception ? e : null);
        }
    }

    static byte[] encode(Object o) {
        try {
            return MLSOutputStream.encode(o);
        } catch (Exception e) {
            throw new IllegalStateException("MLS encoding failed", e);
        }
    }
}
