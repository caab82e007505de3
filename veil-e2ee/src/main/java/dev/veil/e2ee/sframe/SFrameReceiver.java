package dev.veil.e2ee.sframe;

import dev.veil.e2ee.codec.ClearPrefixPolicy;
import dev.veil.e2ee.codec.DecryptResult;
import dev.veil.e2ee.codec.FrameBuffers;
import dev.veil.e2ee.codec.FrameType;
import dev.veil.e2ee.codec.Rejection;
import dev.veil.e2ee.key.KeyId;
import dev.veil.e2ee.key.KeyRatchet;
import dev.veil.e2ee.key.KeyRing;
import dev.veil.e2ee.key.ReplayWindow;
import dev.veil.e2ee.util.SecretBytes;
import java.util.Arrays;
import java.util.Objects;

/**
 * Decrypts one remote sender's SFrame frames (RFC 9605), with that sender's key ring and replay windows.
 *
 * <p><b>Keys.</b> A ring of at most {@code keyRingCapacity} keys by KID ({@link KeyId}: generation &lt;&lt; 8 |
 * step); installing one more retires the one installed longest ago. A frame whose KID is not in the ring but has the
 * same generation as a key in it and a step at most {@link #MAX_RATCHET_STEPS} higher is tried with the key ratcheted
 * forward by {@link KeyRatchet#VEIL}; the ratcheted key is installed only once that frame has authenticated.
 *
 * <p><b>Replay.</b> Each installed KID has a {@link ReplayWindow} over its CTR (128 frames). A frame whose CTR was
 * already accepted, or is more than 127 below the highest accepted, is rejected with {@link Rejection#REPLAY}. The
 * window moves only after a frame authenticates.
 *
 * <p><b>Results.</b> {@code decrypt...} methods return a {@link DecryptResult}; the {@code ...Raw} variants return
 * the plaintext length, or a negative {@link Rejection#code()}, and allocate nothing themselves on the steady-state
 * path (the JCE cipher still allocates on every {@code init}: about 1 kB per frame on JDK 17, see
 * docs/BENCHMARKS.md). After a rejection the output region's content is unspecified and must not be used.
 *
 * <p>Not thread-safe: use one receiver per remote sender (or per incoming stream), confined to one thread.
 */
public final class SFrameReceiver {
    /** How far ahead (in ratchet steps within one generation) a KID may be and still be ratcheted to. */
    public static final int MAX_RATCHET_STEPS = 16;
    /** Default number of keys kept per sender. */
    public static final int DEFAULT_KEY_RING_CAPACITY = 8;

    private final CipherSuite suite;
    private final SFrameAead aead;
    private final KeyRing<Entry> ring;
    private final long[] parsed = new long[2];
    private byte[] passphraseKey; // passphrase mode: the sender's P; unknown KIDs are derived from it

    /** Per-KID state: base key (kept for ratcheting), derived key and salt, replay window. */
    private static final class Entry {
        final byte[] baseKey;
        final SFrameKey key;
        final ReplayWindow window = new ReplayWindow();

        Entry(byte[] baseKey, SFrameKey key) {
            this.baseKey = baseKey;
            this.key = key;
        }

        void destroy() {
            Arrays.fill(baseKey, (byte) 0);
            key.destroy();
        }
    }

    public SFrameReceiver(CipherSuite suite) {
        this(suite, DEFAULT_KEY_RING_CAPACITY);
    }

    public SFrameReceiver(CipherSuite suite, int keyRingCapacity) {
        this.suite = Objects.requireNonNull(suite, "suite");
        this.aead = new SFrameAead(suite);
        this.ring = new KeyRing<>(keyRingCapacity, Entry::destroy);
    }

    public CipherSuite suite() {
        return suite;
    }

    /** Installs (or replaces) the base key of {@code id}; the bytes are copied. */
    public void addKey(KeyId id, SecretBytes baseKey) {
        Objects.requireNonNull(id, "id");
        byte[] b = baseKey.toByteArray();
        ring.put(id, new Entry(b, SFrameKey.derive(suite, id.toKid(), b)));
    }

    /** Removes the key of {@code id}; returns whether it was installed. */
    public boolean removeKey(KeyId id) {
        return ring.remove(id);
    }

    /** Removes every key (and the passphrase key). */
    public void clearKeys() {
        ring.clear();
        if (passphraseKey != null) {
            Arrays.fill(passphraseKey, (byte) 0);
            passphraseKey = null;
        }
    }

