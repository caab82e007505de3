package dev.veil.webrtc.dtls;

import java.util.Vector;
import org.bouncycastle.tls.CipherSuite;
import org.bouncycastle.tls.NamedGroup;
import org.bouncycastle.tls.ProtocolVersion;
import org.bouncycastle.tls.SignatureAlgorithm;
import org.bouncycastle.tls.SignatureAndHashAlgorithm;
import org.bouncycastle.tls.HashAlgorithm;

/** Settings shared by Veil's BouncyCastle DTLS server and client peers. */
final class BcPeerSupport {
    private BcPeerSupport() {
    }

    /** DTLS 1.2 only: BouncyCastle's default list is TLS and would fail with protocol_version. */
    static ProtocolVersion[] versions() {
        return ProtocolVersion.DTLSv12.only();
    }

    /** ECDHE-ECDSA with AES-GCM, 128-bit first (what browsers negotiate). */
    static int[] cipherSuites() {
        return new int[] {CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
            CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384};
    }

    static int[] groups() {
        return new int[] {NamedGroup.x25519, NamedGroup.secp256r1, NamedGroup.secp384r1};
    }

    /** Our certificate is P-256: sign with ECDSA over SHA-256. */
    static SignatureAndHashAlgorithm ecdsaSha256() {
        return SignatureAndHashAlgorithm.getInstance(HashAlgorithm.sha256, SignatureAlgorithm.ecdsa);
    }

    /** What we accept from a peer's CertificateVerify: ECDSA and RSA (PKCS#1 and PSS) with SHA-2. */
    static Vector<SignatureAndHashAlgorithm> peerSignatureAlgorithms() {
        Vector<SignatureAndHashAlgorithm> v = new Vector<>();
        v.add(SignatureAndHashAlgorithm.getInstance(HashAlgorithm.sha256, SignatureAlgorithm.ecdsa));
        v.add(SignatureAndHashAlgorithm.getInstance(HashAlgorithm.sha384, SignatureAlgorithm.ecdsa));
        v.add(SignatureAndHashAlgorithm.getInstance(HashAlgorithm.sha512, SignatureAlgorithm.ecdsa));
        v.add(SignatureAndHashAlgorithm.rsa_pss_rsae_sha256);
        v.add(SignatureAndHashAlgorithm.rsa_pss_rsae_sha384);
        v.add(SignatureAndHashAlgorithm.getInstance(HashAlgorithm.sha256, SignatureAlgorithm.rsa));
        v.add(SignatureAndHashAlgorithm.getInstance(HashAlgorithm.sha384, SignatureAlgorithm.rsa));
        return v;
    }
}
