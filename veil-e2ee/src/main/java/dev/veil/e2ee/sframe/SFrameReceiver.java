package dev.veil.e2ee.sframe;

import dev.veil.e2ee.codec.Av1ClearRanges;
import dev.veil.e2ee.codec.ClearPrefixPolicy;
import dev.veil.e2ee.codec.ClearRanges;
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
 * <p><b>Expiry</b> (docs/PROTOCOL.md §3.6). Older keys of the sender are deleted once a newer one is in use:
 * installing a key with a higher KID makes every lower KID expire at most {@link #KEY_GRACE_MILLIS} later; a frame
 * that authenticates under a KID makes every lower KID expire at most {@link #REORDER_MILLIS} later (frames of
 * the sender's other streams still in flight); {@link #expireInstalledKeys} makes every key held now (and any key
 * of those generations installed or ratcheted to later) expire at a given time (used on a leave). A key ratcheted
 * from another inherits its expiry. Expired keys are wiped; a KID at or below one that expired is never installed
 * or accepted again ({@link Rejection#EXPIRED_KEY}).
 *
 * <p><b>Replay.</b> Each KID has one {@link ReplayWindow} over its CTR ({@link #REPLAY_WINDOW_SIZE} frames, age
 * floor {@link #MAX_FRAME_AGE_MILLIS}), shared by all of the sender's streams (they share one CTR sequence) and kept
 * when the same KID is installed again (a KEY for a KID already reached by ratcheting). A frame whose CTR was
 * already accepted, is {@code REPLAY_WINDOW_SIZE} or more below the highest accepted, or is older than the age
 * floor, is rejected with {@link Rejection#REPLAY}. The window moves only after a frame authenticates, so a
 * replayed frame never moves it and never makes live frames look old.
 *
 * <p><b>Clock.</b> The {@code nowMillis} variants take the caller's monotonic clock; the others use the latest
 * time this receiver was given.
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
    /** Counters each KID's replay window remembers (all of the sender's streams share it). */
    public static final int REPLAY_WINDOW_SIZE = 1024;
    /** A frame older than this (relative to one already accepted, see {@link ReplayWindow}) is never accepted. */
    public static final long MAX_FRAME_AGE_MILLIS = 2_000;
    /** Lower KIDs expire at most this long after a higher KID is installed. */
    public static final long KEY_GRACE_MILLIS = 2_000;
    /** Lower KIDs expire at most this long after a frame authenticated under a higher KID. */
    public static final long REORDER_MILLIS = 250;

    private final CipherSuite suite;
    private final SFrameAead aead;
    private final KeyRing<Entry> ring;
    private final long[] parsed = new long[2];
    private byte[] passphraseKey; // passphrase mode: the sender's P; unknown KIDs are derived from it
    private long now = Long.MIN_VALUE;
    /** Every KID at or below this one has expired (-1: none); unsigned compare. */
    private long expiredUpTo = -1;
    private boolean anyExpired;
    /** Keys of generations up to this one expire at {@link #staleDeadline} (the latest leave), -1: none. */
    private long staleGeneration = -1;
    private long staleDeadline = Long.MAX_VALUE;

    /** Per-KID state: base key (kept for ratcheting), derived key and salt, replay window, expiry. */
    private static final class Entry {
        final byte[] baseKey;
        final SFrameKey key;
        ReplayWindow window = new ReplayWindow(REPLAY_WINDOW_SIZE, MAX_FRAME_AGE_MILLIS);
        long expiresAt = Long.MAX_VALUE;

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

    /** As {@link #addKey(KeyId, SecretBytes, long)} at the latest time this receiver was given. */
    public boolean addKey(KeyId id, SecretBytes baseKey) {
        return addKey(id, baseKey, now == Long.MIN_VALUE ? 0 : now);
    }

    /**
     * Installs (or replaces) the base key of {@code id}; the bytes are copied. A KID already installed (or reached
     * by ratcheting) keeps its replay window and expiry. Every lower KID expires at most {@link #KEY_GRACE_MILLIS}
     * later. Returns false (and installs nothing) if {@code id} is at or below a KID that already expired.
     */
    public boolean addKey(KeyId id, SecretBytes baseKey, long nowMillis) {
        Objects.requireNonNull(id, "id");
        tick(nowMillis);
        long kid = id.toKid();
        if (isExpired(kid)) {
            return false;
        }
        byte[] b = baseKey.toByteArray();
        Entry e = new Entry(b, SFrameKey.derive(suite, kid, b));
        Entry old = ring.get(kid);
        if (old != null) {
            e.window = old.window;
            e.expiresAt = old.expiresAt;
        }
        applyStale(id, e);
        ring.put(id, e);
        expireBelow(kid, satAdd(now, KEY_GRACE_MILLIS));
        return true;
    }

    /**
     * Every key held now, and any key of those generations installed or ratcheted to later, expires at
     * {@code deadlineMillis} (or earlier if it already would). For a leave: no key a departed member may know stays
     * usable past the deadline, whether or not the sender's next key ever arrives.
     */
    public void expireInstalledKeys(long nowMillis, long deadlineMillis) {
        tick(nowMillis);
        long maxGen = -1;
        for (int i = 0; i < ring.size(); i++) {
            maxGen = Math.max(maxGen, ring.kidAt(i) >>> 8);
        }
        if (maxGen < 0) {
            return;
        }
        staleGeneration = Math.max(staleGeneration, maxGen);
        staleDeadline = deadlineMillis;
        for (int i = 0; i < ring.size(); i++) {
            Entry e = ring.entryAt(i);
            e.expiresAt = Math.min(e.expiresAt, deadlineMillis);
        }
        tick(nowMillis);
    }

    /** Whether frames under {@code id} are refused because it (or a higher KID) expired. */
    public boolean isExpired(KeyId id) {
        return isExpired(id.toKid());
    }

    private boolean isExpired(long kid) {
        return anyExpired && Long.compareUnsigned(kid, expiredUpTo) <= 0;
    }

    private void applyStale(KeyId id, Entry e) {
        if (id.generation() <= staleGeneration) {
            e.expiresAt = Math.min(e.expiresAt, staleDeadline);
        }
    }

    private void expireBelow(long kid, long deadline) {
        for (int i = 0; i < ring.size(); i++) {
            if (Long.compareUnsigned(ring.kidAt(i), kid) < 0) {
                Entry e = ring.entryAt(i);
                e.expiresAt = Math.min(e.expiresAt, deadline);
            }
        }
    }

    /** Advances the clock (never backwards) and wipes every key whose expiry has come. */
    private void tick(long nowMillis) {
        if (nowMillis > now) {
            now = nowMillis;
        }
        for (int i = ring.size() - 1; i >= 0; i--) {
            long k = ring.kidAt(i);
            if (now >= ring.entryAt(i).expiresAt) {
                ring.remove(KeyId.fromKid(k));
                // a newer step of the same generation still held: only up to k; else the whole generation
                boolean newerStep = false;
                for (int j = 0; j < ring.size(); j++) {
                    long o = ring.kidAt(j);
                    newerStep |= o >>> 8 == k >>> 8 && Long.compareUnsigned(o, k) > 0;
                }
                long upTo = newerStep ? k : k | 0xFF;
                if (!anyExpired || Long.compareUnsigned(upTo, expiredUpTo) > 0) {
                    expiredUpTo = upTo;
                    anyExpired = true;
                }
                i = Math.min(i, ring.size());
            }
        }
    }

    private static long satAdd(long a, long b) {
        long r = a + b;
        return ((a ^ r) & (b ^ r)) < 0 ? Long.MAX_VALUE : r;
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

    /** As {@link #decrypt(byte[], int, int, byte[], int, int, byte[], int)} at {@code nowMillis}. */
    public DecryptResult decrypt(byte[] metadata, int mdOff, int mdLen, byte[] in, int off, int len,
                                 byte[] out, int outOff, long nowMillis) {
        return toResult(decryptRaw(metadata, mdOff, mdLen, in, off, len, out, outOff, nowMillis));
    }

    /** As {@link #decrypt}, returning the plaintext length or a negative {@link Rejection#code()}. */
    public int decryptRaw(byte[] metadata, int mdOff, int mdLen, byte[] in, int off, int len,
                          byte[] out, int outOff) {
        return decryptRaw(metadata, mdOff, mdLen, in, off, len, out, outOff, now == Long.MIN_VALUE ? 0 : now);
    }

    /** As {@link #decryptRaw(byte[], int, int, byte[], int, int, byte[], int)} at {@code nowMillis}. */
    public int decryptRaw(byte[] metadata, int mdOff, int mdLen, byte[] in, int off, int len,
                          byte[] out, int outOff, long nowMillis) {
        tick(nowMillis);
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
     * Decrypts a ranged frame {@code I ‖ H ‖ R ‖ T ‖ r} ({@link ClearRanges}, e.g. from
     * {@link SFrameSender#encryptH264}); writes I with the plaintext back between the clear ranges to {@code out}
     * (room for {@code len} bytes). A trailer or ranges that do not fit are {@link Rejection#MALFORMED_HEADER}.
     */
    public DecryptResult decryptRanged(byte[] in, int off, int len, byte[] out, int outOff, long nowMillis) {
        FrameBuffers.checkRange(in, off, len);
        int nt = suite.tagLength();
        if (len < nt + 2) {
            return DecryptResult.Rejected.of(Rejection.TRUNCATED);
        }
        int meta = in[off + len - 1] & 0xff;
        if (meta == 0 || meta + nt + 1 > len) {
            return DecryptResult.Rejected.of(Rejection.MALFORMED_HEADER);
        }
        int iLen = len - 1 - nt - meta;
        int h = SFrameHeader.parse(in, off + iLen, meta, new long[2]);
        if (h < 0) {
            return DecryptResult.Rejected.of(Rejection.MALFORMED_HEADER);
        }
        java.util.List<int[]> ranges = ClearRanges.decode(in, off + iLen + h, meta - h, iLen);
        if (ranges == null) {
            return DecryptResult.Rejected.of(Rejection.MALFORMED_HEADER);
        }
        int clearLen = ClearRanges.clearLength(ranges);
        byte[] clear = new byte[clearLen];
        byte[] other = new byte[iLen - clearLen];
        ClearRanges.split(in, off, iLen, ranges, clear, other);
        byte[] md = new byte[meta - h + clearLen];
        System.arraycopy(in, off + iLen + h, md, 0, meta - h);
        System.arraycopy(clear, 0, md, meta - h, clearLen);
        byte[] sealed = new byte[h + other.length + nt];
        System.arraycopy(in, off + iLen, sealed, 0, h);
        System.arraycopy(other, 0, sealed, h, other.length);
        System.arraycopy(in, off + iLen + meta, sealed, h + other.length, nt);
        byte[] pt = new byte[maxDecryptedLength(sealed.length)];
        int n = decryptRaw(md, 0, md.length, sealed, 0, sealed.length, pt, 0, nowMillis);
        if (n < 0) {
            return DecryptResult.Rejected.of(Rejection.fromCode(n));
        }
        FrameBuffers.checkOutput(in, off, len, out, outOff, iLen);
        System.arraycopy(in, off, out, outOff, iLen);
        ClearRanges.fill(out, outOff, iLen, ranges, pt, 0);
        return new DecryptResult.Decrypted(iLen);
    }

    /**
     * Decrypts an AV1 frame as the RTP depacketizer gives it ({@link SFrameSender#encryptAv1}, every OBU with a size
     * field): the last OBU's size field is taken out ({@link Av1ClearRanges#received}), the ranged frame decrypted and
     * the size field put back ({@link Av1ClearRanges#restore}). Returns the frame for the decoder, or the rejection.
     */
    public DecryptResult decryptAv1(byte[] in, int off, int len, byte[] out, int outOff, long nowMillis) {
        FrameBuffers.checkRange(in, off, len);
        byte[] laid = Av1ClearRanges.received(in, off, len);
        if (laid == null) {
            return DecryptResult.Rejected.of(Rejection.MALFORMED_HEADER);
        }
        byte[] plain = new byte[laid.length];
        DecryptResult d = decryptRanged(laid, 0, laid.length, plain, 0, nowMillis);
        if (!(d instanceof DecryptResult.Decrypted ok)) {
            return d;
        }
        byte[] restored = Av1ClearRanges.restore(plain, 0, ok.length());
        if (restored == null) {
            return DecryptResult.Rejected.of(Rejection.MALFORMED_HEADER);
        }
        FrameBuffers.checkOutput(in, off, len, out, outOff, restored.length);
        System.arraycopy(restored, 0, out, outOff, restored.length);
        return new DecryptResult.Decrypted(restored.length);
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

    /** As {@link #decryptFrame} at {@code nowMillis} (the caller's monotonic clock). */
    public DecryptResult decryptFrame(ClearPrefixPolicy policy, FrameType type, byte[] in, int off, int len,
                                      byte[] out, int outOff, long nowMillis) {
        return toResult(decryptFrameRaw(policy, type, in, off, len, out, outOff, nowMillis));
    }

    /** As {@link #decryptFrame}, returning the plaintext length or a negative {@link Rejection#code()}. */
    public int decryptFrameRaw(ClearPrefixPolicy policy, FrameType type, byte[] in, int off, int len,
                               byte[] out, int outOff) {
        return decryptFrameRaw(policy, type, in, off, len, out, outOff, now == Long.MIN_VALUE ? 0 : now);
    }

    /** As {@link #decryptFrameRaw(ClearPrefixPolicy, FrameType, byte[], int, int, byte[], int)} at nowMillis. */
    public int decryptFrameRaw(ClearPrefixPolicy policy, FrameType type, byte[] in, int off, int len,
                               byte[] out, int outOff, long nowMillis) {
        tick(nowMillis);
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
        if (isExpired(kid)) {
            return Rejection.EXPIRED_KEY.code();
        }
        Entry e = ring.get(kid);
        if (e != null) {
            if (!e.window.isFresh(ctr, now)) {
                return Rejection.REPLAY.code();
            }
            if (!aead.open(e.key, ctr, hdr, hdrOff, hdrLen, md, mdOff, mdLen, ct, ctOff, ctLen, out, outOff)) {
                return Rejection.BAD_TAG.code();
            }
            e.window.accept(ctr, now);
            expireBelow(kid, satAdd(now, REORDER_MILLIS));
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
            return openCandidate(target, kid, ctr, base, Long.MAX_VALUE, hdr, hdrOff, hdrLen, md, mdOff, mdLen, ct,
                    ctOff, ctLen, out, outOff);
        }
        // Not installed: can a key of the same generation be ratcheted forward to it?
        KeyId baseId = ring.ratchetBase(target, MAX_RATCHET_STEPS);
        if (baseId == null) {
            return Rejection.NO_KEY.code();
        }
        Entry baseEntry = ring.get(baseId);
        long inherited = baseEntry.expiresAt;
        byte[] base = baseEntry.baseKey.clone();
        for (int s = baseId.step(); s < target.step(); s++) {
            byte[] next = KeyRatchet.VEIL.next(base);
            Arrays.fill(base, (byte) 0);
            base = next;
        }
        return openCandidate(target, kid, ctr, base, inherited, hdr, hdrOff, hdrLen, md, mdOff, mdLen, ct, ctOff,
                ctLen, out, outOff);
    }

    /** Opens a frame under a key not installed yet ({@code inherited}: its expiry); installs it if it authenticates. */
    private int openCandidate(KeyId target, long kid, long ctr, byte[] base, long inherited, byte[] hdr, int hdrOff,
                              int hdrLen,
                              byte[] md, int mdOff, int mdLen, byte[] ct, int ctOff, int ctLen, byte[] out,
                              int outOff) {
        int ptLen = ctLen - suite.tagLength();
        Entry candidate = new Entry(base, SFrameKey.derive(suite, kid, base));
        if (!aead.open(candidate.key, ctr, hdr, hdrOff, hdrLen, md, mdOff, mdLen, ct, ctOff, ctLen, out, outOff)) {
            candidate.destroy();
            return Rejection.BAD_TAG.code();
        }
        candidate.expiresAt = inherited;
        applyStale(target, candidate);
        candidate.window.accept(ctr, now);
        ring.put(target, candidate);
        expireBelow(kid, satAdd(now, REORDER_MILLIS));
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
