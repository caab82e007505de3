package dev.veil.bench;

import dev.veil.e2ee.codec.Codec;
import dev.veil.e2ee.codec.FrameCryptoException;
import dev.veil.e2ee.codec.FrameType;
import dev.veil.e2ee.jframe.JFrameReceiver;
import dev.veil.e2ee.jframe.JFrameSender;
import dev.veil.e2ee.key.KeyId;
import dev.veil.e2ee.sframe.CipherSuite;
import dev.veil.e2ee.sframe.SFrameReceiver;
import dev.veil.e2ee.sframe.SFrameSender;
import dev.veil.e2ee.util.SecretBytes;
import java.security.GeneralSecurityException;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Per-frame cost of E2EE frame encryption and decryption: SFrame (suite 0x0004, AES-128-GCM) and JFrame
 * (AES-128-GCM), against raw JCE AES-128-GCM on the same payload as the baseline. Every method writes into a
 * preallocated output buffer.
 *
 * <p>Decryption benchmarks, the JCE baseline included, cycle through a batch of distinct frames (about 2 MB, at least
 * 64 frames) encrypted in setup, so all three read their input from the same cache level. Replay protection rejects
 * a frame seen twice, so when the batch wraps the receiver's replay state is renewed (SFrame: the key is removed and
 * added again; JFrame: a new receiver). That renewal is inside the measurement, amortised over the batch.
 *
 * <p>Run: {@code java -jar veil-bench/target/benchmarks.jar FrameCrypto -f 1 -wi 3 -i 5 -w 1s -r 1s -prof gc}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class FrameCryptoBenchmark {
    /** Approximate bytes of pre-encrypted frames per decryption batch (at least 64 frames). */
    static final int BATCH_BYTES = 2 << 20;

    @Param({"100", "1200", "60000"})
    public int size;

    private byte[] frame;
    private byte[] out;
    private byte[] plain;

    // raw JCE baseline
    private Cipher jceEnc;
    private Cipher jceDec;
    private SecretKeySpec jceKey;
    private final byte[] iv = new byte[12];
    private long ivCounter;
    /** 4 bytes of AAD, as SFrame's 1-byte header + VP8 delta prefix (JFrame: 3). */
    private final byte[] aad = {1, 2, 3, 4};
    private byte[][] jceAadBatch;
    private byte[][] jceBatch;
    private byte[][] jceBatchIv;
    private int jceNext;

    // SFrame
    private SFrameSender sframeSender;
    private SFrameReceiver sframeReceiver;
    private SecretBytes sframeKey;
    private final KeyId kid = new KeyId(1, 0);
    private byte[][] sframeBatch;
    private int[] sframeLen;
    private int sframeNext;

    // JFrame
    private JFrameSender jframeSender;
    private JFrameReceiver jframeReceiver;
    private SecretBytes jframeMaterial;
    private byte[][] jframeBatch;
    private int jframeNext;
    private int rtpTimestamp;

    @Setup
    public void setup() throws GeneralSecurityException {
        SplittableRandom rnd = new SplittableRandom(42);
        frame = new byte[size];
        rnd.nextBytes(frame);
        frame[0] |= 1; // VP8 delta frame (P bit set): 3-byte clear prefix
        out = new byte[size + 64];
        plain = new byte[size + 64];
        byte[] k = new byte[16];
        rnd.nextBytes(k);
        jceKey = new SecretKeySpec(k, "AES");
        jceEnc = Cipher.getInstance("AES/GCM/NoPadding");
        jceDec = Cipher.getInstance("AES/GCM/NoPadding");
        int batch = Math.max(64, BATCH_BYTES / (size + 64));
        jceBatch = new byte[batch][];
        jceBatchIv = new byte[batch][];
        for (int i = 0; i < batch; i++) {
            jceBatchIv[i] = new byte[12];
            rnd.nextBytes(jceBatchIv[i]);
            jceEnc.init(Cipher.ENCRYPT_MODE, jceKey, new GCMParameterSpec(128, jceBatchIv[i]));
            jceBatch[i] = jceEnc.doFinal(frame);
        }
        jceAadBatch = new byte[batch][];
        for (int i = 0; i < batch; i++) {
            jceEnc.init(Cipher.ENCRYPT_MODE, jceKey, new GCMParameterSpec(128, jceBatchIv[i]));
            jceEnc.updateAAD(aad);
            jceAadBatch[i] = jceEnc.doFinal(frame);
        }
        jceEnc.init(Cipher.ENCRYPT_MODE, jceKey, new GCMParameterSpec(128, new byte[12]));

        byte[] base = new byte[32];
        rnd.nextBytes(base);
        sframeKey = SecretBytes.copyOf(base);
        sframeSender = new SFrameSender(CipherSuite.AES_128_GCM_SHA256_128);
        sframeSender.setKey(kid, sframeKey);
        sframeReceiver = new SFrameReceiver(CipherSuite.AES_128_GCM_SHA256_128);
        sframeReceiver.addKey(kid, sframeKey);
        SFrameSender batchSender = new SFrameSender(CipherSuite.AES_128_GCM_SHA256_128);
        batchSender.setKey(kid, sframeKey);
        sframeBatch = new byte[batch][];
        sframeLen = new int[batch];
        for (int i = 0; i < batch; i++) {
            sframeBatch[i] = batchSender.encryptFrame(Codec.VP8, FrameType.DELTA, frame);
            sframeLen[i] = sframeBatch[i].length;
        }

        byte[] material = new byte[32];
        rnd.nextBytes(material);
        jframeMaterial = SecretBytes.copyOf(material);
        jframeSender = new JFrameSender(new SplittableRandom(1));
        jframeSender.setKey(0, jframeMaterial);
        jframeReceiver = new JFrameReceiver();
        jframeReceiver.setKey(0, jframeMaterial);
        JFrameSender batchJ = new JFrameSender(new SplittableRandom(2));
        batchJ.setKey(0, jframeMaterial);
        jframeBatch = new byte[batch][];
        for (int i = 0; i < batch; i++) {
            jframeBatch[i] = batchJ.encrypt(Codec.VP8, FrameType.DELTA, 0x1234, i * 3000, frame);
        }
    }

    @Benchmark
    public int jceGcmEncrypt() throws GeneralSecurityException {
        long c = ++ivCounter;
        for (int i = 0; i < 8; i++) {
            iv[11 - i] = (byte) (c >>> (8 * i));
        }
        jceEnc.init(Cipher.ENCRYPT_MODE, jceKey, new GCMParameterSpec(128, iv));
        return jceEnc.doFinal(frame, 0, size, out, 0);
    }

    @Benchmark
    public int jceGcmDecrypt() throws GeneralSecurityException {
        int i = jceNext == jceBatch.length ? 0 : jceNext;
        jceNext = i + 1;
        byte[] c = jceBatch[i];
        jceDec.init(Cipher.DECRYPT_MODE, jceKey, new GCMParameterSpec(128, jceBatchIv[i]));
        return jceDec.doFinal(c, 0, c.length, plain, 0);
    }

    /** Baseline with the 4 bytes of AAD that a frame format needs (JDK 17 buffers AAD per call). */
    @Benchmark
    public int jceGcmAadEncrypt() throws GeneralSecurityException {
        long c = ++ivCounter;
        for (int i = 0; i < 8; i++) {
            iv[11 - i] = (byte) (c >>> (8 * i));
        }
        jceEnc.init(Cipher.ENCRYPT_MODE, jceKey, new GCMParameterSpec(128, iv));
        jceEnc.updateAAD(aad, 0, aad.length);
        return jceEnc.doFinal(frame, 0, size, out, 0);
    }

    @Benchmark
    public int jceGcmAadDecrypt() throws GeneralSecurityException {
        int i = jceNext == jceAadBatch.length ? 0 : jceNext;
        jceNext = i + 1;
        byte[] c = jceAadBatch[i];
        jceDec.init(Cipher.DECRYPT_MODE, jceKey, new GCMParameterSpec(128, jceBatchIv[i]));
        jceDec.updateAAD(aad, 0, aad.length);
        return jceDec.doFinal(c, 0, c.length, plain, 0);
    }

    @Benchmark
    public int sframeEncrypt() throws FrameCryptoException {
        return sframeSender.encryptFrame(Codec.VP8, FrameType.DELTA, frame, 0, size, out, 0);
    }

    @Benchmark
    public int sframeDecrypt() {
        int i = sframeNext;
        if (i == sframeBatch.length) {
            sframeReceiver.removeKey(kid);
            sframeReceiver.addKey(kid, sframeKey);
            i = 0;
        }
        sframeNext = i + 1;
        int n = sframeReceiver.decryptFrameRaw(Codec.VP8, FrameType.UNSPECIFIED, sframeBatch[i], 0, sframeLen[i],
                plain, 0);
        if (n < 0) {
            throw new IllegalStateException("benchmark frame rejected: " + n);
        }
        return n;
    }

    @Benchmark
    public int jframeEncrypt() throws FrameCryptoException {
        rtpTimestamp += 3000;
        return jframeSender.encrypt(Codec.VP8, FrameType.DELTA, 0x1234, rtpTimestamp, frame, 0, size, out, 0);
    }

    @Benchmark
    public int jframeDecrypt() {
        int i = jframeNext;
        if (i == jframeBatch.length) {
            jframeReceiver = new JFrameReceiver();
            jframeReceiver.setKey(0, jframeMaterial);
            i = 0;
        }
        jframeNext = i + 1;
        byte[] f = jframeBatch[i];
        int n = jframeReceiver.decryptRaw(Codec.VP8, FrameType.UNSPECIFIED, f, 0, f.length, plain, 0);
        if (n < 0) {
            throw new IllegalStateException("benchmark frame rejected: " + n);
        }
        return n;
    }
}