    /**
     * Passphrase mode (docs/PROTOCOL.md §2.5): the sender's passphrase key P (copied). From now on a frame under a
     * KID that is not installed is tried with {@link dev.veil.e2ee.passphrase.PassphraseKeys#sframeBaseKey
     * sframeBaseKey(P, KID)} (one HKDF and the key schedule, no ratchet); the key is installed only once that
     * frame authenticated, so a stream of forged fresh KIDs costs CPU but never grows or changes state. Every key
     * installed so far is removed (they came from the previous passphrase).
     */
    public void setPassphraseKey(SecretBytes p) {
        clearKeys();
        passphraseKey = p.toByteArray();
    }

    /** Whether a key for {@code id} is installed (ratcheted keys are installed once a frame authenticated). */
    public boolean hasKey(KeyId id) {
        return ring.get(id) != null;
    }

    /**
     * RFC 9605 decryption of {@code in[off, off + len)} = {@code header ‖ ciphertext ‖ tag} with
     * AAD = {@code header ‖ metadata}; the plaintext goes to {@code out} at {@code outOff}, which must have room for
     * {@link #maxDecryptedLength(int) maxDecryptedLength(len)} bytes.
     */
    public DecryptResult decrypt(byte[] metadata, int mdOff, int mdLen, byte[] in, int off, int len,
                                 byte[] out, int outOff) {
        return toResult(decryptRaw(metadata, mdOff, mdLen, in, off, len, out, outOff));
    }

    /** As {@link #decrypt}, returning the plaintext length or a negative {@link Rejection#code()}. */
    public int decryptRaw(byte[] metadata, int mdOff, int mdLen, byte[] in, int off, int len,
                          byte[] out, int outOff) {
        FrameBuffers.checkRange(metadata, mdOff, mdLen);
        FrameBuffers.checkRange(in, off, len);
        if (len == 0) {
            return Rejection.TRUNCATED.code();
        }
        int h = SFrameHeader.parse(in, off, len, parsed);
        if (h < 0) {
            return Rejection.MALFORMED_HEADER.code();
        }
        int body = len - h;
        if (body < suite.tagLength()) {
            return Rejection.TRUNCATED.code();
        }
        FrameBuffers.checkOutput(in, off, len, out, outOff, maxDecryptedLength(len));
        return open(parsed[0], parsed[1], in, off, h, metadata, mdOff, mdLen, in, off + h, body, out, outOff);
    }

    /**
     * Decrypts a media frame {@code clearPrefix ‖ header ‖ ciphertext ‖ tag} (see
     * {@link SFrameSender#encryptFrame}); writes {@code clearPrefix ‖ plaintext} to {@code out}, which must have room
     * for {@link #maxDecryptedLength(int) maxDecryptedLength(len)} bytes.
     *
     * <p>The prefix length n is {@code policy}'s length for the received frame (for VP8 without a frame type, read
     * from the clear P bit). A frame that was shorter than its codec prefix was sent with its whole body as prefix and
     * an empty ciphertext; such a frame is recognised by a header that, parsed at some k &lt; n, is followed by
     * exactly a tag. If the reading at n does not fit or does not authenticate, every such k is tried, largest
     * first, without side effects until one authenticates (at most n readings, i.e. 10 for VP8). The reported
     * rejection is the one of the reading at n when that reading fits, else that of the largest k.
     */
    public DecryptResult decryptFrame(ClearPrefixPolicy policy, FrameType type, byte[] in, int off, int len,
                                      byte[] out, int outOff) {
        return toResult(decryptFrameRaw(policy, type, in, off, len, out, outOff));
    }

    /** As {@link #decryptFrame}, returning the plaintext length or a negative {@link Rejection#code()}. */
    public int decryptFrameRaw(ClearPrefixPolicy policy, FrameType type, byte[] in, int off, int len,
                               byte[] out, int outOff) {
        FrameBuffers.checkRange(in, off, len);
        if (len == 0) {
            return Rejection.TRUNCATED.code();
        }
        FrameBuffers.checkOutput(in, off, len, out, outOff, maxDecryptedLength(len));
        int nt = suite.tagLength();
        int n = FrameBuffers.prefix(policy, in, off, len, type);
        int h = SFrameHeader.parse(in, off + n, len - n, parsed);
        int first;
        if (h < 0) {
            first = Rejection.MALFORMED_HEADER.code();
        } else if (len - n - h < nt) {
            first = Rejection.TRUNCATED.code();
        } else {
            first = openFrame(in, off, len, n, h, out, outOff);
            if (first >= 0) {
                return first;
            }
        }
        // A frame shorter than its codec prefix: prefix k < n, then a header, then only the tag. Several k may fit;
        // each is tried (at most n - 1 <= 9 for the built-in codecs), none has side effects unless it authenticates.
        boolean primaryFits = h >= 0 && len - n - h >= nt;
        int fallback = 0;
        for (int k = n - 1; k >= 0; k--) {
            int hk = SFrameHeader.parse(in, off + k, len - k, parsed);
            if (hk >= 0 && k + hk + nt == len) {
                int r = openFrame(in, off, len, k, hk, out, outOff);
                if (r >= 0) {
                    return r;
                }
                if (fallback == 0) {
                    fallback = r;
                }
            }
        }
        return primaryFits || fallback == 0 ? first : fallback;
    }

