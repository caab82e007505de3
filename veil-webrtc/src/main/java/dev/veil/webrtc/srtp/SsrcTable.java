package dev.veil.webrtc.srtp;

import java.util.Arrays;

/**
 * A map from a 32-bit SSRC to a stream's state without boxing (open addressing, linear probing; no removal), for
 * the per-packet lookups of {@link SrtpSession}: a {@code HashMap<Integer, ...>} boxed every SSRC outside the
 * {@code Integer} cache, i.e. allocated on every packet whose stream was not in a small cache. The caller bounds
 * the number of entries ({@link SrtpSession#MAX_STREAMS}); the table doubles when half full. Not thread-safe.
 */
final class SsrcTable<V> {
    private int[] keys = new int[16];
    private Object[] values = new Object[16];
    private int size;

    int size() {
        return size;
    }

    private static int slot(int ssrc, int mask) {
        int h = ssrc * 0x9E3779B9; // Fibonacci hashing: SSRCs are random, but test SSRCs are often sequential
        return (h ^ (h >>> 16)) & mask;
    }

    @SuppressWarnings("unchecked")
    V get(int ssrc) {
        int mask = keys.length - 1;
        for (int i = slot(ssrc, mask); ; i = (i + 1) & mask) {
            Object v = values[i];
            if (v == null) {
                return null;
            }
            if (keys[i] == ssrc) {
                return (V) v;
            }
        }
    }

    /** Adds or replaces the entry of {@code ssrc} ({@code value} not null). */
    void put(int ssrc, V value) {
        if (value == null) {
            throw new NullPointerException("value");
        }
        if (2 * (size + 1) > keys.length) {
            grow();
        }
        int mask = keys.length - 1;
        for (int i = slot(ssrc, mask); ; i = (i + 1) & mask) {
            if (values[i] == null) {
                keys[i] = ssrc;
                values[i] = value;
                size++;
                return;
            }
            if (keys[i] == ssrc) {
                values[i] = value;
                return;
            }
        }
    }

    private void grow() {
        int[] oldKeys = keys;
        Object[] oldValues = values;
        keys = new int[oldKeys.length * 2];
        values = new Object[oldKeys.length * 2];
        size = 0;
        for (int i = 0; i < oldKeys.length; i++) {
            if (oldValues[i] != null) {
                @SuppressWarnings("unchecked")
                V v = (V) oldValues[i];
                put(oldKeys[i], v);
            }
        }
    }

    @Override
    public String toString() {
        return "SsrcTable[" + size + " of " + keys.length + "]";
    }

    /** (For tests: the keys present, sorted.) */
    int[] keysForTest() {
        int[] out = new int[size];
        int n = 0;
        for (int i = 0; i < keys.length; i++) {
            if (values[i] != null) {
                out[n++] = keys[i];
            }
        }
        Arrays.sort(out);
        return out;
    }
}
