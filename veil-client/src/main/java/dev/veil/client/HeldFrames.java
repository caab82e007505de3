package dev.veil.client;

import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Frames that arrived before their sender's key, held per sender in arrival order, with bounds over all senders
 * (frames and bytes, checked before the copy). {@link E2eeSession} retries them when a key is installed and drops
 * them after {@link E2eeSession#HOLD_MILLIS}; a dropped frame's bytes are zeroed. Confined to the connection's loop.
 */
final class HeldFrames {
    /** A frame held until its key arrives, and when it arrived. */
    record Held(byte[] frame, long at) {
    }

    private final int maxFrames;
    private final int maxBytes;
    private final Map<String, ArrayDeque<Held>> held = new LinkedHashMap<>();
    private int frames;
    private int bytes;

    HeldFrames(int maxFrames, int maxBytes) {
        this.maxFrames = maxFrames;
        this.maxBytes = maxBytes;
    }

    /** Holds a copy of {@code frame} behind the sender's others; false (nothing copied) if the bounds do not allow. */
    boolean add(String sender, byte[] frame, long now) {
        if (frames + 1 > maxFrames || bytes + frame.length > maxBytes) {
            return false;
        }
        held.computeIfAbsent(sender, k -> new ArrayDeque<>()).addLast(new Held(frame.clone(), now));
        frames++;
        bytes += frame.length;
        return true;
    }

    /** Whether frames of {@code sender} wait. */
    boolean has(String sender) {
        ArrayDeque<Held> q = held.get(sender);
        return q != null && !q.isEmpty();
    }

    /** The sender's oldest held frame, or null. */
    Held first(String sender) {
        ArrayDeque<Held> q = held.get(sender);
        return q == null ? null : q.peekFirst();
    }

    /** Takes the sender's oldest held frame out (its bytes are the caller's now). */
    void removeFirst(String sender) {
        ArrayDeque<Held> q = held.get(sender);
        Held h = q.pollFirst();
        frames--;
        bytes -= h.frame().length;
        if (q.isEmpty()) {
            held.remove(sender);
        }
    }

    /** Drops every frame of {@code sender}, zeroing it. */
    void drop(String sender) {
        ArrayDeque<Held> q = held.remove(sender);
        if (q != null) {
            for (Held h : q) {
                frames--;
                bytes -= h.frame().length;
                Arrays.fill(h.frame(), (byte) 0);
            }
        }
    }

    /** The senders with frames held now. */
    List<String> senders() {
        return List.copyOf(held.keySet());
    }

    /** When the oldest frame held of any sender arrived, or Long.MAX_VALUE with none. */
    long oldest() {
        long t = Long.MAX_VALUE;
        for (ArrayDeque<Held> q : held.values()) {
            if (!q.isEmpty()) {
                t = Math.min(t, q.peekFirst().at());
            }
        }
        return t;
    }

    /** Frames held now (all senders). */
    int count() {
        return frames;
    }
}
