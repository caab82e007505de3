package dev.veil.e2ee.jframe;

import dev.veil.e2ee.codec.ClearPrefixPolicy;
import dev.veil.e2ee.codec.FrameBuffers;
import dev.veil.e2ee.codec.FrameCryptoException;
import dev.veil.e2ee.codec.FrameType;
import dev.veil.e2ee.key.KeyRatchet;
import dev.veil.e2ee.util.SecretBytes;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Objects;
import java.util.random.RandomGenerator;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;

/**
 * Encrypts one participant's frames in JFrame, the format of Jitsi's lib-jitsi-meet ({@code Context.ts}),
 * byte-compatible with it:
 *
 * <pre>
 *   +--------------+----------------------+----------+-----------------------------------+------+-----------+
 *   | clear prefix | AES-128-GCM ct       | tag      | IV: SSRC BE32 ‖ RTP ts BE32 ‖      | 0x0C | key index |
 *   | n bytes (AAD)| frame length - n     | 16 bytes |     (sendCount % 0xFFFF) BE32      | 1 B  | 1 B       |
 *   +--------------+----------------------+----------+-----------------------------------+------+-----------+
 * </pre>
 *
 * <p>The per-SSRC send counter starts at a random value in [0, 65534] (drawn from the injected random on the SSRC's
 * first frame), grows by one per frame, and is not reset on key change. The key ring has 16 slots; {@link #setKey}
 * writes slot {@code keyIndex % 16} and makes it current.
 *
 * <p>Not thread-safe: one sender per participant, confined to one thread; JCE objects and scratch buffers are reused.
 */
public final class JFrameSender {
    /** Slots in the key ring (the key-index byte is 0..15). */
    public static final int KEY_RING_SIZE = 16;
    public static final int IV_LENGTH = 12;
    public static final int TAG_LENGTH = 16;
    /** Bytes added to every frame: tag 16 + IV 12 + IV-length byte + key-index byte. */
    public static final int OVERHEAD = TAG_LENGTH + IV_LENGTH + 2;
    /** The send counter is written modulo this (65535, as Jitsi does). */
    public static final int COUNTER_MODULUS = 0xFFFF;

    private final RandomGenerator random;
    private final Cipher cipher;
    private final JFrameKeys.Slot[] ring = new JFrameKeys.Slot[KEY_RING_SIZE];
    private final byte[] iv = new byte[IV_LENGTH];
    private int current = -1;
    private int[] ssrcs = new int[4];
    private int[] counts = new int[4];
    private int ssrcCount;

    /** A sender whose initial counters come from a new {@link SecureRandom}. */
    public JFrameSender() {
        this(new SecureRandom());
    }

    /** A sender whose initial per-SSRC counters come from {@code random} (inject a seeded one in tests). */
    public JFrameSender(RandomGenerator random) {
        this.random = Objects.requireNonNull(random, "random");
        try {
            this.cipher = Cipher.getInstance("AES/GCM/NoPadding");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES/GCM unavailable", e);
        }
    }

    /**
     * Installs key material (Jitsi's 32 random bytes; any non-empty length) in slot {@code keyIndex % 16} and makes
     * it current; the AES key is derived with HKDF ({@code "JFrameEncryptionKey"}).
     */
    public void setKey(int keyIndex, SecretBytes material) {
        install(keyIndex, JFrameKeys.Slot.fromMaterial(material.toByteArray()));
    }

    /**
     * Installs a raw AES key (16 bytes; Jitsi's externally managed "sharedKey" mode, or a passphrase key) in slot
     * {@code keyIndex % 16} and makes it current. Raw keys are never ratcheted.
     */
    public void setRawKey(int keyIndex, SecretBytes aesKey) {
        install(keyIndex, JFrameKeys.Slot.raw(aesKey.toByteArray()));
    }

    /** Empties slot {@code keyIndex % 16}; if it was current, encryption stops until a key is set. */
    public void removeKey(int keyIndex) {
        int slot = slotOf(keyIndex);
        if (ring[slot] != null) {
            ring[slot].destroy();
            ring[slot] = null;
        }
    }

    private void install(int keyIndex, JFrameKeys.Slot s) {
        int slot = slotOf(keyIndex);
        if (ring[slot] != null) {
            ring[slot].destroy();
        }
        ring[slot] = s;
        current = slot;
    }

    static int slotOf(int keyIndex) {
        if (keyIndex < 0) {
            throw new IllegalArgumentException("negative key index: " + keyIndex);
        }
        return keyIndex % KEY_RING_SIZE;
    }

