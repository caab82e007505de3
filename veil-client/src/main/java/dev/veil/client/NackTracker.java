package dev.veil.client;

import dev.veil.webrtc.rtp.RtpHeader;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Loss detection for one received video stream (the receive side of RFC 4585 Generic NACK): a packet whose sequence
 * number jumps ahead of the highest seen marks the numbers in between missing; each missing number is NACKed at the
 * next {@link #poll} and again every {@link #RETRY_MILLIS} up to {@link #MAX_TRIES} times, and forgotten as soon as
 * it arrives (a retransmission, after RTX is unwrapped, or a reordered packet) or after its last try. It also tells
 * duplicates apart (a retransmission of a packet that did arrive): {@link #onPacket} returns false for them.
 *
 * <p>Bounded whatever the sender does: at most {@link #MAX_MISSING} numbers are tracked (the oldest are given up
 * first), a jump of {@link #RESTART_GAP} or more is a restarted stream (nothing NACKed), and the received-set is a
 * fixed ring. Sans-IO: no clock, no thread; loop-confined.
 */
final class NackTracker {
    /** NACK again after this long (about one round trip and a half on a loaded link). */
    static final long RETRY_MILLIS = 100;
    /** NACKs per missing packet at most. */
    static final int MAX_TRIES = 10;
    /** Missing numbers tracked at most. */
    static final int MAX_MISSING = 256;
    /** A forward jump this large is a restart, not a loss. */
    static final int RESTART_GAP = 1024;
    private static final int RING = 2048;

    private static final class Missing {
        final long sinceMillis;
        long dueMillis;
        int tries;

        Missing(long nowMillis) {
            this.sinceMillis = nowMillis;
            this.dueMillis = nowMillis;
        }
    }

    private boolean started;
    private long highestExt;
    private final TreeMap<Long, Missing> missing = new TreeMap<>();
    /** Slot {@code ext % RING} holds the extended number last received there (-1: none). */
    private final long[] received = new long[RING];
    private long lost;
    private long recovered;
    private long givenUp;
    private long duplicates;
    /** The earliest time a number given up since the last {@link #takeGivenUpSince} was found missing. */
    private long givenUpSince = Long.MAX_VALUE;

    NackTracker() {
        java.util.Arrays.fill(received, -1);
    }

    /**
     * One packet of the stream (original or unwrapped retransmission).
     *
     * @return false if it is a duplicate of a packet already received (drop it), true otherwise
     */
    boolean onPacket(int sequenceNumber, long nowMillis) {
        int seq = sequenceNumber & 0xFFFF;
        if (!started) {
            started = true;
            highestExt = seq + 0x10000L; // room to go back across a wrap
            mark(highestExt);
            return true;
        }
        long ext = highestExt + RtpHeader.seqDelta((int) (highestExt & 0xFFFF), seq);
        if (ext > highestExt) {
            long gap = ext - highestExt - 1;
            if (gap >= RESTART_GAP) {
                for (Missing m : missing.values()) {
                    giveUp(m);
                }
                missing.clear();
            } else {
                for (long m = highestExt + 1; m < ext; m++) {
                    missing.put(m, new Missing(nowMillis));
                    lost++;
                }
                while (missing.size() > MAX_MISSING) {
                    giveUp(missing.pollFirstEntry().getValue());
                }
            }
            highestExt = ext;
            mark(ext);
            return true;
        }
        if (missing.remove(ext) != null) {
            recovered++;
            mark(ext);
            return true;
        }
        if (received[(int) (ext & (RING - 1))] == ext) {
            duplicates++;
            return false;
        }
        mark(ext); // older than anything tracked: let the receiver judge it
        return true;
    }

    private void giveUp(Missing m) {
        givenUp++;
        givenUpSince = Math.min(givenUpSince, m.sinceMillis);
    }

    /**
     * When the earliest of the numbers given up since the last call was found missing ({@link Long#MAX_VALUE}: none
     * given up since), and starts over: a key frame that arrived after that time makes the loss moot.
     */
    long takeGivenUpSince() {
        long t = givenUpSince;
        givenUpSince = Long.MAX_VALUE;
        return t;
    }

    private void mark(long ext) {
        received[(int) (ext & (RING - 1))] = ext;
    }

    /** The sequence numbers to NACK now (empty if none is due); each due one counts a try. */
    List<Integer> poll(long nowMillis) {
        List<Integer> due = null;
        for (Iterator<Map.Entry<Long, Missing>> it = missing.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<Long, Missing> e = it.next();
            Missing m = e.getValue();
            if (m.dueMillis > nowMillis) {
                continue;
            }
            if (m.tries >= MAX_TRIES) {
                it.remove();
                giveUp(m);
                continue;
            }
            if (due == null) {
                due = new ArrayList<>();
            }
            due.add((int) (e.getKey() & 0xFFFF));
            m.tries++;
            m.dueMillis = nowMillis + RETRY_MILLIS;
        }
        return due == null ? List.of() : due;
    }

    /** When {@link #poll} has something to do next ({@link Long#MAX_VALUE}: nothing missing). */
    long nextTimeoutMillis() {
        long next = Long.MAX_VALUE;
        for (Missing m : missing.values()) {
            next = Math.min(next, m.dueMillis);
        }
        return next;
    }

    /** Sequence numbers found missing. */
    long lost() {
        return lost;
    }

    /** Of those, the ones that arrived later (retransmitted or reordered). */
    long recovered() {
        return recovered;
    }

    /** Of those, the ones given up (too many tries, too many missing, or a restart). */
    long givenUp() {
        return givenUp;
    }

    /** Packets received twice (dropped). */
    long duplicates() {
        return duplicates;
    }
}
