package dev.veil.webrtc.cc;

import dev.veil.webrtc.rtcp.TransportFeedback;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The receive side of transport-wide congestion control for one transport (one publisher's bundle): it records the
 * arrival time of every RTP packet carrying a transport-wide sequence number and periodically emits {@link
 * TransportFeedback} packets reporting every sequence number since the last feedback as received (with its arrival
 * time) or lost, so the sender's delay-based estimator (Chromium's GCC) can run. Sans-IO: feed {@link #onPacket},
 * call {@link #poll} at {@link #nextTimeoutMillis()}, drain {@link #pollOutput()}. No clock, no thread; not
 * thread-safe.
 *
 * <h2>Cadence</h2>
 * Like libwebrtc's receive side in periodic mode: one feedback round every {@link Config#intervalMillis()} (100 ms by
 * default) while packets arrive, and at once when {@link Config#packetsPerFeedback()} sequence numbers are pending
 * (so a feedback stays small at high rates). A round covers the sequence numbers from the last reported + 1 to the
 * highest received; it is split into several packets when one would exceed {@link Config#maxPacketBytes()} or a
 * receive delta does not fit 16 bits (a gap of over 8 s).
 *
 * <h2>Hostile or odd input</h2>
 * State is a fixed ring of {@link Config#windowSize()} arrivals, allocated once. Sequence numbers are unwrapped
 * against the highest seen (RFC 1982: a step of more than 32767 backwards is read as old). A packet older than the
 * last reported sequence number is counted as late and ignored (it was reported lost; libwebrtc does the same once
 * its window has moved); a duplicate keeps its first arrival. A jump forward by {@code windowSize} or more is taken
 * as a restart of the sequence: what is pending is reported first, the skipped numbers are not reported.
 */
public final class TransportFeedbackGenerator {

    /**
     * Tuning.
     *
     * @param intervalMillis time between feedback rounds while packets arrive (libwebrtc: 100 ms by default, 50..250
     *     ms with its rate-based adaptation)
     * @param packetsPerFeedback pending sequence numbers that make a round due at once
     * @param windowSize arrivals kept (a power of two, 64..32768); also the largest forward jump not taken as a restart
     * @param maxPacketBytes the largest feedback packet (before SRTCP), at least 64
     */
    public record Config(int intervalMillis, int packetsPerFeedback, int windowSize, int maxPacketBytes) {
        public Config {
            if (intervalMillis < 1) {
                throw new IllegalArgumentException("interval must be positive");
            }
            if (windowSize < 64 || windowSize > 32768 || Integer.bitCount(windowSize) != 1) {
                throw new IllegalArgumentException("window size must be a power of two in 64..32768");
            }
            if (packetsPerFeedback < 1 || packetsPerFeedback > windowSize) {
                throw new IllegalArgumentException("packets per feedback must be 1..windowSize");
            }
            if (maxPacketBytes < 64 || maxPacketBytes > 0x3FFFC) {
                throw new IllegalArgumentException("max packet bytes must be 64..262140");
            }
        }

        /**
         * 100 ms, 250 packets, a window of 2048 (32 KiB per publisher; about 7 s of a 2.5 Mbit/s camera with audio),
         * packets of at most 1100 bytes.
         */
        public static Config defaults() {
            return new Config(100, 250, 2048, 1100);
        }
    }

    /** Counters. */
    public record Stats(long packets, long duplicates, long late, long restarts, long feedbackPackets) {}

    private static final long NONE = Long.MIN_VALUE;

    private final long senderSsrc;
    private final Config config;
    private final int mask;
    private final long[] slotSeq;
    private final long[] slotTicks;
    private final ArrayDeque<TransportFeedback> out = new ArrayDeque<>();
    private boolean started;
    /** Extended sequence number of the first not yet reported. */
    private long start;
    /** Highest extended sequence number received. */
    private long highest;
    private long mediaSsrc;
    private int feedbackCount;
    private long deadline = Long.MAX_VALUE;
    private long lastRoundMillis = NONE;

    private long packets;
    private long duplicates;
    private long late;
    private long restarts;
    private long feedbackPackets;

    /**
     * @param senderSsrc the SSRC the feedback is sent from (the server's RTCP SSRC)
     * @param config tuning
     */
    public TransportFeedbackGenerator(long senderSsrc, Config config) {
        if (senderSsrc < 0 || senderSsrc > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException("senderSsrc is unsigned 32 bits");
        }
        this.senderSsrc = senderSsrc;
        this.config = Objects.requireNonNull(config, "config");
        this.mask = config.windowSize() - 1;
        this.slotSeq = new long[config.windowSize()];
        this.slotTicks = new long[config.windowSize()];
        java.util.Arrays.fill(slotSeq, NONE);
    }

    /**
     * Records one received RTP packet.
     *
     * @param transportSequence its transport-wide sequence number (16 bits)
     * @param mediaSsrc its SSRC (the feedback names the last one, as libwebrtc does)
     * @param arrivalMicros when it arrived, in microseconds on any monotonic clock (the shell's receive time)
     * @param nowMillis the current time, same clock as {@link #poll}
     */
    public void onPacket(int transportSequence, long mediaSsrc, long arrivalMicros, long nowMillis) {
        if (transportSequence < 0 || transportSequence > 0xFFFF) {
            throw new IllegalArgumentException("transport-wide sequence numbers are 16 bits");
        }
        packets++;
        this.mediaSsrc = mediaSsrc & 0xFFFF_FFFFL;
        long ext;
        if (!started) {
            started = true;
            ext = transportSequence;
            start = ext;
            highest = ext;
        } else {
            ext = highest + (short) (transportSequence - (int) (highest & 0xFFFF));
            if (ext < start) {
                late++;
                return;
            }
            if (ext > highest) {
                if (ext - start >= config.windowSize()) {
                    if (highest >= start) {
                        round();
                    }
                    restarts++;
                    start = ext;
                }
                highest = ext;
            } else if (slotSeq[(int) (ext & mask)] == ext) {
                duplicates++;
                return;
            }
        }
        int slot = (int) (ext & mask);
        slotSeq[slot] = ext;
        slotTicks[slot] = Math.floorDiv(arrivalMicros, TransportFeedback.DELTA_MICROS);
        if (highest - start + 1 >= config.packetsPerFeedback()) {
            deadline = nowMillis;
        } else if (deadline == Long.MAX_VALUE) {
            deadline = lastRoundMillis == NONE ? nowMillis + config.intervalMillis()
                    : Math.max(nowMillis, lastRoundMillis + config.intervalMillis());
        }
    }

    /** When {@link #poll} should run next ({@link Long#MAX_VALUE}: nothing pending). */
    public long nextTimeoutMillis() {
        return deadline;
    }

    /** Emits a feedback round if one is due. */
    public void poll(long nowMillis) {
        if (nowMillis < deadline) {
            return;
        }
        if (started && highest >= start) {
            round();
        }
        lastRoundMillis = nowMillis;
        deadline = Long.MAX_VALUE;
    }

    /** The next feedback packet to send, or null. */
    public TransportFeedback pollOutput() {
        return out.poll();
    }

    /** A snapshot of the counters. */
    public Stats stats() {
        return new Stats(packets, duplicates, late, restarts, feedbackPackets);
    }

    /** Reports [start, highest] in as many packets as needed; then start = highest + 1. */
    private void round() {
        long s = start;
        while (s <= highest) {
            s = emitFrom(s);
        }
        start = highest + 1;
    }

    private long ticksOf(long ext) {
        int slot = (int) (ext & mask);
        return slotSeq[slot] == ext ? slotTicks[slot] : NONE;
    }

    /** Builds one packet from {@code from}; returns the first extended sequence number it does not cover. */
    private long emitFrom(long from) {
        long end = Math.min(highest, from + 0xFFFE); // at most 65535 statuses
        long firstTicks = NONE;
        for (long e = from; e <= end; e++) {
            firstTicks = ticksOf(e);
            if (firstTicks != NONE) {
                break;
            }
        }
        if (firstTicks == NONE) {
            // only losses left in this range (cannot happen for a range ending at a received packet)
            return end + 1;
        }
        long refUnits = Math.floorDiv(firstTicks, TransportFeedback.DELTAS_PER_REFERENCE);
        long prev = refUnits * TransportFeedback.DELTAS_PER_REFERENCE;
        List<TransportFeedback.Received> received = new ArrayList<>();
        List<Long> receivedExt = new ArrayList<>();
        long stop = end + 1;
        for (long e = from; e <= end; e++) {
            long t = ticksOf(e);
            if (t == NONE) {
                continue;
            }
            long delta = t - prev;
            if (delta < Short.MIN_VALUE || delta > Short.MAX_VALUE) {
                stop = e;
                break;
            }
            received.add(new TransportFeedback.Received((int) (e & 0xFFFF), (int) delta));
            receivedExt.add(e);
            prev = t;
        }
        // the longest prefix that fits maxPacketBytes (ending just after a received packet)
        int n = received.size();
        TransportFeedback fb = build(from, stop, received, refUnits);
        if (fb.encodedLength() > config.maxPacketBytes()) {
            int lo = 1;
            int hi = n - 1;
            while (lo < hi) {
                int mid = (lo + hi + 1) >>> 1;
                if (build(from, receivedExt.get(mid - 1) + 1, received.subList(0, mid), refUnits).encodedLength()
                        <= config.maxPacketBytes()) {
                    lo = mid;
                } else {
                    hi = mid - 1;
                }
            }
            stop = receivedExt.get(lo - 1) + 1;
            fb = build(from, stop, received.subList(0, lo), refUnits);
        }
        out.add(fb);
        feedbackPackets++;
        feedbackCount = (feedbackCount + 1) & 0xFF;
        return stop;
    }

    private TransportFeedback build(long from, long stop, List<TransportFeedback.Received> received, long refUnits) {
        return new TransportFeedback(senderSsrc, mediaSsrc, (int) (from & 0xFFFF), (int) (stop - from),
                (int) Math.floorMod(refUnits, 1L << 24), feedbackCount, received);
    }
}
