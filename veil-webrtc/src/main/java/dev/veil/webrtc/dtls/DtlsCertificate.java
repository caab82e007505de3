package dev.veil.webrtc.dtls;

import dev.veil.webrtc.sdp.DtlsFingerprint;
import java.io.IOException;
import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Date;
import java.util.Objects;
import org.bouncycastle.asn1.sec.SECObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x9.X9ECParameters;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.crypto.AsymmetricCipherKeyPair;
import org.bouncycastle.crypto.ec.CustomNamedCurves;
import org.bouncycastle.crypto.generators.ECKeyPairGenerator;
import org.bouncycastle.crypto.params.AsymmetricKeyParameter;
import org.bouncycastle.crypto.params.ECKeyGenerationParameters;
import org.bouncycastle.crypto.params.ECNamedDomainParameters;
import org.bouncycastle.crypto.util.SubjectPublicKeyInfoFactory;
import org.bouncycastle.operator.DefaultDigestAlgorithmIdentifierFinder;
import org.bouncycastle.operator.DefaultSignatureAlgorithmIdentifierFinder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.bc.BcECContentSignerBuilder;

/**
 * A self-signed ECDSA P-256 certificate for DTLS, made once at start-up, and its SDP fingerprint.
 *
 * <p>WebRTC peers do not validate the chain: each checks that the other's certificate hashes to the
 * {@code a=fingerprint} of its SDP (RFC 8122, RFC 8827 §6.5). So the subject is a fixed "CN=veil" and the
 * validity period (one day back, one year forward from the {@code nowMillis} the caller passes) only needs to
 * be plausible. The private key never leaves this object; {@link #toString()} shows the fingerprint only.
 */
public final class DtlsCertificate {
    private static final long DAY_MILLIS = 24L * 3600 * 1000;

    private final byte[] der;
    private final AsymmetricKeyParameter privateKey;
    private final DtlsFingerprint fingerprint;

    private DtlsCertificate(byte[] der, AsymmetricKeyParameter privateKey) {
        this.der = der;
        this.privateKey = privateKey;
        this.fingerprint = DtlsFingerprint.sha256(der);
    }

    /**
     * Makes a fresh key pair and certificate.
     *
     * @param random source of the key and serial number
     * @param nowMillis the caller's wall clock (veil-webrtc has none of its own), for the validity period
     */
    public static DtlsCertificate generate(SecureRandom random, long nowMillis) throws GeneralSecurityException {
        Objects.requireNonNull(random, "random");
        X9ECParameters curve = CustomNamedCurves.getByOID(SECObjectIdentifiers.secp256r1);
        ECKeyPairGenerator gen = new ECKeyPairGenerator();
        gen.init(new ECKeyGenerationParameters(new ECNamedDomainParameters(SECObjectIdentifiers.secp256r1, curve),
                random));
        AsymmetricCipherKeyPair kp = gen.generateKeyPair();
        try {
            X500Name name = new X500Name("CN=veil");
            BigInteger serial = new BigInteger(63, random).add(BigInteger.ONE);
            X509v3CertificateBuilder builder = new X509v3CertificateBuilder(name, serial,
                    new Date(nowMillis - DAY_MILLIS), new Date(nowMillis + 365 * DAY_MILLIS), name,
                    SubjectPublicKeyInfoFactory.createSubjectPublicKeyInfo(kp.getPublic()));
            AlgorithmIdentifier sigAlg = new DefaultSignatureAlgorithmIdentifierFinder().find("SHA256withECDSA");
            AlgorithmIdentifier digAlg = new DefaultDigestAlgorithmIdentifierFinder().find(sigAlg);
            X509CertificateHolder holder = builder.build(
                    new BcECContentSignerBuilder(sigAlg, digAlg).setSecureRandom(random).build(kp.getPrivate()));
            return new DtlsCertificate(holder.getEncoded(), kp.getPrivate());
        } catch (IOException | OperatorCreationException e) {
            throw new GeneralSecurityException("could not build the DTLS certificate", e);
        }
    }

    /** The SHA-256 fingerprint for {@code a=fingerprint:sha-256 AB:CD:...}. */
    public DtlsFingerprint fingerprint() {
        return fingerprint;
    }

    /** The certificate in DER (a copy). */
    public byte[] encoded() {
        return der.clone();
    }

    AsymmetricKeyParameter privateKey() {
        return privateKey;
    }

    byte[] der() {
        return der;
    }

    @Override
    public String toString() {
        return "DtlsCertificate[" + fingerprint.toSdpValue() + "]";
    }
}
