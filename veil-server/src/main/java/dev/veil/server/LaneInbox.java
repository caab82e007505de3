package dev.veil.server;

import io.netty.util.internal.PlatformDependent;
import java.net.InetSocketAddress;
import java.util.Queue;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the other lanes hand to one {@link MediaLane}, without allocating per datagram: a datagram one of its
 * connections' clients sent that another lane's socket received (the kernel's SO_REUSEPORT hash picks the socket, not
 * the channel's lane), and, with egress spreading, a datagram to send through this lane's socket.
 *
 * <p>Each datagram travels as a {@link Parcel}: a reused array the sender copies the bytes into, taken from this
 * inbox's pool of idle parcels and given back to it once the lane has handled it. Two lock-free queues carry them:
 * the pending parcels (many producers, one consumer: this lane's loop) and the idle ones (any thread takes, the loop
 * gives back). A producer that makes the queue non-empty schedules one drain task on the lane's loop; the drain
 * handles at most {@link #DRAIN_BATCH} parcels per run, so a flood of hand-offs cannot starve the lane's own socket.
 *
 * <p>Bounds: at most {@code capacity} parcels wait (an offer past it is refused, and the caller counts the drop); at
 * most {@link #IDLE_MAX} idle parcels are kept (more, after a burst, are left to the garbage collector), so a lane
 * holds about 750 KiB of idle parcels at most.
 */
final class LaneInbox {
  private static final Logger LOG = LoggerFactory.getLogger(LaneInbox.class);
  /** Parcels handled per drain task before the loop's other work gets a turn. */
  static final int DRAIN_BATCH = 1024;
  /** Most idle parcels kept for reuse. */
  static final int IDLE_MAX = 512;

  /** One handed-over datagram; touched by one thread at a time (the queues publish it safely). */
  static final class Parcel {
    byte[] buf = new byte[MediaLane.MAX_DATAGRAM];
    int len;
    /** True: to send to {@link #addr} through this lane's socket; false: received from {@link #addr}. */
    boolean send;
    /** For a received datagram: the connection it belongs to. */
    RtcPeer peer;
    InetSocketAddress addr;
    /** For a received datagram: its receive time if sampled for the forwarding latency (nanoTime), else 0. */
    long t0;

    /** Copies {@code src[off, off+n)} into this parcel (its array grows for a larger datagram). */
    void fill(byte[] src, int off, int n) {
      if (n > buf.length) {
        buf = new byte[n];
      }
      System.arraycopy(src, off, buf, 0, n);
      len = n;
    }
  }

  private final Executor loop;
  private final int capacity;
  private final Consumer<Parcel> handler;
  private final Queue<Parcel> pending;
  private final Queue<Parcel> idle = PlatformDependent.newFixedMpmcQueue(IDLE_MAX);
  /** Parcels offered and not yet handled (the exact bound; the queue's own capacity is a power of two). */
  private final AtomicInteger count = new AtomicInteger();
  private final AtomicBoolean scheduled = new AtomicBoolean();
  private final AtomicLong created = new AtomicLong();
  private final Runnable drain;

  /**
   * An inbox drained on {@code loop} (the lane's event loop; its tasks run one at a time on one thread) into
   * {@code handler}, holding at most {@code capacity} waiting parcels.
   */
  LaneInbox(Executor loop, int capacity, Consumer<Parcel> handler) {
    if (capacity < 1) {
      throw new IllegalArgumentException("capacity must be at least 1: " + capacity);
    }
    this.loop = loop;
    this.capacity = capacity;
    this.handler = handler;
    this.pending = PlatformDependent.newFixedMpscQueue(Math.max(2, capacity));
    // posted at every burst: on a lane's loop, its wrapper is made once
    this.drain = loop instanceof EventLoop l ? l.guarded(this::drain) : this::drain;
  }

  /** An idle parcel to fill and {@link #offer} (any thread). */
  Parcel take() {
    Parcel p = idle.poll();
    if (p == null) {
      p = new Parcel();
      created.incrementAndGet();
    }
    return p;
  }

  /** Hands {@code p} to the lane (any thread); false if the inbox is full (the parcel then goes back idle). */
  boolean offer(Parcel p) {
    if (!enqueue(p)) {
      return false;
    }
    wake();
    return true;
  }

  /**
   * Hands {@code ps[0, n)} to the lane with at most one wake-up (any thread), and clears those slots; the ones past
   * the bound go back idle. Returns how many were accepted.
   */
  int offerAll(Parcel[] ps, int n) {
    int accepted = 0;
    for (int i = 0; i < n; i++) {
      if (enqueue(ps[i])) {
        accepted++;
      }
      ps[i] = null;
    }
    if (accepted > 0) {
      wake();
    }
    return accepted;
  }

  private boolean enqueue(Parcel p) {
    if (count.incrementAndGet() > capacity) {
      count.decrementAndGet();
      recycle(p);
      return false;
    }
    pending.offer(p); // never full: its capacity is at least the bound
    return true;
  }

  private void wake() {
    if (scheduled.compareAndSet(false, true)) {
      loop.execute(drain);
    }
  }

  /** On the lane's loop: handles what is waiting, at most {@link #DRAIN_BATCH}, then runs again if more is left. */
  private void drain() {
    scheduled.set(false); // before polling: a parcel offered from here on schedules another drain
    for (int i = 0; i < DRAIN_BATCH; i++) {
      Parcel p = pending.poll();
      if (p == null) {
        return;
      }
      count.decrementAndGet();
      try {
        handler.accept(p);
      } catch (RuntimeException e) {
        LOG.error("handing a datagram over between media loops failed", e); // costs that datagram only
      } finally {
        recycle(p);
      }
    }
    if (!pending.isEmpty()) {
      wake();
    }
  }

  private void recycle(Parcel p) {
    p.peer = null;
    p.addr = null;
    p.t0 = 0;
    p.len = 0;
    idle.offer(p); // full: left to the garbage collector
  }

  /** Parcels waiting (any thread). */
  int waiting() {
    return count.get();
  }

  /** Parcels made so far: stops growing once the idle ones cover what is in flight (tests, counters). */
  long created() {
    return created.get();
  }
}
