package dev.veil.webrtc.srtp;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.security.GeneralSecurityException;
import java.util.Arrays;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Allocation-free AES counter mode and GHASH for the SRTP packet path, on the JDK's own implementations (SunJCE's
 * {@code CounterMode} over {@code AESCrypt}, and {@code GHASH}), whose bodies the JIT replaces with AES-NI and
 * carry-less-multiply intrinsics. JCE's public {@code Cipher} cannot take a new IV without {@code init}, and
 * {@code init} of AES-GCM allocates about 1 kB per packet on JDK 17 (new GCM engine, GCTR and GHASH objects); these
 * objects are made once per session key and re-pointed at a new counter block per packet instead.
 *
 * <p>They are package-private classes of {@code java.base}: reaching them needs {@code --add-opens
 * java.base/com.sun.crypto.provider=ALL-UNNAMED} (veil-server's jar manifest carries {@code Add-Opens}). At class
 * initialisation the handles are looked up and checked against JCE's {@code AES/GCM/NoPadding} on a fixed input;
 * if anything is missing or differs (not opened, another JDK's internals), {@link #AVAILABLE} is false and the SRTP
 * ciphers keep using public JCE (same output, with JCE's per-packet allocations).
 *
 * <p>Instances are not thread-safe (one per session key, confined to the session's event loop).
 */
final class JdkAes {
    /** Whether the intrinsic-backed path can be used in this JVM. */
    static final boolean AVAILABLE;
    /** Why not, when {@link #AVAILABLE} is false (for the server's start-up log). */
    static final String UNAVAILABLE_REASON;

    private static final MethodHandle NEW_AES;      // AESCrypt()
    private static final MethodHandle NEW_CTR;      // CounterMode(SymmetricCipher)
    private static final MethodHandle CTR_INIT;     // void init(boolean, String, byte[], byte[])
    private static final MethodHandle CTR_RESET;    // void reset()
    private static final MethodHandle CTR_CRYPT;    // int encrypt(byte[], int, int, byte[], int)
    private static final MethodHandle CTR_COUNTER;  // byte[] counter (getter)
    private static final MethodHandle NEW_GHASH;    // GHASH(byte[])
    private static final MethodHandle GHASH_UPDATE; // int update(byte[], int, int): whole blocks only
    private static final MethodHandle GHASH_STATE;  // long[] state (getter)

    static {
        MethodHandle newAes = null;
        MethodHandle newCtr = null;
        MethodHandle ctrInit = null;
        MethodHandle ctrReset = null;
        MethodHandle ctrCrypt = null;
        MethodHandle ctrCounter = null;
        MethodHandle newGhash = null;
        MethodHandle ghashUpdate = null;
        MethodHandle ghashState = null;
        String reason = null;
        try {
            Class<?> aes = Class.forName("com.sun.crypto.provider.AESCrypt");
            Class<?> sym = Class.forName("com.sun.crypto.provider.SymmetricCipher");
            Class<?> ctr = Class.forName("com.sun.crypto.provider.CounterMode");
            Class<?> ghash = Class.forName("com.sun.crypto.provider.GHASH");
            MethodHandles.Lookup la = MethodHandles.privateLookupIn(aes, MethodHandles.lookup());
            MethodHandles.Lookup lc = MethodHandles.privateLookupIn(ctr, MethodHandles.lookup());
            MethodHandles.Lookup lg = MethodHandles.privateLookupIn(ghash, MethodHandles.lookup());
            newAes = la.findConstructor(aes, MethodType.methodType(void.class)).asType(
                    MethodType.methodType(Object.class));
            newCtr = lc.findConstructor(ctr, MethodType.methodType(void.class, sym)).asType(
                    MethodType.methodType(Object.class, Object.class));
            ctrInit = lc.findVirtual(ctr, "init", MethodType.methodType(void.class, boolean.class, String.class,
                    byte[].class, byte[].class)).asType(MethodType.methodType(void.class, Object.class,
                    boolean.class, String.class, byte[].class, byte[].class));
            ctrReset = lc.findVirtual(ctr, "reset", MethodType.methodType(void.class)).asType(
                    MethodType.methodType(void.class, Object.class));
            ctrCrypt = lc.findVirtual(ctr, "encrypt", MethodType.methodType(int.class, byte[].class, int.class,
                    int.class, byte[].class, int.class)).asType(MethodType.methodType(int.class, Object.class,
                    byte[].class, int.class, int.class, byte[].class, int.class));
            ctrCounter = lc.findGetter(ctr, "counter", byte[].class).asType(
                    MethodType.methodType(byte[].class, Object.class));
            newGhash = lg.findConstructor(ghash, MethodType.methodType(void.class, byte[].class)).asType(
                    MethodType.methodType(Object.class, byte[].class));
            ghashUpdate = lg.findVirtual(ghash, "update", MethodType.methodType(int.class, byte[].class, int.class,
                    int.class)).asType(MethodType.methodType(int.class, Object.class, byte[].class, int.class,
                    int.class));
            ghashState = lg.findGetter(ghash, "state", long[].class).asType(
                    MethodType.methodType(long[].class, Object.class));
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            reason = e.getClass().getSimpleName() + ": " + e.getMessage();
        }
        NEW_AES = newAes;
        NEW_CTR = newCtr;
        CTR_INIT = ctrInit;
        CTR_RESET = ctrReset;
        CTR_CRYPT = ctrCrypt;
        CTR_COUNTER = ctrCounter;
        NEW_GHASH = newGhash;
        GHASH_UPDATE = ghashUpdate;
        GHASH_STATE = ghashState;
        if (reason == null) {
            reason = selfTest();
        }
        AVAILABLE = reason == null;
        UNAVAILABLE_REASON = reason;
    }

    private JdkAes() {}

    /** Null if a GCM seal by these handles equals JCE's on a fixed input (odd lengths, AAD), else why not. */
    private static String selfTest() {
        try {
            byte[] key = new byte[16];
            byte[] iv = new byte[12];
            byte[] aad = new byte[21];
            byte[] plain = new byte[1_000 + 7];
            for (int i = 0; i < plain.length; i++) {
                plain[i] = (byte) (i * 31 + 7);
            }
            for (int i = 0; i < 16; i++) {
                key[i] = (byte) (0xA5 ^ i);
            }
            for (int i = 0; i < 12; i++) {
                iv[i] = (byte) (i * 17);
            }
            for (int i = 0; i < aad.length; i++) {
                aad[i] = (byte) (i + 1);
            }
            Cipher jce = Cipher.getInstance("AES/GCM/NoPadding");
            jce.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key, "AES"), new GCMParameterSpec(128, iv));
            jce.updateAAD(aad);
            byte[] expected = jce.doFinal(plain);

            Gcm gcm = new Gcm(key);
            byte[] buf = new byte[aad.length + plain.length + 16];
            System.arraycopy(aad, 0, buf, 0, aad.length);
            System.arraycopy(plain, 0, buf, aad.length, plain.length);
            gcm.seal(iv, buf, 0, aad.length, buf, aad.length, plain.length);
            if (!Arrays.equals(expected, 0, expected.length, buf, aad.length, buf.length)) {
                return "self-test: GCM output differs from JCE";
            }
            if (!gcm.open(iv, buf, 0, aad.length, buf, aad.length, plain.length, buf, aad.length)
                    || !Arrays.equals(plain, 0, plain.length, buf, aad.length, aad.length + plain.length)) {
                return "self-test: GCM open failed";
            }
            gcm.seal(iv, buf, 0, aad.length, buf, aad.length, plain.length);
            buf[aad.length + 3] ^= 1;
            if (gcm.open(iv, buf, 0, aad.length, buf, aad.length, plain.length, buf, aad.length)) {
                return "self-test: GCM open accepted a forged packet";
            }
            return null;
        } catch (Throwable e) {
            return "self-test: " + e;
        }
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            return r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException(t);
    }

    /**
     * AES in counter mode with a caller-chosen 16-byte initial counter block, incremented as a 128-bit big-endian
     * number per block (RFC 3711 AES-CM; RFC 7714's 32-bit increment is the same for packets below 2^32 blocks).
     */
    static final class Ctr {
        private final Object mode;
        private final byte[] counter;

        Ctr(byte[] key) throws GeneralSecurityException {
            try {
                mode = NEW_CTR.invokeExact(NEW_AES.invokeExact());
                CTR_INIT.invokeExact(mode, false, "AES", key, new byte[16]);
                counter = (byte[]) CTR_COUNTER.invokeExact(mode);
            } catch (GeneralSecurityException e) {
                throw e;
            } catch (Throwable t) {
                throw rethrow(t);
            }
        }

        /** Starts a new key stream at {@code block} (16 bytes at {@code off}). */
        void start(byte[] block, int off) {
            try {
                CTR_RESET.invokeExact(mode);
            } catch (Throwable t) {
                throw rethrow(t);
            }
            System.arraycopy(block, off, counter, 0, 16);
        }

        /** XORs the next {@code len} bytes of key stream into {@code in} → {@code out} (may be the same range). */
        void crypt(byte[] in, int inOff, int len, byte[] out, int outOff) {
            if (len == 0) {
                return;
            }
            try {
                int n = (int) CTR_CRYPT.invokeExact(mode, in, inOff, len, out, outOff);
            } catch (Throwable t) {
                throw rethrow(t);
            }
        }
    }

    /**
     * AES-GCM with a 96-bit IV and a 16-byte tag (NIST SP 800-38D), sealing and opening in place: the ciphertext
     * replaces the plaintext and the tag follows it. No allocation per call.
     */
    static final class Gcm {
        private static final int TAG = 16;
        private final Ctr ctr;
        private final Object ghash;
        private final long[] state;
        private final byte[] j0 = new byte[16];
        private final byte[] ekj0 = new byte[16];
        private final byte[] zero = new byte[16];
        private final byte[] block = new byte[16];

        Gcm(byte[] key) throws GeneralSecurityException {
            ctr = new Ctr(key);
            byte[] h = new byte[16];
            ctr.start(zero, 0);
            ctr.crypt(zero, 0, 16, h, 0); // H = AES_K(0^128)
            try {
                ghash = NEW_GHASH.invokeExact(h);
                state = (long[]) GHASH_STATE.invokeExact(ghash);
            } catch (Throwable t) {
                throw rethrow(t);
            }
            j0[15] = 1;
        }

        /** Counter block J0 = IV || 0^31 || 1, and the key stream positioned at inc32(J0); E_K(J0) in ekj0. */
        private void startCounter(byte[] iv) {
            System.arraycopy(iv, 0, j0, 0, 12);
            ctr.start(j0, 0);
            ctr.crypt(zero, 0, 16, ekj0, 0);
        }

        private void ghashUpdate(byte[] b, int off, int len) {
            int whole = len & ~15;
            try {
                if (whole > 0) {
                    int n = (int) GHASH_UPDATE.invokeExact(ghash, b, off, whole);
                }
                int rest = len - whole;
                if (rest > 0) {
                    System.arraycopy(b, off + whole, block, 0, rest);
                    Arrays.fill(block, rest, 16, (byte) 0);
                    int n = (int) GHASH_UPDATE.invokeExact(ghash, block, 0, 16);
                }
            } catch (Throwable t) {
                throw rethrow(t);
            }
        }

        /** The tag of (AAD, ciphertext) into {@code block}. */
        private void tag(byte[] aad, int aadOff, int aadLen, byte[] ct, int ctOff, int ctLen) {
            state[0] = 0;
            state[1] = 0;
            ghashUpdate(aad, aadOff, aadLen);
            ghashUpdate(ct, ctOff, ctLen);
            long aBits = (long) aadLen << 3;
            long cBits = (long) ctLen << 3;
            for (int i = 0; i < 8; i++) {
                block[i] = (byte) (aBits >>> (56 - 8 * i));
                block[8 + i] = (byte) (cBits >>> (56 - 8 * i));
            }
            try {
                int n = (int) GHASH_UPDATE.invokeExact(ghash, block, 0, 16);
            } catch (Throwable t) {
                throw rethrow(t);
            }
            long s0 = state[0];
            long s1 = state[1];
            for (int i = 0; i < 8; i++) {
                block[i] = (byte) ((s0 >>> (56 - 8 * i)) ^ ekj0[i]);
                block[8 + i] = (byte) ((s1 >>> (56 - 8 * i)) ^ ekj0[8 + i]);
            }
        }

        /**
         * Encrypts {@code buf[off, off+len)} in place and writes the 16-byte tag after it; the AAD is
         * {@code aad[aadOff, aadOff+aadLen)} (it may be in the same array, before the plaintext).
         */
        void seal(byte[] iv, byte[] aad, int aadOff, int aadLen, byte[] buf, int off, int len) {
            startCounter(iv);
            ctr.crypt(buf, off, len, buf, off);
            tag(aad, aadOff, aadLen, buf, off, len);
            System.arraycopy(block, 0, buf, off + len, TAG);
        }

        /**
         * Checks the tag that follows the ciphertext {@code ct[off, off+len)} and, only if it verifies (in constant
         * time), decrypts it into {@code out[outOff..]} (which may be the same range: in place). Returns whether it
         * verified; on failure nothing is written.
         */
        boolean open(byte[] iv, byte[] aad, int aadOff, int aadLen, byte[] ct, int off, int len, byte[] out,
                int outOff) {
            startCounter(iv);
            tag(aad, aadOff, aadLen, ct, off, len);
            int diff = 0;
            for (int i = 0; i < TAG; i++) {
                diff |= block[i] ^ ct[off + len + i];
            }
            if (diff != 0) {
                return false;
            }
            ctr.crypt(ct, off, len, out, outOff);
            return true;
        }
    }
}
