package dev.veil.client;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The device fingerprints a user has verified, each with the display name the peer had then. Share one instance
 * across connections ({@link Options#withVerifiedPeers}) so that a verification made in one call holds in the next;
 * persist it yourself with {@link #entries()} / {@link #add}. Thread-safe.
 */
public final class VerifiedPeers {
    /** A verified device fingerprint and the (server-relayed, claimed) name it was verified under, or null. */
    public record Entry(String fingerprint, String name) {}

    private final Map<String, Entry> byFingerprint = new LinkedHashMap<>();

    /** Remembers a verified device fingerprint (display form, any case/spacing) under {@code name} (may be null). */
    public synchronized void add(String fingerprint, String name) {
        byFingerprint.put(normalize(fingerprint), new Entry(fingerprint, name));
    }

    /** The entry of a device fingerprint, or null. */
    public synchronized Entry get(String fingerprint) {
        return fingerprint == null ? null : byFingerprint.get(normalize(fingerprint));
    }

    /** The fingerprints verified under {@code name} (empty for null). */
    public synchronized List<String> fingerprintsOf(String name) {
        List<String> out = new ArrayList<>();
        if (name != null) {
            for (Entry e : byFingerprint.values()) {
                if (name.equals(e.name())) {
                    out.add(e.fingerprint());
                }
            }
        }
        return out;
    }

    public synchronized List<Entry> entries() {
        return List.copyOf(byFingerprint.values());
    }

    static String normalize(String fp) {
        return fp.replace(" ", "").replace(":", "").toLowerCase(Locale.ROOT);
    }
}