    /**
     * Ratchets the current key's material with {@link KeyRatchet#JFRAME} (Jitsi does this on a join), keeping its
     * slot.
     *
     * @throws FrameCryptoException if there is no current key or it is a raw key
     */
    public void ratchet() throws FrameCryptoException {
        JFrameKeys.Slot s = current < 0 ? null : ring[current];
        if (s == null) {
            throw new FrameCryptoException("no key set");
        }
        if (s.material == null) {
            throw new FrameCryptoException("a raw key cannot be ratcheted");
        }
        install(current, JFrameKeys.Slot.fromMaterial(KeyRatchet.JFRAME.next(s.material)));
    }

    /** The current key index (0..15), or -1 if no key was set. */
    public int currentKeyIndex() {
        return current;
    }

    /**
     * Encrypts {@code frame[off, off + len)} and writes the JFrame ({@code len + 30} bytes) to {@code out} at
     * {@code outOff}; returns the number of bytes written.
     *
     * @param ssrc the stream's SSRC (unsigned 32-bit, held in an int)
     * @param rtpTimestamp the frame's RTP timestamp (unsigned 32-bit, held in an int)
     * @throws FrameCryptoException if no key is set in the current slot
     */
    public int encrypt(ClearPrefixPolicy policy, FrameType type, int ssrc, int rtpTimestamp,
                       byte[] frame, int off, int len, byte[] out, int outOff) throws FrameCryptoException {
        FrameBuffers.checkRange(frame, off, len);
        FrameBuffers.checkOutput(frame, off, len, out, outOff, len + OVERHEAD);
        JFrameKeys.Slot s = current < 0 ? null : ring[current];
        if (s == null) {
            throw new FrameCryptoException("no key set");
        }
        int n = FrameBuffers.prefix(policy, frame, off, len, type);
        int count = nextCount(ssrc);
        putInt(iv, 0, ssrc);
        putInt(iv, 4, rtpTimestamp);
        putInt(iv, 8, count);
        try {
            cipher.init(Cipher.ENCRYPT_MODE, s.aesKey, new GCMParameterSpec(TAG_LENGTH * 8, iv));
            cipher.updateAAD(frame, off, n);
            System.arraycopy(frame, off, out, outOff, n);
            int c = cipher.doFinal(frame, off + n, len - n, out, outOff + n);
            int p = outOff + n + c;
            System.arraycopy(iv, 0, out, p, IV_LENGTH);
            out[p + IV_LENGTH] = IV_LENGTH;
            out[p + IV_LENGTH + 1] = (byte) current;
            return p + IV_LENGTH + 2 - outOff;
        } catch (GeneralSecurityException e) {
            throw new FrameCryptoException("JFrame encryption failed", e);
        }
    }

    /** {@link #encrypt(ClearPrefixPolicy, FrameType, int, int, byte[], int, int, byte[], int)} into a new array. */
    public byte[] encrypt(ClearPrefixPolicy policy, FrameType type, int ssrc, int rtpTimestamp, byte[] frame)
            throws FrameCryptoException {
        byte[] out = new byte[frame.length + OVERHEAD];
        encrypt(policy, type, ssrc, rtpTimestamp, frame, 0, frame.length, out, 0);
        return out;
    }

    /** The IV counter for this frame of {@code ssrc}, advancing the SSRC's send count. */
    private int nextCount(int ssrc) {
        for (int i = 0; i < ssrcCount; i++) {
            if (ssrcs[i] == ssrc) {
                int c = counts[i];
                counts[i] = c + 1 == COUNTER_MODULUS ? 0 : c + 1;
                return c;
            }
        }
        if (ssrcCount == ssrcs.length) {
            ssrcs = Arrays.copyOf(ssrcs, ssrcCount * 2);
            counts = Arrays.copyOf(counts, ssrcCount * 2);
        }
        int start = random.nextInt(COUNTER_MODULUS); // [0, 65534], like Math.floor(Math.random() * 0xFFFF)
        ssrcs[ssrcCount] = ssrc;
        counts[ssrcCount] = start + 1 == COUNTER_MODULUS ? 0 : start + 1;
        ssrcCount++;
        return start;
    }

    static void putInt(byte[] b, int off, int v) {
        b[off] = (byte) (v >>> 24);
        b[off + 1] = (byte) (v >>> 16);
        b[off + 2] = (byte) (v >>> 8);
        b[off + 3] = (byte) v;
    }

    @Override
    public String toString() {
        return "JFrameSender[keyIndex=" + current + ", ssrcs=" + ssrcCount + "]";
    }
}
