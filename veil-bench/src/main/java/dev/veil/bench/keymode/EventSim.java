package dev.veil.bench.keymode;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * A discrete-event simulation of members (and the server) exchanging messages through the server, on a manual clock
 * in nanoseconds. Each actor is its own single-threaded device: a step it runs starts when its message has arrived
 * and the actor is free, and lasts the step's {@link Cost} (the thread CPU time the step really took, or zero for a
 * deterministic run); what the step sends leaves when it ends. A message takes {@code hops} one-way hops of
 * {@link #hopNanos()} each (member → server is one hop, member → member through the server two). Deterministic for
 * a given cost model: events of equal time run in the order they were scheduled.
 */
final class EventSim {
    /** What a step costs on the clock. */
    interface Cost {
        /** Starts measuring a step. */
        long begin();

        /** The step's cost in nanoseconds, given what {@link #begin} returned. */
        long end(long token);
    }

    /** Zero: only hops take time (deterministic). */
    static final Cost FREE = new Cost() {
        @Override
        public long begin() {
            return 0;
        }

        @Override
        public long end(long token) {
            return 0;
        }
    };

    /** The CPU time of the simulating thread (robust against other processes on a busy machine). */
    static Cost threadCpu() {
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        if (!mx.isCurrentThreadCpuTimeSupported()) {
            throw new IllegalStateException("thread CPU time is not supported here");
        }
        return new Cost() {
            @Override
            public long begin() {
                return mx.getCurrentThreadCpuTime();
            }

            @Override
            public long end(long token) {
                return mx.getCurrentThreadCpuTime() - token;
            }
        };
    }

    /** A step an actor runs; it sends through {@code out}. */
    interface Step {
        void run(Out out) throws Exception;
    }

    /** Sends of the running step: they leave when it ends. */
    interface Out {
        /** The clock when the step started, in milliseconds (the engines' {@code nowMillis}). */
        long nowMillis();

        /**
         * Runs {@code step} on {@code actor} after {@code hops} one-way hops; traffic counts one message of
         * {@code bytes} per hop (what goes through the server's network interface, in and out).
         */
        void send(int hops, String actor, int bytes, Step step);

        /** Runs {@code step} on {@code actor} at {@code atMillis} or when this step ends, whichever is later. */
        void wakeAt(long atMillis, String actor, Step step);
    }

    /** Called after every step, with the clock at the step's end (outside the measured cost). */
    interface Observer {
        void after(String actor, long endNanos);
    }

    /** {@code time}: when it may run; {@code arrival}: when it reached the actor (FIFO per actor). */
    private record Event(long time, long arrival, long seq, String actor, Step step) {
    }

    private final Cost cost;
    private final long hopNanos;
    private final PriorityQueue<Event> queue = new PriorityQueue<>((a, b) -> a.time != b.time
            ? Long.compare(a.time, b.time) : a.arrival != b.arrival ? Long.compare(a.arrival, b.arrival)
            : Long.compare(a.seq, b.seq));
    private final Map<String, Long> busyUntil = new HashMap<>();
    private long seq;
    private long now;
    private long messages;
    private long bytes;
    private long steps;
    private Observer observer = (a, t) -> { };

    /** A simulation whose clock starts at {@code startNanos}. */
    EventSim(Cost cost, long hopNanos, long startNanos) {
        this.cost = cost;
        this.hopNanos = hopNanos;
        this.now = startNanos;
    }

    long hopNanos() {
        return hopNanos;
    }

    long nowNanos() {
        return now;
    }

    void observer(Observer o) {
        this.observer = o;
    }

    /** Schedules {@code step} on {@code actor} at {@code timeNanos} (not counted as traffic). */
    void at(long timeNanos, String actor, Step step) {
        queue.add(new Event(timeNanos, timeNanos, seq++, actor, step));
    }

    /** Messages (per hop), their bytes and steps run since the last {@link #resetCounters()}. */
    long messages() {
        return messages;
    }

    long bytes() {
        return bytes;
    }

    long steps() {
        return steps;
    }

    void resetCounters() {
        messages = 0;
        bytes = 0;
        steps = 0;
    }

    /** Runs until no event is left or the clock passes {@code limitNanos}; returns whether it went quiet. */
    boolean runUntilQuiet(long limitNanos) throws Exception {
        while (!queue.isEmpty()) {
            Event e = queue.poll();
            long free = busyUntil.getOrDefault(e.actor, Long.MIN_VALUE);
            if (free > e.time) { // the actor is still busy: the message waits (FIFO per actor by seq)
                queue.add(new Event(free, e.arrival, e.seq, e.actor, e.step));
                continue;
            }
            if (e.time > limitNanos) {
                queue.add(e);
                return false;
            }
            now = e.time;
            long startNanos = e.time;
            List<Event> sent = new ArrayList<>();
            Out out = new Out() {
                @Override
                public long nowMillis() {
                    return startNanos / 1_000_000;
                }

                @Override
                public void send(int hops, String actor, int size, Step step) {
                    if (hops < 0) {
                        throw new IllegalArgumentException("hops " + hops);
                    }
                    sent.add(new Event(hops, 0, 0, actor, step));
                    messages += hops; // each leg to or from the server
                    bytes += (long) size * hops;
                }

                @Override
                public void wakeAt(long atMillis, String actor, Step step) {
                    sent.add(new Event(-1, atMillis * 1_000_000, 0, actor, step));
                }
            };
            long token = cost.begin();
            e.step.run(out);
            long end = startNanos + cost.end(token);
            steps++;
            busyUntil.put(e.actor, end);
            for (Event s : sent) {
                long at = s.time < 0 ? Math.max(end, s.arrival) : end + s.time * hopNanos;
                queue.add(new Event(at, at, seq++, s.actor, s.step));
            }
            now = end;
            observer.after(e.actor, end);
        }
        return true;
    }
}
