package dev.veil.webrtc.dtls;

import dev.veil.webrtc.srtp.SrtpProfile;
import java.io.IOException;
import java.security.SecureRandom;
import java.util.Hashtable;
import java.util.Objects;
import java.util.Vector;
import java.util.concurrent.Executor;
import org.bouncycastle.tls.AlertDescription;
import org.bouncycastle.tls.Certificate;
import org.bouncycastle.tls.CertificateRequest;
import org.bouncycastle.tls.DTLSClientProtocol;
import org.bouncycastle.tls.DTLSTransport;
import org.bouncycastle.tls.DefaultTlsClient;
import org.bouncycastle.tls.ExporterLabel;
import org.bouncycastle.tls.NamedGroup;
import org.bouncycastle.tls.ProtocolVersion;
import org.bouncycastle.tls.TlsAuthentication;
import org.bouncycastle.tls.TlsCredentials;
import org.bouncycastle.tls.TlsFatalAlert;
import org.bouncycastle.tls.TlsSRTPUtils;
import org.bouncycastle.tls.TlsServerCertificate;
import org.bouncycastle.tls.TlsUtils;
import org.bouncycastle.tls.UseSRTPData;
import org.bouncycastle.tls.crypto.TlsCertificate;
import org.bouncycastle.tls.crypto.TlsCryptoParameters;
import org.bouncycastle.tls.crypto.impl.bc.BcDefaultTlsCredentialedSigner;
import org.bouncycastle.tls.crypto.impl.bc.BcTlsCrypto;

/**
 * The DTLS 1.2 client of one peer connection: the Java SDK's ({@code a=setup:active}), and the server's when an
 * answer says {@code a=setup:passive} (see {@code WebRtcTransport#setRemoteSetup}).
 *
 * <p>Offers use_srtp with {@link DtlsConfig#srtpProfiles()} in that order, requires extended master secret,
 * presents our certificate when asked, checks the server's against {@link #setRemoteFingerprint} and exports
 * the SRTP keys like the server. {@link #start(long)} sends the ClientHello. See {@link DtlsEngine} for the
 * executor seam, events and threading.
 */
public final class DtlsClientEngine extends DtlsEngine {
    private final SecureRandom random;

    public DtlsClientEngine(DtlsCertificate certificate, DtlsConfig config, Executor executor, Runnable wakeup,
            SecureRandom random) {
        super(certificate, config, executor, wakeup);
        this.random = Objects.requireNonNull(random, "random");
    }

    /** Starts the handshake (the ClientHello is then collected with {@link #pollTransmit()}). Idempotent. */
    public void start(long nowMillis) {
        synchronized (lock()) {
            if (stateLocked() == State.NEW) {
                startLocked(nowMillis);
            }
        }
    }

    @Override
    DTLSTransport runHandshake(QueueDatagramTransport t) throws IOException {
        return new DTLSClientProtocol().connect(new Client(new BcTlsCrypto(random)), t);
    }

    @SuppressWarnings({"rawtypes", "unchecked"}) // BouncyCastle's API uses raw Hashtable and Vector
    private final class Client extends DefaultTlsClient {
        private final BcTlsCrypto crypto;
        private SrtpProfile chosen;
        private byte[] peerCertificate;

        Client(BcTlsCrypto crypto) {
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
        protected Vector getSupportedGroups(Vector namedGroupRoles) {
            Vector<Integer> groups = new Vector<>();
            TlsUtils.addIfSupported(groups, crypto, BcPeerSupport.groups());
            return groups;
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
        public Hashtable getClientExtensions() throws IOException {
            Hashtable ext = super.getClientExtensions();
            if (ext == null) {
                ext = new Hashtable();
            }
            int[] ids = config.srtpProfiles().stream().mapToInt(SrtpProfile::dtlsId).toArray();
            TlsSRTPUtils.addUseSRTPExtension(ext, new UseSRTPData(ids, TlsUtils.EMPTY_BYTES));
            return ext;
        }

        @Override
        public void processServerExtensions(Hashtable serverExtensions) throws IOException {
            super.processServerExtensions(serverExtensions);
            UseSRTPData answer = serverExtensions == null ? null : TlsSRTPUtils.getUseSRTPExtension(serverExtensions);
            if (answer == null || answer.getProtectionProfiles().length != 1) {
                pendingFailure = DtlsFailure.NO_COMMON_SRTP_PROFILE;
                pendingFailureDetail = "server did not select exactly one SRTP profile";
                throw new TlsFatalAlert(AlertDescription.illegal_parameter, "bad use_srtp answer");
            }
            int id = answer.getProtectionProfiles()[0];
            for (SrtpProfile p : config.srtpProfiles()) {
                if (p.dtlsId() == id) {
                    chosen = p;
                    return;
                }
            }
            pendingFailure = DtlsFailure.NO_COMMON_SRTP_PROFILE;
            pendingFailureDetail = "server selected an SRTP profile we did not offer: " + id;
            throw new TlsFatalAlert(AlertDescription.illegal_parameter, "unoffered SRTP profile");
        }

        @Override
        public TlsAuthentication getAuthentication() {
            return new TlsAuthentication() {
                @Override
                public void notifyServerCertificate(TlsServerCertificate serverCertificate) throws IOException {
                    Certificate chain = serverCertificate.getCertificate();
                    if (chain == null || chain.isEmpty()) {
                        pendingFailure = DtlsFailure.PEER_CERTIFICATE_MISSING;
                        pendingFailureDetail = "server sent no certificate";
                        throw new TlsFatalAlert(AlertDescription.handshake_failure);
                    }
                    peerCertificate = chain.getCertificateAt(0).getEncoded();
                    checkPeerCertificateDuringHandshake(peerCertificate);
                }

                @Override
                public TlsCredentials getClientCredentials(CertificateRequest request) throws IOException {
                    TlsCertificate cert = crypto.createCertificate(certificate.der());
                    return new BcDefaultTlsCredentialedSigner(new TlsCryptoParameters(context), crypto,
                            certificate.privateKey(), new Certificate(new TlsCertificate[] {cert}),
                            BcPeerSupport.ecdsaSha256());
                }
            };
        }

        @Override
        public void notifyHandshakeComplete() throws IOException {
            super.notifyHandshakeComplete();
            byte[] exported = context.exportKeyingMaterial(ExporterLabel.dtls_srtp, null, chosen.exportLength());
            handshakeFinished(chosen, exported, peerCertificate);
        }
    }
}
