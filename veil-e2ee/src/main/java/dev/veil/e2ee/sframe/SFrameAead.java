package dev.veil.e2ee.sframe;

import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.Mac;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.IvParameterSpec;

/**
 * The AEAD of one cipher suite with reusable JCE objects and scratch buffers (one instance per sender or receiver,
 * so it is confined to one thread like them). AAD is always given in two parts: {@code header ‖ metadata}.
 *
 * <p>GCM suites: JCE {@code AES/GCM/NoPadding}, nonce = salt XOR CTR, 128-bit tag.
 *
 * <p>CTR+HMAC suites (RFC 9605 section 4.5.1):
 * <pre>
 *   enc_key = sframe_key[..16], auth_key = sframe_key[16..]
 *   ct      = AES-128-CTR(enc_key, initial counter block = nonce ‖ 00 00 00 00, pt)
 *   tag     = truncate(HMAC-SHA256(auth_key, len(aad) (8 B) ‖ len(ct) (8 B) ‖ Nt (8 B) ‖ nonce ‖ aad ‖ ct), Nt)
 * </pre>
 * The tag is verified (constant time) before anything is decrypted.
 */
final class SFrameAead {
    private final CipherSuite suite;
    private final Cipher cipher;
    private final Mac mac;
    private final byte[] nonce = new byte[CipherSuite.NONCE_LENGTH];
    private final byte[] ctrBlock = new byte[16];
    private final byte[] lengths = new byte[24];
    private final byte[] macOut;
    private final byte[] expectedTag;
    private final byte[] receivedTag;
    /** header ‖ metadata, so GCM gets one updateAAD call (JDK 17 buffers every call's AAD separately). */
    private byte[] aadScratch = new byte[SFrameHeader.MAX_LENGTH + 16];

    SFrameAead(CipherSuite suite) {
        this.suite = suite;
        try {
            if (suite.isGcm()) {
                cipher = Cipher.getInstance("AES/GCM/NoPadding");
                mac = null;
                macOut = null;
                expectedTag = null;
                receivedTag = null;
            } else {
                cipher = Cipher.getInstance("AES/CTR/NoPadding");
                mac = Mac.getInstance("HmacSHA256");
                macOut = new byte[mac.getMacLength()];
                expectedTag = new byte[suite.tagLength()];
                receivedTag = new byte[suite.tagLength()];
            }
        } catch (GeneralSecurityException e) {
            // AES/GCM, AES/CTR and HmacSHA256 are mandatory in every Java 17 runtime.
            throw new IllegalStateException("JCE algorithm unavailable", e);
        }
    }

    CipherSuite suite() {
        return suite;
    }

    /** nonce = salt XOR (CTR as Nn-byte big-endian). */
    private void makeNonce(SFrameKey key, long ctr) {
        System.arraycopy(key.salt, 0, nonce, 0, nonce.length);
        for (int i = 0; i < 8; i++) {
            nonce[nonce.length - 1 - i] ^= (byte) (ctr >>> (8 * i));
        }
    }

    /** For tests: the nonce of (key, ctr). */
    byte[] nonceFor(SFrameKey key, long ctr) {
        makeNonce(key, ctr);
        return nonce.clone();
    }

    /** Encrypts {@code pt} into {@code out}: ciphertext then tag. Returns {@code ptLen + Nt}. */
    int seal(SFrameKey key, long ctr, byte[] aad1, int a1Off, int a1Len, byte[] aad2, int a2Off, int a2Len,
             byte[] pt, int ptOff, int ptLen, byte[] out, int outOff) throws GeneralSecurityException {
        makeNonce(key, ctr);
        if (suite.isGcm()) {
            cipher.init(Cipher.ENCRYPT_MODE, key.encKey, new GCMParameterSpec(128, nonce));
            gcmAad(aad1, a1Off, a1Len, aad2, a2Off, a2Len);
            return cipher.doFinal(pt, ptOff, ptLen, out, outOff);
        }
        startCtr(Cipher.ENCRYPT_MODE, key);
        int n = ptLen == 0 ? 0 : cipher.doFinal(pt, ptOff, ptLen, out, outOff);
        computeTag(key, aad1, a1Off, a1Len, aad2, a2Off, a2Len, out, outOff, n);
        System.arraycopy(macOut, 0, out, outOff + n, suite.tagLength());
        return n + suite.tagLength();
    }

