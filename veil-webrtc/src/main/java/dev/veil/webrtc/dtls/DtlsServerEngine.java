package dev.veil.webrtc.dtls;

import dev.veil.webrtc.srtp.SrtpProfile;
import java.io.IOException;
import java.security.SecureRandom;
import java.util.Hashtable;
import java.util.Objects;
import java.util.concurrent.Executor;
import org.bouncycastle.tls.AlertDescription;
import org.bouncycastle.tls.Certificate;
import org.bouncycastle.tls.CertificateRequest;
import org.bouncycastle.tls.ClientCertificateType;
import org.bouncycastle.tls.DTLSServerProtocol;
import org.bouncycastle.tls.DTLSTransport;
import org.bouncycastle.tls.DefaultTlsServer;
import org.bouncycastle.tls.ExporterLabel;
import org.bouncycastle.tls.ProtocolVersion;
import org.bouncycastle.tls.TlsCredentialedSigner;
import org.bouncycastle.tls.TlsFatalAlert;
import org.bouncycastle.tls.TlsSRTPUtils;
import org.bouncycastle.tls.TlsUtils;
import org.bouncycastle.tls.UseSRTPData;
import org.bouncycastle.tls.crypto.TlsCertificate;
import org.bouncycastle.tls.crypto.TlsCryptoParameters;
import org.bouncycastle.tls.crypto.impl.bc.BcDefaultTlsCredentialedSigner;
import org.bouncycastle.tls.crypto.impl.bc.BcTlsCrypto;

/**
 * The DTLS 1.2 server of one WebRTC peer connection (Veil offers {@code a=setup:actpass}, browsers answer
 * {@code active} and connect to us).
 *
 * <ul>
 *   <li>Cipher suites TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 (then _256_GCM_SHA384); groups x25519, P-256,
 *       P-384; extended master secret required (RFC 7627); no HelloVerifyRequest cookie (ICE already proved
 *       the address, and BouncyCastle cannot verify Chromium's fragmented ClientHello).</li>
 *   <li>use_srtp (RFC 5764): the client's offer is matched against {@link DtlsConfig#srtpProfiles()} in
 *       <em>our</em> order, so Chromium (which lists AES_CM first) gets AEAD_AES_128_GCM.</li>
 *   <li>A CertificateRequest makes the client present its certificate, which must hash to the fingerprint of
 *       its SDP answer ({@link #setRemoteFingerprint}).</li>
 *   <li>On completion the SRTP keying material is exported with "EXTRACTOR-dtls_srtp" inside
 *       {@code notifyHandshakeComplete} (BouncyCastle clears the master secret after {@code accept} returns).</li>
 * </ul>
 *
 * <p>The handshake worker is submitted to the executor when the first datagram arrives. See {@link DtlsEngine}
 * for the executor seam, events and threading.
 */
public final class DtlsServerEngine extends DtlsEngine {
    private final SecureRandom random;

    /**
     * @param certificate our certificate (shared by all peer connections)
     * @param config SRTP profile preference, MTU, handshake deadline
     * @param executor runs the blocking handshake; supplied by the caller, must use another thread
     * @param wakeup called from the worker thread when there is output or an event to collect; should schedule
     *     {@link #poll(long)} (or the owning transport's poll) on the caller's loop
     * @param random randomness for the handshake
     */
    public DtlsServerEngine(DtlsCertificate certificate, DtlsConfig config, Executor executor, Runnable wakeup,
            SecureRandom random) {
        super(certificate, config, executor, wakeup);
        this.random = Objects.requireNonNull(random, "random");
    }

    @Override
    void onDatagramLocked(long nowMillis) {
        if (stateLocked() == State.NEW) {
            startLocked(nowMillis);
        }
    }

    @Override
    DTLSTransport runHandshake(QueueDatagramTransport t) throws IOException {
        DTLSServerProtocol protocol = new DTLSServerProtocol();
        protocol.setVerifyRequests(false);
        return protocol.accept(new Server(new BcTlsCrypto(random)), t);
    }