    /** An upper bound of the plaintext length of an {@code encryptedLength}-byte frame (minimal header, tag). */
    public int maxDecryptedLength(int encryptedLength) {
        return Math.max(0, encryptedLength - 1 - suite.tagLength());
    }

    /** Opens the reading "n prefix bytes, then an h-byte header" (the header must be in {@link #parsed}). */
    private int openFrame(byte[] in, int off, int len, int n, int h, byte[] out, int outOff) {
        int r = open(parsed[0], parsed[1], in, off + n, h, in, off, n, in, off + n + h, len - n - h, out, outOff + n);
        if (r < 0) {
            return r;
        }
        System.arraycopy(in, off, out, outOff, n);
        return n + r;
    }

    private int open(long kid, long ctr, byte[] hdr, int hdrOff, int hdrLen, byte[] md, int mdOff, int mdLen,
                     byte[] ct, int ctOff, int ctLen, byte[] out, int outOff) {
        int ptLen = ctLen - suite.tagLength();
        Entry e = ring.get(kid);
        if (e != null) {
            if (!e.window.isFresh(ctr)) {
                return Rejection.REPLAY.code();
            }
            if (!aead.open(e.key, ctr, hdr, hdrOff, hdrLen, md, mdOff, mdLen, ct, ctOff, ctLen, out, outOff)) {
                return Rejection.BAD_TAG.code();
            }
            e.window.accept(ctr);
            return ptLen;
        }
        KeyId target = KeyId.fromKid(kid);
        if (passphraseKey != null) {
            // passphrase mode: the key of any KID is derived from P; never ratcheted
            SecretBytes p = SecretBytes.copyOf(passphraseKey);
            SecretBytes derived = dev.veil.e2ee.passphrase.PassphraseKeys.sframeBaseKey(p, kid);
            p.destroy();
            byte[] base = derived.toByteArray();
            derived.destroy();
            return openCandidate(target, kid, ctr, base, hdr, hdrOff, hdrLen, md, mdOff, mdLen, ct, ctOff, ctLen,
                    out, outOff);
        }
        // Not installed: can a key of the same generation be ratcheted forward to it?
        KeyId baseId = ring.ratchetBase(target, MAX_RATCHET_STEPS);
        if (baseId == null) {
            return Rejection.NO_KEY.code();
        }
        byte[] base = ring.get(baseId).baseKey.clone();
        for (int s = baseId.step(); s < target.step(); s++) {
            byte[] next = KeyRatchet.VEIL.next(base);
            Arrays.fill(base, (byte) 0);
            base = next;
        }
        return openCandidate(target, kid, ctr, base, hdr, hdrOff, hdrLen, md, mdOff, mdLen, ct, ctOff, ctLen, out,
                outOff);
    }

    private int openCandidate(KeyId target, long kid, long ctr, byte[] base, byte[] hdr, int hdrOff, int hdrLen,
                              byte[] md, int mdOff, int mdLen, byte[] ct, int ctOff, int ctLen, byte[] out,
                              int outOff) {
        int ptLen = ctLen - suite.tagLength();
        Entry candidate = new Entry(base, SFrameKey.derive(suite, kid, base));
        if (!aead.open(candidate.key, ctr, hdr, hdrOff, hdrLen, md, mdOff, mdLen, ct, ctOff, ctLen, out, outOff)) {
            candidate.destroy();
            return Rejection.BAD_TAG.code();
        }
        candidate.window.accept(ctr);
        ring.put(target, candidate);
        return ptLen;
    }

    private static DecryptResult toResult(int raw) {
        return raw >= 0 ? new DecryptResult.Decrypted(raw) : DecryptResult.Rejected.of(Rejection.fromCode(raw));
    }

    @Override
    public String toString() {
        return "SFrameReceiver[" + suite + ", keys=" + ring.size() + "]";
    }
}
