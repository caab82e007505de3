package dev.veil.e2ee.jframe;

import dev.veil.e2ee.codec.ClearPrefixPolicy;
import dev.veil.e2ee.codec.DecryptResult;
import dev.veil.e2ee.codec.FrameBuffers;
import dev.veil.e2ee.codec.FrameType;
import dev.veil.e2ee.codec.Rejection;
import dev.veil.e2ee.key.KeyRatchet;
import dev.veil.e2ee.key.WrappingReplayWindow;
import dev.veil.e2ee.util.SecretBytes;
import java.security.GeneralSecurityException;
import java.util.Arrays;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Decrypts one remote participant's JFrame frames (see {@link JFrameSender} for the layout).
 *
 * <p>Differences from lib-jitsi-meet's receiver, all of them fail-closed fixes that do not change the wire format:
 * <ul>
 *   <li>A key-index byte &gt;= 16 is rejected ({@link Rejection#BAD_KEY_INDEX}) instead of silently dropped; an
 *       IV-length byte other than 12 is {@link Rejection#MALFORMED_HEADER}.</li>
 *   <li>Ratchet-on-failure ({@link KeyRatchet#JFRAME}, up to {@link #RATCHET_WINDOW} steps) works on the slot the
 *       frame's key index names (Jitsi ratchets the <em>current</em> slot), never mutates the ring while trying, and
 *       installs the ratcheted key only after the frame authenticated. Raw keys are never ratcheted.</li>
 *   <li>A replay window per SSRC over the IV's frame counter (wrap-aware modulo 0xFFFF, 128 frames): a replayed or
 *       too-old frame is {@link Rejection#REPLAY}. A counter value &gt;= 0xFFFF cannot come from a Jitsi sender and
 *       is {@link Rejection#MALFORMED_HEADER}. The windows belong to the receiver (one per remote participant), so
 *       they span all of that participant's tracks and keys and are never reset by a key change.</li>
 *   <li>The IV's RTP timestamp bounds the age (docs/PROTOCOL.md §2.4): per SSRC the receiver keeps the timestamp
 *       of the highest counter accepted and when it arrived. A frame whose counter is ahead must also have a
 *       timestamp not below that one, whose media time since it is within {@link #MAX_FRAME_AGE_MILLIS} of the
 *       time elapsed since it arrived (at 48 kHz for Opus, 90 kHz otherwise); a frame whose counter is behind must
 *       not be older than
 *       {@link #MAX_FRAME_AGE_MILLIS} by (time since the highest arrived + how far its timestamp is behind). So a
 *       frame recorded minutes earlier is {@link Rejection#REPLAY} even when the 16-bit counter wrapped into
 *       "ahead", and it never moves the window (live frames are not dropped after it). An SSRC whose window was
 *       forgotten (more than {@link #MAX_SSRCS} in use) is remembered as retired ({@link #MAX_RETIRED_SSRCS}) and
 *       its frames are refused.</li>
 *   <li>Key expiry: installing a key makes every slot installed before it expire {@link #KEY_GRACE_MILLIS} later; a
 *       frame authenticating under a slot makes the slots installed before it expire {@link #REORDER_MILLIS}
 *       later. An expired slot is emptied (its key wiped).</li>
 * </ul>
 *
 * <p>The clear-prefix length is computed from the received frame body (for VP8 without a frame type: the clear P
 * bit), clamped to the body length, exactly as the sender computed it.
 *
 * <p>Not thread-safe: one receiver per remote participant, confined to one thread.
 */
public final class JFrameReceiver {
    /** Ratchet steps tried on an authentication failure (Jitsi's RATCHET_WINDOW_SIZE). */
    public static final int RATCHET_WINDOW = 8;
    /** SSRCs whose replay windows are remembered; the least recently used is forgotten beyond this. */
    public static final int MAX_SSRCS = 16;
    /** Forgotten SSRCs remembered as retired (frames refused). */
    public static final int MAX_RETIRED_SSRCS = 256;
    /** No frame older than this (by arrival time and RTP timestamp, see the class comment) is accepted. */
    public static final long MAX_FRAME_AGE_MILLIS = 2_000;
    /** Older slots expire this long after a newer key is installed. */
    public static final long KEY_GRACE_MILLIS = 2_000;
    /** Older slots expire this long after a frame authenticated under a newer slot. */
    public static final long REORDER_MILLIS = 250;

    private final Cipher cipher;
    private final JFrameKeys.Slot[] ring = new JFrameKeys.Slot[JFrameSender.KEY_RING_SIZE];
    private final int[] ssrcs = new int[MAX_SSRCS];
    private final WrappingReplayWindow[] windows = new WrappingReplayWindow[MAX_SSRCS];
    private final long[] lastUse = new long[MAX_SSRCS];
    private final int[] highestTs = new int[MAX_SSRCS];
    private final long[] highestAt = new long[MAX_SSRCS];
    private final int[] retired = new int[MAX_RETIRED_SSRCS];
    private int retiredCount;
    private int retiredNext;
    private final long[] slotSeq = new long[JFrameSender.KEY_RING_SIZE];
    private final long[] slotExpiresAt = new long[JFrameSender.KEY_RING_SIZE];
    private long installSeq;
    private int ssrcCount;
    private long clock;
    private long now;

    public JFrameReceiver() {
        try {
            this.cipher = Cipher.getInstance("AES/GCM/NoPadding");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES/GCM unavailable", e);
        }
    }

    /** Installs key material in slot {@code keyIndex % 16} (AES key by HKDF, ratchetable). */
    public void setKey(int keyIndex, SecretBytes material) {
        setKey(keyIndex, material, now);
    }

    /** As {@link #setKey(int, SecretBytes)} at {@code nowMillis}: older slots expire {@link #KEY_GRACE_MILLIS} later. */
    public void setKey(int keyIndex, SecretBytes material, long nowMillis) {
        tick(nowMillis);
        install(JFrameSender.slotOf(keyIndex), JFrameKeys.Slot.fromMaterial(material.toByteArray()));
    }

    /** Installs a raw AES key in slot {@code keyIndex % 16} (shared-key or passphrase mode; never ratcheted). */
    public void setRawKey(int keyIndex, SecretBytes aesKey) {
        setRawKey(keyIndex, aesKey, now);
    }

    /** As {@link #setRawKey(int, SecretBytes)} at {@code nowMillis}. */
    public void setRawKey(int keyIndex, SecretBytes aesKey, long nowMillis) {
        tick(nowMillis);
        install(JFrameSender.slotOf(keyIndex), JFrameKeys.Slot.raw(aesKey.toByteArray()));
    }

    /** Every key held now expires at {@code deadlineMillis} at the latest (for a leave). */
    public void expireInstalledKeys(long nowMillis, long deadlineMillis) {
        tick(nowMillis);
        for (int i = 0; i < ring.length; i++) {
            if (ring[i] != null) {
                slotExpiresAt[i] = Math.min(slotExpiresAt[i], deadlineMillis);
            }
        }
        tick(nowMillis);
    }

    private void install(int slot, JFrameKeys.Slot s) {
        put(slot, s);
        slotSeq[slot] = ++installSeq;
        slotExpiresAt[slot] = Long.MAX_VALUE;
        expireBefore(slot, satAdd(now, KEY_GRACE_MILLIS));
    }

    /** Slots installed before {@code slot} expire at {@code deadline} at the latest. */
    private void expireBefore(int slot, long deadline) {
        for (int i = 0; i < ring.length; i++) {
            if (i != slot && ring[i] != null && slotSeq[i] < slotSeq[slot]) {
                slotExpiresAt[i] = Math.min(slotExpiresAt[i], deadline);
            }
        }
    }

    private void tick(long nowMillis) {
        if (nowMillis > now) {
            now = nowMillis;
        }
        for (int i = 0; i < ring.length; i++) {
            if (ring[i] != null && now >= slotExpiresAt[i]) {
                put(i, null);
            }
        }
    }

    private static long satAdd(long a, long b) {
        long r = a + b;
        return ((a ^ r) & (b ^ r)) < 0 ? Long.MAX_VALUE : r;
    }

    /** Empties slot {@code keyIndex % 16}. */
    public void removeKey(int keyIndex) {
        put(JFrameSender.slotOf(keyIndex), null);
    }

    /** Whether slot {@code keyIndex % 16} holds a key. */
    public boolean hasKey(int keyIndex) {
        return ring[JFrameSender.slotOf(keyIndex)] != null;
    }

    private void put(int slot, JFrameKeys.Slot s) {
        if (ring[slot] != null) {
            ring[slot].destroy();
        }
        ring[slot] = s;
    }

    /**
     * Decrypts the JFrame {@code in[off, off + len)}; writes {@code clearPrefix ‖ plaintext} ({@code len - 30}
     * bytes) to {@code out} at {@code outOff}.
     */
    public DecryptResult decrypt(ClearPrefixPolicy policy, FrameType type, byte[] in, int off, int len,
                                 byte[] out, int outOff) {
        int raw = decryptRaw(policy, type, in, off, len, out, outOff);
        return raw >= 0 ? new DecryptResult.Decrypted(raw) : DecryptResult.Rejected.of(Rejection.fromCode(raw));
    }

    /** As {@link #decrypt} at {@code nowMillis} (the caller's monotonic clock). */
    public DecryptResult decrypt(ClearPrefixPolicy policy, FrameType type, byte[] in, int off, int len,
                                 byte[] out, int outOff, long nowMillis) {
        int raw = decryptRaw(policy, type, in, off, len, out, outOff, nowMillis);
        return raw >= 0 ? new DecryptResult.Decrypted(raw) : DecryptResult.Rejected.of(Rejection.fromCode(raw));
    }

    /** As {@link #decrypt}, returning the plaintext length or a negative {@link Rejection#code()}. */
    public int decryptRaw(ClearPrefixPolicy policy, FrameType type, byte[] in, int off, int len,
                          byte[] out, int outOff) {
        return decryptRaw(policy, type, in, off, len, out, outOff, now);
    }

    /** As {@link #decryptRaw(ClearPrefixPolicy, FrameType, byte[], int, int, byte[], int)} at nowMillis. */
    public int decryptRaw(ClearPrefixPolicy policy, FrameType type, byte[] in, int off, int len,
                          byte[] out, int outOff, long nowMillis) {
        tick(nowMillis);
        FrameBuffers.checkRange(in, off, len);
        if (len < JFrameSender.OVERHEAD) {
            return Rejection.TRUNCATED.code();
        }
        int end = off + len;
        if (in[end - 2] != JFrameSender.IV_LENGTH) {
            return Rejection.MALFORMED_HEADER.code();
        }
        int keyIndex = in[end - 1] & 0xFF;
        if (keyIndex >= JFrameSender.KEY_RING_SIZE) {
            return Rejection.BAD_KEY_INDEX.code();
        }
        JFrameKeys.Slot slot = ring[keyIndex];
        if (slot == null) {
            return Rejection.NO_KEY.code();
        }
        int ivOff = end - 2 - JFrameSender.IV_LENGTH;
        int ssrc = getInt(in, ivOff);
        int ts = getInt(in, ivOff + 4);
        long counter = getInt(in, ivOff + 8) & 0xFFFFFFFFL;
        if (counter >= JFrameSender.COUNTER_MODULUS) {
            return Rejection.MALFORMED_HEADER.code();
        }
        int w = windowIndex(ssrc);
        if (w < 0 && isRetired(ssrc)) {
            return Rejection.REPLAY.code();
        }
        long rate = policy == dev.veil.e2ee.codec.Codec.OPUS ? 48_000 : 90_000;
        boolean ahead = w < 0 || windows[w].isAhead((int) counter);
        if (w >= 0 && (!windows[w].isFresh((int) counter) || !plausible(w, ahead, ts, rate))) {
            return Rejection.REPLAY.code();
        }
        int body = len - JFrameSender.OVERHEAD;
        int n = FrameBuffers.prefix(policy, in, off, body, type);
        FrameBuffers.checkOutput(in, off, len, out, outOff, body);
        GCMParameterSpec spec = new GCMParameterSpec(JFrameSender.TAG_LENGTH * 8, in, ivOff, JFrameSender.IV_LENGTH);
        int ctLen = body - n + JFrameSender.TAG_LENGTH;
        if (!open(slot.aesKey, spec, in, off, n, ctLen, out, outOff)) {
            if (slot.material == null) {
                return Rejection.BAD_TAG.code();
            }
            byte[] material = slot.material.clone();
            JFrameKeys.Slot found = null;
            for (int i = 0; i < RATCHET_WINDOW && found == null; i++) {
                byte[] next = KeyRatchet.JFRAME.next(material);
                Arrays.fill(material, (byte) 0);
                material = next;
                SecretKeySpec candidate = JFrameKeys.aesKey(material);
                if (open(candidate, spec, in, off, n, ctLen, out, outOff)) {
                    found = new JFrameKeys.Slot(candidate, material);
                }
            }
            if (found == null) {
                Arrays.fill(material, (byte) 0);
                return Rejection.BAD_TAG.code();
            }
            put(keyIndex, found);
        }
        System.arraycopy(in, off, out, outOff, n);
        accept(w, ssrc, (int) counter, ahead, ts);
        expireBefore(keyIndex, satAdd(now, REORDER_MILLIS));
        return body;
    }

    /** The RTP-timestamp and arrival-time age rules of the class comment. */
    private boolean plausible(int w, boolean ahead, int ts, long rate) {
        long tsDelta = ts - highestTs[w];                    // signed 32-bit difference
        tsDelta = (int) tsDelta;
        long elapsed = Math.max(0, now - highestAt[w]);
        if (ahead) {
            // the media time since the highest must match the time elapsed since it arrived, within the age bound
            long mediaMillis = tsDelta * 1000 / rate;
            return tsDelta >= 0 && mediaMillis >= elapsed - MAX_FRAME_AGE_MILLIS
                    && mediaMillis <= elapsed + MAX_FRAME_AGE_MILLIS;
        }
        if (tsDelta > 0) {
            return false;                                    // an earlier counter cannot carry a later timestamp
        }
        return elapsed + (-tsDelta) * 1000 / rate <= MAX_FRAME_AGE_MILLIS;
    }

    private boolean isRetired(int ssrc) {
        for (int i = 0; i < retiredCount; i++) {
            if (retired[i] == ssrc) {
                return true;
            }
        }
        return false;
    }

    private boolean open(SecretKeySpec key, GCMParameterSpec spec, byte[] in, int off, int n, int ctLen,
                         byte[] out, int outOff) {
        try {
            cipher.init(Cipher.DECRYPT_MODE, key, spec);
            cipher.updateAAD(in, off, n);
            cipher.doFinal(in, off + n, ctLen, out, outOff + n);
            return true;
        } catch (AEADBadTagException e) {
            return false;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("frame decryption failed unexpectedly", e);
        }
    }

    private int windowIndex(int ssrc) {
        for (int i = 0; i < ssrcCount; i++) {
            if (ssrcs[i] == ssrc) {
                return i;
            }
        }
        return -1;
    }

    private void accept(int w, int ssrc, int counter, boolean ahead, int ts) {
        if (w < 0) {
            if (ssrcCount < MAX_SSRCS) {
                w = ssrcCount++;
            } else {
                w = 0;
                for (int i = 1; i < MAX_SSRCS; i++) {
                    if (lastUse[i] < lastUse[w]) {
                        w = i;
                    }
                }
                retired[retiredNext] = ssrcs[w];            // its window is forgotten: refuse its frames from now on
                retiredNext = (retiredNext + 1) % MAX_RETIRED_SSRCS;
                retiredCount = Math.min(retiredCount + 1, MAX_RETIRED_SSRCS);
            }
            ssrcs[w] = ssrc;
            windows[w] = new WrappingReplayWindow(JFrameSender.COUNTER_MODULUS);
        }
        lastUse[w] = ++clock;
        windows[w].accept(counter);
        if (ahead) {
            highestTs[w] = ts;
            highestAt[w] = now;
        }
    }

    static int getInt(byte[] b, int off) {
        return (b[off] & 0xFF) << 24 | (b[off + 1] & 0xFF) << 16 | (b[off + 2] & 0xFF) << 8 | (b[off + 3] & 0xFF);
    }

    @Override
    public String toString() {
        return "JFrameReceiver[ssrcs=" + ssrcCount + "]";
    }
}
