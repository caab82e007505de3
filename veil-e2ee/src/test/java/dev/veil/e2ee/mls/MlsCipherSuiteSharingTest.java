package dev.veil.e2ee.mls;

import static org.junit.jupiter.api.Assertions.assertSame;

import org.bouncycastle.mls.crypto.MlsCipherSuite;
import org.junit.jupiter.api.Test;

/**
 * Documents a bcmls 1.84 shortfall the project works around ({@link Bcmls#LOCK}): every lookup of suite 1 returns
 * the same object, with one shared AEAD (a single GCMBlockCipher it re-inits per call), KDF and signer, so bcmls is
 * not safe to use from two threads at once, even for two unrelated groups.
 */
class MlsCipherSuiteSharingTest {
    @Test
    void everyGroupSharesOneMutableCipherSuite() throws Exception {
        MlsCipherSuite a = MlsCipherSuite.getSuite(MlsCipherSuite.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519);
        MlsCipherSuite b = MlsCipherSuite.getSuite(MlsCipherSuite.MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519);
        assertSame(a, b);
        assertSame(a.getAEAD(), b.getAEAD());
        assertSame(a.getKDF(), b.getKDF());
        MlsKeyPackage kp = MlsKeyPackage.create(new byte[] {1});
        assertSame(a, MlsKeyPackage.parse(kp.bytes()).getSuite(), "decoding resolves the same shared instance");
    }
}
