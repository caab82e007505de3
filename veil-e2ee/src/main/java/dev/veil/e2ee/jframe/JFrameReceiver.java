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
 *       is {@link Rejection#MALFORMED_HEADER}.</li>
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

    private final Cipher cipher;
    private final JFrameKeys.Slot[] ring = new JFrameKeys.Slot[JFrameSender.KEY_RING_SIZE];
    private final int[] ssrcs = new int[MAX_SSRCS];
    private final WrappingReplayWindow[] windows = new WrappingReplayWindow[MAX_SSRCS];
    private final long[] lastUse = new long[MAX_SSRCS];
    private int ssrcCount;
    private long clock;

    public JFrameReceiver() {
        try {
            this.cipher = Cipher.getInstance("AES/GCM/NoPadding");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES/GCM unavailable", e);
        }
    }

    /** Installs key material in slot {@code keyIndex % 16} (AES key by HKDF, ratchetable). */
    public void setKey(int keyIndex, SecretBytes material) {
        put(JFrameSender.slotOf(keyIndex), JFrameKeys.Slot.fromMaterial(material.toByteArray()));
    }

    /** Installs a raw AES key in slot {@code keyIndex % 16} (shared-key or passphrase mode; never ratcheted). */
    public void setRawKey(int keyIndex, SecretBytes aesKey) {
        put(JFrameSender.slotOf(keyIndex), JFrameKeys.Slot.raw(aesKey.toByteArray()));
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

    /** As {@link #decrypt}, returning the plaintext length or a negative {@link Rejection#code()}. */
    public int decryptRaw(ClearPrefixPolicy policy, FrameType type, byte[] in, int off, int len,
                          byte[] out, int outOff) {
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
        long counter = getInt(in, ivOff + 8) & 0xFFFFFFFFL;
        if (counter >= JFrameSender.COUNTER_MODULUS) {
            return Rejection.MALFORMED_HEADER.code();
        }
        int w = windowIndex(ssrc);
        if (w >= 0 && !windows[w].isFresh((int) counter)) {
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
        accept(w, ssrc, (int) counter);
        return body;
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

    private void accept(int w, int ssrc, int counter) {
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
            }
            ssrcs[w] = ssrc;
            windows[w] = new WrappingReplayWindow(JFrameSender.COUNTER_MODULUS);
        }
        lastUse[w] = ++clock;
        windows[w].accept(counter);
    }

    static int getInt(byte[] b, int off) {
        return (b[off] & 0xFF) << 24 | (b[off + 1] & 0xFF) << 16 | (b[off + 2] & 0xFF) << 8 | (b[off + 3] & 0xFF);
    }

    @Override
    public String toString() {
        return "JFrameReceiver[ssrcs=" + ssrcCount + "]";
    }
}
