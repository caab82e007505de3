package dev.veil.e2ee.key;

import java.util.Objects;
import java.util.function.Consumer;

/**
 * One sender's keys by {@link KeyId}, at most {@code capacity} of them. Installing a key into a full ring retires
 * the key installed longest ago (its entry is handed to the retire callback, which should wipe it). Lookups scan a
 * small array and allocate nothing.
 *
 * <p>Not thread-safe: confine a ring to the receiver that owns it.
 *
 * @param <E> the per-key state (derived key, replay window, ...)
 */
public final class KeyRing<E> {
    private final long[] kids;
    private final long[] installedAt;
    private final Object[] entries;
    private final Consumer<? super E> onRetire;
    private int size;
    private long clock;

    /**
     * @param capacity how many keys are kept at once (at least 1)
     * @param onRetire called with every entry that leaves the ring (retired, replaced or removed)
     */
    public KeyRing(int capacity, Consumer<? super E> onRetire) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be at least 1");
        }
        this.kids = new long[capacity];
        this.installedAt = new long[capacity];
        this.entries = new Object[capacity];
        this.onRetire = Objects.requireNonNull(onRetire, "onRetire");
    }

    public int capacity() {
        return kids.length;
    }

    public int size() {
        return size;
    }

    /** The entry for a 64-bit KID, or null. */
    @SuppressWarnings("unchecked")
    public E get(long kid) {
        for (int i = 0; i < size; i++) {
            if (kids[i] == kid) {
                return (E) entries[i];
            }
        }
        return null;
    }

    public E get(KeyId id) {
        return get(id.toKid());
    }

    /** Installs (or replaces) the entry for {@code id}; retires the oldest entry if the ring is full. */
    @SuppressWarnings("unchecked")
    public void put(KeyId id, E entry) {
        Objects.requireNonNull(entry, "entry");
        long kid = id.toKid();
        for (int i = 0; i < size; i++) {
            if (kids[i] == kid) {
                E old = (E) entries[i];
                entries[i] = entry;
                installedAt[i] = ++clock;
                if (old != entry) {
                    onRetire.accept(old);
                }
                return;
            }
        }
        int slot;
        if (size < kids.length) {
            slot = size++;
        } else {
            slot = 0;
            for (int i = 1; i < size; i++) {
                if (installedAt[i] < installedAt[slot]) {
                    slot = i;
                }
            }
            onRetire.accept((E) entries[slot]);
        }
        kids[slot] = kid;
        entries[slot] = entry;
        installedAt[slot] = ++clock;
    }

    /** Removes the entry for {@code id}; returns whether there was one. */
    @SuppressWarnings("unchecked")
    public boolean remove(KeyId id) {
        long kid = id.toKid();
        for (int i = 0; i < size; i++) {
            if (kids[i] == kid) {
                E old = (E) entries[i];
                int last = --size;
                kids[i] = kids[last];
                entries[i] = entries[last];
                installedAt[i] = installedAt[last];
                entries[last] = null;
                onRetire.accept(old);
                return true;
            }
        }
        return false;
    }

    /** The KID in slot {@code i} (0 &lt;= i &lt; size; slots move when entries are removed). */
    public long kidAt(int i) {
        java.util.Objects.checkIndex(i, size);
        return kids[i];
    }

    /** The entry in slot {@code i}. */
    @SuppressWarnings("unchecked")
    public E entryAt(int i) {
        java.util.Objects.checkIndex(i, size);
        return (E) entries[i];
    }

    /** Removes every entry. */
    @SuppressWarnings("unchecked")
    public void clear() {
        for (int i = 0; i < size; i++) {
            onRetire.accept((E) entries[i]);
            entries[i] = null;
        }
        size = 0;
    }

    /**
     * The id of the key in {@code target}'s generation with the highest step below {@code target}'s step, if it is
     * at most {@code maxSteps} behind; null otherwise. That key can be ratcheted forward to {@code target}.
     */
    public KeyId ratchetBase(KeyId target, int maxSteps) {
        int best = -1;
        for (int i = 0; i < size; i++) {
            long kid = kids[i];
            if (kid >>> 8 == target.generation()) {
                int step = (int) (kid & 0xFF);
                if (step < target.step() && step > best && target.step() - step <= maxSteps) {
                    best = step;
                }
            }
        }
        return best < 0 ? null : new KeyId(target.generation(), best);
    }
}
