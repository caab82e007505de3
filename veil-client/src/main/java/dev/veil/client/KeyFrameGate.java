package dev.veil.client;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What a received video stream does once a loss cannot be repaired: it asks the sender for a key frame with a
 * Picture Loss Indication (RFC 4585 §6.3.1, naming the stream's media SSRC) and hands nothing on until one arrives,
 * since every delta frame after the lost one refers to a picture the decoder never had. Per SSRC:
 *
 * <ul>
 *   <li>{@link #onLoss} (a frame abandoned, or a NACKed packet given up) starts waiting for a key frame and schedules
 *       a PLI, unless a key frame was let through after the loss was found (it already repaired the picture);</li>
 *   <li>PLIs of one SSRC are at least {@link #MIN_INTERVAL_MILLIS} apart (a burst of losses costs one key frame), and
 *       while no key frame comes the PLI is repeated every {@link #RETRY_MILLIS} (the PLI, or the key frame, may have
 *       been lost too);</li>
 *   <li>{@link #admit} says whether a completed frame goes on: always while not waiting; while waiting only a key
 *       frame, which ends the wait (the delta frames before it are dropped, counted).</li>
 * </ul>
 * Sans-IO and loop-confined: times in, due SSRCs out of {@link #poll}, next deadline from {@link
 * #nextTimeoutMillis()}. Bounded by the streams the caller keeps ({@link #remove} when one ends).
 */
final class KeyFrameGate {
    /** Two PLIs of one SSRC are at least this far apart (about a key frame's round trip on a slow link). */
    static final long MIN_INTERVAL_MILLIS = 300;
    /**
     * While still waiting, the PLI is repeated after this long (the server drops requests closer than 500 ms to its
     * last one for the same publisher, e.g. the one it made when this subscriber joined).
     */
    static final long RETRY_MILLIS = 500;

    private static final class State {
        boolean waiting;
        long dueMillis = Long.MAX_VALUE;
        long lastPliMillis = Long.MIN_VALUE;
        long lastKeyMillis = Long.MIN_VALUE;
        long plis;
        long dropped;
    }

    private final Map<Long, State> streams = new HashMap<>();

    private State state(long ssrc) {
        return streams.computeIfAbsent(ssrc, k -> new State());
    }

    /**
     * A loss that will not be repaired on stream {@code ssrc}.
     *
     * @param lostSinceMillis when the loss was found (a key frame let through after it makes it moot)
     */
    void onLoss(long ssrc, long lostSinceMillis, long nowMillis) {
        State s = state(ssrc);
        if (s.waiting || s.lastKeyMillis > lostSinceMillis) {
            return; // a PLI is scheduled or out already, or a newer key frame repaired the picture
        }
        s.waiting = true;
        s.dueMillis = s.lastPliMillis == Long.MIN_VALUE ? nowMillis
                : Math.max(nowMillis, s.lastPliMillis + MIN_INTERVAL_MILLIS);
    }

    /** Whether a completed frame of {@code ssrc} goes on to the application (false: dropped, counted). */
    boolean admit(long ssrc, boolean keyFrame, long nowMillis) {
        State s = streams.get(ssrc);
        if (keyFrame) {
            s = s == null ? state(ssrc) : s;
            s.lastKeyMillis = nowMillis;
            s.waiting = false;
            s.dueMillis = Long.MAX_VALUE;
            return true;
        }
        if (s == null || !s.waiting) {
            return true;
        }
        s.dropped++;
        return false;
    }

    /** The SSRCs to send a PLI for now (empty if none is due). */
    List<Long> poll(long nowMillis) {
        List<Long> due = null;
        for (Map.Entry<Long, State> e : streams.entrySet()) {
            State s = e.getValue();
            if (s.dueMillis > nowMillis) {
                continue;
            }
            if (due == null) {
                due = new ArrayList<>();
            }
            due.add(e.getKey());
            s.plis++;
            s.lastPliMillis = nowMillis;
            s.dueMillis = nowMillis + RETRY_MILLIS;
        }
        return due == null ? List.of() : due;
    }

    /** When {@link #poll} has a PLI to send ({@link Long#MAX_VALUE}: none). */
    long nextTimeoutMillis() {
        long next = Long.MAX_VALUE;
        for (State s : streams.values()) {
            next = Math.min(next, s.dueMillis);
        }
        return next;
    }

    /** Whether {@code ssrc} waits for a key frame. */
    boolean waiting(long ssrc) {
        State s = streams.get(ssrc);
        return s != null && s.waiting;
    }

    /** PLIs sent for {@code ssrc}. */
    long plis(long ssrc) {
        State s = streams.get(ssrc);
        return s == null ? 0 : s.plis;
    }

    /** Frames of {@code ssrc} dropped while waiting for a key frame. */
    long dropped(long ssrc) {
        State s = streams.get(ssrc);
        return s == null ? 0 : s.dropped;
    }

    /** Forgets a stream (it left the plan). */
    void remove(long ssrc) {
        streams.remove(ssrc);
    }

    /** The SSRCs known. */
    java.util.Set<Long> ssrcs() {
        return streams.keySet();
    }
}