    /**
     * Authenticates and decrypts {@code in[inOff, inOff + inLen)} (ciphertext ‖ tag) into {@code out}. Returns
     * false (and writes no plaintext for CTR+HMAC) if the tag does not verify.
     */
    boolean open(SFrameKey key, long ctr, byte[] aad1, int a1Off, int a1Len, byte[] aad2, int a2Off, int a2Len,
                 byte[] in, int inOff, int inLen, byte[] out, int outOff) {
        makeNonce(key, ctr);
        try {
            if (suite.isGcm()) {
                cipher.init(Cipher.DECRYPT_MODE, key.encKey, new GCMParameterSpec(128, nonce));
                gcmAad(aad1, a1Off, a1Len, aad2, a2Off, a2Len);
                cipher.doFinal(in, inOff, inLen, out, outOff);
                return true;
            }
            int nt = suite.tagLength();
            int ctLen = inLen - nt;
            computeTag(key, aad1, a1Off, a1Len, aad2, a2Off, a2Len, in, inOff, ctLen);
            System.arraycopy(macOut, 0, expectedTag, 0, nt);
            System.arraycopy(in, inOff + ctLen, receivedTag, 0, nt);
            if (!MessageDigest.isEqual(expectedTag, receivedTag)) {
                return false;
            }
            if (ctLen > 0) {
                startCtr(Cipher.DECRYPT_MODE, key);
                cipher.doFinal(in, inOff, ctLen, out, outOff);
            }
            return true;
        } catch (AEADBadTagException e) {
            return false;
        } catch (GeneralSecurityException e) {
            // Keys and parameters are built here and valid; the caller checked the output size.
            throw new IllegalStateException("frame decryption failed unexpectedly", e);
        }
    }

    private void gcmAad(byte[] aad1, int a1Off, int a1Len, byte[] aad2, int a2Off, int a2Len) {
        if (a2Len == 0) {
            cipher.updateAAD(aad1, a1Off, a1Len);
            return;
        }
        int total = a1Len + a2Len;
        if (total > aadScratch.length) {
            aadScratch = new byte[Math.max(total, 2 * aadScratch.length)];
        }
        System.arraycopy(aad1, a1Off, aadScratch, 0, a1Len);
        System.arraycopy(aad2, a2Off, aadScratch, a1Len, a2Len);
        cipher.updateAAD(aadScratch, 0, total);
    }

    private void startCtr(int mode, SFrameKey key) throws GeneralSecurityException {
        System.arraycopy(nonce, 0, ctrBlock, 0, nonce.length);
        ctrBlock[12] = 0;
        ctrBlock[13] = 0;
        ctrBlock[14] = 0;
        ctrBlock[15] = 0;
        cipher.init(mode, key.encKey, new IvParameterSpec(ctrBlock));
    }

    private void computeTag(SFrameKey key, byte[] aad1, int a1Off, int a1Len, byte[] aad2, int a2Off, int a2Len,
                            byte[] ct, int ctOff, int ctLen) throws GeneralSecurityException {
        mac.init(key.authKey);
        putLong(lengths, 0, (long) a1Len + a2Len);
        putLong(lengths, 8, ctLen);
        putLong(lengths, 16, suite.tagLength());
        mac.update(lengths, 0, 24);
        mac.update(nonce, 0, nonce.length);
        mac.update(aad1, a1Off, a1Len);
        if (a2Len > 0) {
            mac.update(aad2, a2Off, a2Len);
        }
        mac.update(ct, ctOff, ctLen);
        mac.doFinal(macOut, 0);
    }

    private static void putLong(byte[] b, int off, long v) {
        for (int i = 0; i < 8; i++) {
            b[off + i] = (byte) (v >>> (56 - 8 * i));
        }
    }
}