    @SuppressWarnings({"rawtypes", "unchecked"}) // BouncyCastle's API uses raw Hashtable and Vector
    private final class Server extends DefaultTlsServer {
        private final BcTlsCrypto crypto;
        private SrtpProfile chosen;
        private byte[] peerCertificate;

        Server(BcTlsCrypto crypto) {
            super(crypto);
            this.crypto = crypto;
        }

        @Override
        protected ProtocolVersion[] getSupportedVersions() {
            return BcPeerSupport.versions();
        }

        @Override
        protected int[] getSupportedCipherSuites() {
            return TlsUtils.getSupportedCipherSuites(crypto, BcPeerSupport.cipherSuites());
        }

        @Override
        public int[] getSupportedGroups() {
            return BcPeerSupport.groups();
        }

        @Override
        public boolean requiresExtendedMasterSecret() {
            return true;
        }

        @Override
        public int getHandshakeTimeoutMillis() {
            return config.handshakeTimeoutMillis();
        }

        @Override
        protected TlsCredentialedSigner getECDSASignerCredentials() throws IOException {
            TlsCertificate cert = crypto.createCertificate(certificate.der());
            return new BcDefaultTlsCredentialedSigner(new TlsCryptoParameters(context), crypto,
                    certificate.privateKey(), new Certificate(new TlsCertificate[] {cert}),
                    BcPeerSupport.ecdsaSha256());
        }

        @Override
        public void processClientExtensions(Hashtable clientExtensions) throws IOException {
            super.processClientExtensions(clientExtensions);
            UseSRTPData offered = clientExtensions == null ? null : TlsSRTPUtils.getUseSRTPExtension(clientExtensions);
            if (offered == null) {
                pendingFailure = DtlsFailure.NO_COMMON_SRTP_PROFILE;
                pendingFailureDetail = "client did not offer use_srtp";
                throw new TlsFatalAlert(AlertDescription.handshake_failure, "no use_srtp");
            }
            for (SrtpProfile p : config.srtpProfiles()) {
                for (int id : offered.getProtectionProfiles()) {
                    if (id == p.dtlsId()) {
                        chosen = p;
                        return;
                    }
                }
            }
            pendingFailure = DtlsFailure.NO_COMMON_SRTP_PROFILE;
            pendingFailureDetail = "no SRTP protection profile in common with the client";
            throw new TlsFatalAlert(AlertDescription.handshake_failure, "no common SRTP profile");
        }

        @Override
        public Hashtable getServerExtensions() throws IOException {
            Hashtable ext = super.getServerExtensions();
            TlsSRTPUtils.addUseSRTPExtension(ext, new UseSRTPData(new int[] {chosen.dtlsId()}, TlsUtils.EMPTY_BYTES));
            return ext;
        }

        @Override
        public CertificateRequest getCertificateRequest() {
            return new CertificateRequest(new short[] {ClientCertificateType.ecdsa_sign, ClientCertificateType.rsa_sign},
                    BcPeerSupport.peerSignatureAlgorithms(), null);
        }

        @Override
        public void notifyClientCertificate(Certificate clientCertificate) throws IOException {
            if (clientCertificate == null || clientCertificate.isEmpty()) {
                pendingFailure = DtlsFailure.PEER_CERTIFICATE_MISSING;
                pendingFailureDetail = "client sent no certificate";
                throw new TlsFatalAlert(AlertDescription.handshake_failure, "client certificate required");
            }
            peerCertificate = clientCertificate.getCertificateAt(0).getEncoded();
            checkPeerCertificateDuringHandshake(peerCertificate);
        }

        @Override
        public void notifyHandshakeComplete() throws IOException {
            super.notifyHandshakeComplete();
            byte[] exported = context.exportKeyingMaterial(ExporterLabel.dtls_srtp, null, chosen.exportLength());
            handshakeFinished(chosen, exported, peerCertificate);
        }
    }
}
