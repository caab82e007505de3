package dev.veil.server;

import java.io.IOException;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.SelectableChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.util.PriorityQueue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server's one state thread: a selector for the UDP socket, a queue of tasks posted by other threads (the
 * WebSocket callbacks) and timers. Every channel, connection, transport and router object lives on this thread
 * only, so none of them needs a lock.
 */
final class EventLoop implements Executor {
  private static final Logger LOG = LoggerFactory.getLogger(EventLoop.class);

  /** A scheduled task; {@link #cancel()} it to stop it from running. */
  static final class Timer implements Comparable<Timer> {
    final long dueNanos;
    final Runnable task;
    private final long seq;
    boolean cancelled;

    Timer(long dueNanos, Runnable task, long seq) {
      this.dueNanos = dueNanos;
      this.task = task;
      this.seq = seq;
    }

    void cancel() {
      cancelled = true;
    }

    @Override
    public int compareTo(Timer o) {
      int c = Long.compare(dueNanos - o.dueNanos, 0);
      return c != 0 ? c : Long.compare(seq, o.seq);
    }
  }

  private final Selector selector;
  private final ConcurrentLinkedQueue<Runnable> tasks = new ConcurrentLinkedQueue<>();
  private final PriorityQueue<Timer> timers = new PriorityQueue<>();
  private final Thread thread;
  private final CountDownLatch stopped = new CountDownLatch(1);
  private volatile boolean running = true;
  private long timerSeq;

  EventLoop(String name) throws IOException {
    this.selector = Selector.open();
    this.thread = new Thread(this::run, name);
    this.thread.setDaemon(false);
  }

  void start() {
    thread.start();
  }

  boolean inLoop() {
    return Thread.currentThread() == thread;
  }

  /** The loop's monotonic clock. */
  long nowNanos() {
    return System.nanoTime();
  }

  @Override
  public void execute(Runnable task) {
    tasks.add(task);
    selector.wakeup();
  }

  /** Runs {@code task} on the loop after {@code delayNanos}; call on the loop thread only. */
  Timer schedule(long delayNanos, Runnable task) {
    return scheduleAt(nowNanos() + delayNanos, task);
  }

  /** Runs {@code task} on the loop at {@code dueNanos} (loop clock); call on the loop thread only. */
  Timer scheduleAt(long dueNanos, Runnable task) {
    Timer t = new Timer(dueNanos, task, timerSeq++);
    timers.add(t);
    return t;
  }

  /** Registers {@code ch} for reads; {@code onReadable} runs on the loop whenever it has data. */
  SelectionKey register(SelectableChannel ch, Consumer<SelectionKey> onReadable) throws IOException {
    ch.configureBlocking(false);
    return ch.register(selector, SelectionKey.OP_READ, onReadable);
  }

  /** Stops the loop after the tasks already posted and waits up to {@code millis} for it. */
  void stop(long millis) throws InterruptedException {
    running = false;
    selector.wakeup();
    if (!inLoop()) {
      stopped.await(millis, TimeUnit.MILLISECONDS);
    }
  }

  @SuppressWarnings("unchecked")
  private void run() {
    try {
      while (running) {
        long waitMillis = 0;
        if (tasks.isEmpty()) {
          Timer next = timers.peek();
          if (next == null) {
            waitMillis = 1000;
          } else {
            long d = next.dueNanos - nowNanos();
            waitMillis = d <= 0 ? -1 : Math.max(1, TimeUnit.NANOSECONDS.toMillis(d + 999_999));
          }
        } else {
          waitMillis = -1;
        }
        if (waitMillis < 0) {
          selector.selectNow();
        } else {
          selector.select(waitMillis);
        }
        for (SelectionKey key : selector.selectedKeys()) {
          if (key.isValid() && key.isReadable()) {
            guard(() -> ((Consumer<SelectionKey>) key.attachment()).accept(key));
          }
        }
        selector.selectedKeys().clear();
        Runnable r;
        int budget = 10_000;
        while (budget-- > 0 && (r = tasks.poll()) != null) {
          guard(r);
        }
        long now = nowNanos();
        Timer t;
        while ((t = timers.peek()) != null && t.dueNanos - now <= 0) {
          timers.poll();
          if (!t.cancelled) {
            guard(t.task);
          }
        }
      }
    } catch (IOException | ClosedSelectorException e) {
      LOG.error("event loop failed", e);
    } finally {
      Runnable r;
      while ((r = tasks.poll()) != null) {
        guard(r);
      }
      try {
        selector.close();
      } catch (IOException ignored) {
        // closing
      }
      stopped.countDown();
    }
  }

  private static void guard(Runnable r) {
    try {
      r.run();
    } catch (RuntimeException e) {
      // One bad task must never take the loop down.
      LOG.error("task failed on the event loop", e);
    }
  }
}
