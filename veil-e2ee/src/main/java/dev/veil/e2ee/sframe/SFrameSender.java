package dev.veil.e2ee.sframe;

import dev.veil.e2ee.codec.ClearPrefixPolicy;
import dev.veil.e2ee.codec.ClearRanges;
import dev.veil.e2ee.codec.FrameBuffers;
import dev.veil.e2ee.codec.FrameCryptoException;
import dev.veil.e2ee.codec.FrameType;
import dev.veil.e2ee.codec.Av1ClearRanges;
import dev.veil.e2ee.codec.H264ClearRanges;
import dev.veil.e2ee.key.KeyId;
import dev.veil.e2ee.key.KeyRatchet;
import dev.veil.e2ee.util.SecretBytes;
import java.security.GeneralSecurityException;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Encrypts one media stream's frames with SFrame (RFC 9605).
 *
 * <p>Callers never pass a nonce or a counter: the sender keeps a 64-bit frame counter that starts at 0, grows by one
 * per frame, is never reset (not even by {@link #setKey}), and refuses to encrypt once all 2^64 values are used.
 *
 * <p>Two ways to encrypt:
 * <ul>
 *   <li>{@link #encrypt(byte[], int, int, byte[], int, int, byte[], int)}: RFC 9605 exactly, output
 *       {@code header ‖ ciphertext ‖ tag}, AAD = {@code header ‖ metadata}.</li>
 *   <li>{@link #encryptFrame(ClearPrefixPolicy, FrameType, byte[], int, int, byte[], int)}: Veil's media framing,
 *       output {@code clearPrefix ‖ header ‖ ciphertext ‖ tag}, where the codec's clear prefix is the metadata
 *       (AAD = {@code header ‖ clearPrefix}) and the rest of the frame is the plaintext (docs/PROTOCOL.md §2).</li>
 * </ul>
 *
 * <p>Use <b>one sender per member</b>: all of a member's outgoing streams (audio and video) must go through the same
 * sender so that they share one CTR sequence. Two senders holding the same key would repeat nonces, which breaks
 * AES-GCM. Not thread-safe: confine the sender to one thread (or serialize access to it). It reuses its JCE
 * {@code Cipher}/{@code Mac} and scratch buffers across frames and writes into caller-supplied buffers.
 */
public final class SFrameSender {
    private final CipherSuite suite;
    private final SFrameAead aead;
    private KeyId keyId;
    private byte[] baseKey;
    private SFrameKey key;
    private long counter;
    private boolean exhausted;

    public SFrameSender(CipherSuite suite) {
        this(suite, 0L);
    }

    /** For tests of counter exhaustion only. */
    SFrameSender(CipherSuite suite, long firstCounter) {
        this.suite = Objects.requireNonNull(suite, "suite");
        this.aead = new SFrameAead(suite);
        this.counter = firstCounter;
    }

    public CipherSuite suite() {
        return suite;
    }

    /** Starts encrypting under {@code id} with {@code baseKey} (copied; the caller may destroy its copy). */
    public void setKey(KeyId id, SecretBytes baseKey) {
        Objects.requireNonNull(id, "id");
        byte[] b = baseKey.toByteArray();
        install(id, b);
    }

    /**
     * Ratchets the current key one step forward with {@link KeyRatchet#VEIL} (what a sender does when a member
     * joins) and returns the new id, {@code (generation, step + 1)}.
     *
     * @throws FrameCryptoException if no key is set or the generation has no step left
     */
    public KeyId ratchet() throws FrameCryptoException {
        if (keyId == null) {
            throw new FrameCryptoException("no key set");
        }
        if (keyId.step() == KeyId.MAX_STEP) {
            throw new FrameCryptoException("ratchet steps exhausted in generation " + keyId.generation());
        }
        install(keyId.nextStep(), KeyRatchet.VEIL.next(baseKey));
        return keyId;
    }

    private void install(KeyId id, byte[] newBase) {
        SFrameKey k = SFrameKey.derive(suite, id.toKid(), newBase);
        if (baseKey != null) {
            Arrays.fill(baseKey, (byte) 0);
        }
        if (key != null) {
            key.destroy();
        }
        this.keyId = id;
        this.baseKey = newBase;
        this.key = k;
    }

    /** The id frames are currently encrypted under. */
    public Optional<KeyId> keyId() {
        return Optional.ofNullable(keyId);
    }

    /** The counter the next frame will carry (unsigned). */
    public long nextCounter() {
        return counter;
    }

    /** An upper bound of the encrypted size of a frame (or plaintext) of {@code length} bytes. */
    public int maxEncryptedLength(int length) {
        return length + SFrameHeader.MAX_LENGTH + suite.tagLength();
    }

    /**
     * RFC 9605 encryption: writes {@code header ‖ ciphertext ‖ tag} to {@code out} at {@code outOff}, with
     * AAD = {@code header ‖ metadata[mdOff, mdOff + mdLen)}. Returns the number of bytes written.
     *
     * @throws FrameCryptoException if no key is set or the counter space is exhausted
     * @throws IllegalArgumentException if {@code out} is too small or overlaps the input
     */
    public int encrypt(byte[] metadata, int mdOff, int mdLen, byte[] plaintext, int ptOff, int ptLen,
                       byte[] out, int outOff) throws FrameCryptoException {
        FrameBuffers.checkRange(metadata, mdOff, mdLen);
        FrameBuffers.checkRange(plaintext, ptOff, ptLen);
        long ctr = takeCounter();
        int h = SFrameHeader.encodedLength(key.kid, ctr);
        FrameBuffers.checkOutput(plaintext, ptOff, ptLen, out, outOff, h + ptLen + suite.tagLength());
        SFrameHeader.encode(key.kid, ctr, out, outOff);
        return h + seal(ctr, out, outOff, h, metadata, mdOff, mdLen, plaintext, ptOff, ptLen, out, outOff + h);
    }

    /** RFC 9605 encryption into a new array. */
    public byte[] encrypt(byte[] metadata, byte[] plaintext) throws FrameCryptoException {
        byte[] out = new byte[maxEncryptedLength(plaintext.length)];
        int n = encrypt(metadata, 0, metadata.length, plaintext, 0, plaintext.length, out, 0);
        return Arrays.copyOf(out, n);
    }

    /**
     * Encrypts a media frame: writes {@code clearPrefix ‖ header ‖ ciphertext ‖ tag} to {@code out}, where the clear
     * prefix is the first {@code policy.clearPrefixLength(...)} bytes of the frame (AAD = {@code header ‖
     * clearPrefix}). A frame shorter than its codec prefix is all prefix and has an empty ciphertext. Returns the
     * number of bytes written.
     *
     * @throws FrameCryptoException if no key is set or the counter space is exhausted
     */
    public int encryptFrame(ClearPrefixPolicy policy, FrameType type, byte[] frame, int off, int len,
                            byte[] out, int outOff) throws FrameCryptoException {
        FrameBuffers.checkRange(frame, off, len);
        int n = FrameBuffers.prefix(policy, frame, off, len, type);
        long ctr = takeCounter();
        int h = SFrameHeader.encodedLength(key.kid, ctr);
        FrameBuffers.checkOutput(frame, off, len, out, outOff, len + h + suite.tagLength());
        System.arraycopy(frame, off, out, outOff, n);
        SFrameHeader.encode(key.kid, ctr, out, outOff + n);
        return n + h + seal(ctr, out, outOff + n, h, out, outOff, n, frame, off + n, len - n, out, outOff + n + h);
    }

    /** {@link #encryptFrame(ClearPrefixPolicy, FrameType, byte[], int, int, byte[], int)} into a new array. */
    public byte[] encryptFrame(ClearPrefixPolicy policy, FrameType type, byte[] frame) throws FrameCryptoException {
        byte[] out = new byte[maxEncryptedLength(frame.length)];
        int n = encryptFrame(policy, type, frame, 0, frame.length, out, 0);
        return Arrays.copyOf(out, n);
    }

    /**
     * Encrypts an H.264 frame (Annex B) with per-NAL clear ranges ({@link H264ClearRanges}, docs/PROTOCOL.md §2.9):
     * {@code I ‖ H ‖ R ‖ T ‖ r}, see {@link #encryptRanged}.
     *
     * @throws FrameCryptoException if no key is set, the counter space is exhausted, the frame is not Annex B, or
     *     {@link ClearRanges#MAX_ATTEMPTS} CTRs all gave an emulated start code
     */
    public byte[] encryptH264(byte[] frame, int off, int len) throws FrameCryptoException {
        H264ClearRanges.Layout l = H264ClearRanges.layout(frame, off, len);
        return encryptRanged(l.frame(), l.ranges());
    }

    /**
     * Encrypts {@code frame} keeping {@code ranges} ({offset, length}, in order, disjoint) in clear, in place:
     * {@code I ‖ H ‖ R ‖ T ‖ r} ({@link ClearRanges}). While the output holds 00 00 0x (x &lt;= 3) touching a byte
     * outside the ranges, it is encrypted again under the next CTR, at most {@link ClearRanges#MAX_ATTEMPTS} times.
     */
    public byte[] encryptRanged(byte[] frame, List<int[]> ranges) throws FrameCryptoException {
        return encryptRanged(frame, ranges, true);
    }

    /**
     * Encrypts an AV1 frame with per-OBU clear ranges ({@link Av1ClearRanges}, docs/PROTOCOL.md §2.9):
     * {@code I ‖ H ‖ R ‖ T ‖ r} under one CTR (AV1 has no start codes, so no retry).
     *
     * @throws FrameCryptoException if no key is set, the counter space is exhausted or the OBU chain does not fit
     */
    public byte[] encryptAv1(byte[] frame, int off, int len) throws FrameCryptoException {
        Av1ClearRanges.Layout l = Av1ClearRanges.layout(frame, off, len);
        return encryptRanged(l.frame(), l.ranges(), false);
    }

    private byte[] encryptRanged(byte[] frame, List<int[]> ranges, boolean startCodes) throws FrameCryptoException {
        byte[] r = ClearRanges.encode(ranges);
        int clearLen = ClearRanges.clearLength(ranges);
        byte[] clear = new byte[clearLen];
        byte[] other = new byte[frame.length - clearLen];
        ClearRanges.split(frame, 0, frame.length, ranges, clear, other);
        byte[] md = new byte[r.length + clearLen];
        System.arraycopy(r, 0, md, 0, r.length);
        System.arraycopy(clear, 0, md, r.length, clearLen);
        int nt = suite.tagLength();
        for (int attempt = 0; attempt < ClearRanges.MAX_ATTEMPTS; attempt++) {
            byte[] sf = encrypt(md, other);
            int h = sf.length - other.length - nt;
            int meta = h + r.length;
            if (meta > ClearRanges.MAX_META) {
                throw new FrameCryptoException("too many clear ranges: " + ranges.size());
            }
            byte[] out = new byte[frame.length + meta + nt + 1];
            System.arraycopy(frame, 0, out, 0, frame.length);
            ClearRanges.fill(out, 0, frame.length, ranges, sf, h);
            System.arraycopy(sf, 0, out, frame.length, h);
            System.arraycopy(r, 0, out, frame.length + h, r.length);
            System.arraycopy(sf, h + other.length, out, frame.length + meta, nt);
            out[out.length - 1] = (byte) meta;
            if (!startCodes || !ClearRanges.hasEmulatedStartCode(out, ranges)) {
                return out;
            }
        }
        throw new FrameCryptoException("every one of " + ClearRanges.MAX_ATTEMPTS + " CTRs gave an emulated start code");
    }

    private long takeCounter() throws FrameCryptoException {
        if (key == null) {
            throw new FrameCryptoException("no key set");
        }
        if (exhausted) {
            throw new FrameCryptoException("SFrame counter exhausted: set up a new sender with a new key");
        }
        long ctr = counter;
        if (ctr == -1L) {
            exhausted = true; // 2^64 - 1 is the last value
        } else {
            counter = ctr + 1;
        }
        return ctr;
    }

    private int seal(long ctr, byte[] hdr, int hdrOff, int hdrLen, byte[] md, int mdOff, int mdLen,
                     byte[] pt, int ptOff, int ptLen, byte[] out, int outOff) throws FrameCryptoException {
        try {
            return aead.seal(key, ctr, hdr, hdrOff, hdrLen, md, mdOff, mdLen, pt, ptOff, ptLen, out, outOff);
        } catch (GeneralSecurityException e) {
            throw new FrameCryptoException("SFrame encryption failed", e);
        }
    }

    @Override
    public String toString() {
        return "SFrameSender[" + suite + ", kid=" + (keyId == null ? "none" : Long.toUnsignedString(keyId.toKid()))
                + ", ctr=" + Long.toUnsignedString(counter) + "]";
    }
}
