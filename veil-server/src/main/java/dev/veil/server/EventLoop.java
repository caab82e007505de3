package dev.veil.server;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.util.concurrent.FastThreadLocalThread;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server's one state thread: a single-threaded Netty event loop (epoll when the native transport loads, NIO
 * otherwise) that owns the UDP socket, the tasks posted by other threads (the WebSocket callbacks, the DTLS
 * workers) and the timers. Every channel, connection, transport and router object lives on this thread only, so
 * none of them needs a lock.
 *
 * <p>A task or timer that throws a {@link RuntimeException} is logged and costs only itself, never the loop. Any
 * other {@link Throwable} ({@link OutOfMemoryError}, {@link StackOverflowError}, any {@link Error}) is fatal: the
 * state it left behind cannot be trusted, so it goes to the fatal handler, which marks the server failed and ends
 * the process ({@link VeilServer#fail}). So does the loop thread ending while nobody stopped it. Tasks posted after
 * {@link #stop(long)} has finished are dropped (as the selector loop this replaces did).
 */
final class EventLoop implements Executor, Scheduler {
  private static final Logger LOG = LoggerFactory.getLogger(EventLoop.class);

  /** A scheduled task; {@link #cancel()} it to stop it from running. */
  static final class Timer implements Scheduler.Cancellable {
    private final ScheduledFuture<?> future;

    private Timer(ScheduledFuture<?> future) {
      this.future = future;
    }

    @Override
    public void cancel() {
      future.cancel(false);
    }
  }

  private final boolean epoll;
  private final MultiThreadIoEventLoopGroup group;
  private final io.netty.channel.EventLoop loop;

  private final java.util.function.BiConsumer<String, Throwable> onFatal;
  private volatile boolean stopping;

  /** A loop that only logs fatal errors (tests that do not care). */
  EventLoop(String name) {
    this(name, (what, t) -> LOG.error("FATAL {}", what, t));
  }

  /** {@code onFatal} gets (what happened, the throwable) for any Error on the loop or the loop thread ending. */
  EventLoop(String name, java.util.function.BiConsumer<String, Throwable> onFatal) {
    this.onFatal = onFatal;
    this.epoll = Epoll.isAvailable();
    IoHandlerFactory io = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
    this.group = new MultiThreadIoEventLoopGroup(1, r -> {
      Thread t = new FastThreadLocalThread(r, name);
      t.setDaemon(false);
      return t;
    }, io);
    this.loop = group.next();
    group.terminationFuture().addListener(f -> {
      if (!stopping) {
        onFatal.accept("the event loop thread ended", f.cause() != null ? f.cause()
            : new IllegalStateException("event loop terminated without stop()"));
      }
    });
    if (epoll) {
      LOG.info("event loop: Netty epoll");
    } else {
      LOG.info("event loop: Netty NIO (epoll unavailable: {})", String.valueOf(Epoll.unavailabilityCause()));
    }
  }

  /** Starts the loop thread (Netty would also start it on the first task or channel registration). */
  void start() {
    execute(() -> { });
  }

  boolean inLoop() {
    return loop.inEventLoop();
  }

  /** The Netty group behind this loop (its meters: pending tasks). */
  io.netty.channel.EventLoopGroup nettyGroup() {
    return group;
  }

  /** True if the loop runs on the epoll native transport, false for NIO. */
  boolean isEpoll() {
    return epoll;
  }

  /** The loop's monotonic clock. */
  @Override
  public long nowNanos() {
    return System.nanoTime();
  }

  @Override
  public void execute(Runnable task) {
    try {
      loop.execute(task instanceof Guarded ? task : (Runnable) () -> guard(task));
    } catch (RejectedExecutionException e) {
      LOG.debug("event loop stopped: task dropped");
    }
  }

  /**
   * {@code task} wrapped once as {@link #execute} wraps every task it is given (a {@link RuntimeException} costs only
   * the task, an {@link Error} is fatal): a task posted on every loop turn (a flush) is then posted without
   * allocating its wrapper each time.
   */
  Runnable guarded(Runnable task) {
    return new Guarded(task);
  }

  private final class Guarded implements Runnable {
    private final Runnable task;

    Guarded(Runnable task) {
      this.task = task;
    }

    @Override
    public void run() {
      guard(task);
    }
  }

  /** Runs {@code task} on the loop after {@code delayNanos}; call on the loop thread only. */
  @Override
  public Timer schedule(long delayNanos, Runnable task) {
    return new Timer(loop.schedule(() -> guard(task), Math.max(0, delayNanos), TimeUnit.NANOSECONDS));
  }

  /** Runs {@code task} on the loop at {@code dueNanos} (loop clock); call on the loop thread only. */
  Timer scheduleAt(long dueNanos, Runnable task) {
    return schedule(dueNanos - nowNanos(), task);
  }

  /**
   * Registers {@code handle} (a file descriptor the loop should watch, {@link PeerSocket}) with this loop's epoll set;
   * epoll loops only. The registration's {@code submit} sets what to watch; {@code cancel} removes it.
   */
  io.netty.util.concurrent.Future<io.netty.channel.IoRegistration> register(io.netty.channel.IoHandle handle) {
    return ((io.netty.channel.IoEventLoop) loop).register(handle);
  }

  /** A bootstrap for a UDP socket registered on this loop, with the datagram channel class of its transport. */
  Bootstrap udpBootstrap() {
    return new Bootstrap().group(loop).channel(epoll ? EpollDatagramChannel.class : NioDatagramChannel.class);
  }

  /**
   * As {@link #udpBootstrap()}, with SO_REUSEPORT set: several loops' sockets then bind the same address and port,
   * and the kernel hands each datagram to one of them by a hash of its 4-tuple (one client stays on one socket).
   */
  Bootstrap udpBootstrapReusePort() {
    Bootstrap b = udpBootstrap();
    if (epoll) {
      b.option(io.netty.channel.epoll.EpollChannelOption.SO_REUSEPORT, true);
    } else {
      b.option(io.netty.channel.socket.nio.NioChannelOption.of(java.net.StandardSocketOptions.SO_REUSEPORT), true);
    }
    return b;
  }

  /**
   * Runs {@code task} on this loop and waits for its result: at once if called on the loop, else posted and awaited
   * for at most {@code timeoutMillis}. Never call it from another media loop (only the signaling thread, which no
   * loop ever waits for, may block on a loop). A {@link RuntimeException} or checked exception of the task is
   * rethrown as it is (wrapped in {@link java.util.concurrent.CompletionException} if checked).
   */
  <T> T call(java.util.concurrent.Callable<T> task, long timeoutMillis) {
    if (inLoop()) {
      try {
        return task.call();
      } catch (RuntimeException e) {
        throw e;
      } catch (Exception e) {
        throw new java.util.concurrent.CompletionException(e);
      }
    }
    java.util.concurrent.CompletableFuture<T> f = new java.util.concurrent.CompletableFuture<>();
    try {
      loop.execute(() -> {
        try {
          f.complete(task.call());
        } catch (Throwable t) {
          f.completeExceptionally(t);
          if (t instanceof Error e) {
            throw e; // fatal, as in any other task
          }
        }
      });
    } catch (RejectedExecutionException e) {
      throw new IllegalStateException("the media loop has stopped");
    }
    try {
      return f.get(timeoutMillis, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for a media loop");
    } catch (java.util.concurrent.TimeoutException e) {
      throw new IllegalStateException("a media loop did not answer within " + timeoutMillis + " ms");
    } catch (java.util.concurrent.ExecutionException e) {
      Throwable c = e.getCause();
      if (c instanceof RuntimeException r) {
        throw r;
      }
      if (c instanceof Error err) {
        throw new IllegalStateException("a media loop failed", err);
      }
      throw new java.util.concurrent.CompletionException(c);
    }
  }

  /**
   * A bootstrap for a TCP listening socket whose accepted connections are registered on this loop too (their
   * handlers run on the state thread), with the socket channel classes of its transport.
   */
  io.netty.bootstrap.ServerBootstrap tcpServerBootstrap() {
    return new io.netty.bootstrap.ServerBootstrap().group(loop, loop)
        .channel(epoll ? io.netty.channel.epoll.EpollServerSocketChannel.class
            : io.netty.channel.socket.nio.NioServerSocketChannel.class);
  }

  /**
   * Stops the loop after the tasks already posted (pending timers are dropped, channels still open are closed)
   * and waits up to {@code millis} for it.
   */
  void stop(long millis) throws InterruptedException {
    stopping = true;
    group.shutdownGracefully(0, millis, TimeUnit.MILLISECONDS);
    if (!inLoop()) {
      group.terminationFuture().await(millis, TimeUnit.MILLISECONDS);
    }
  }

  /** TEST ONLY: ends the loop thread the way a crash would, without {@link #stop(long)}. */
  void terminateForTesting() throws InterruptedException {
    group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
    group.terminationFuture().await(5000, TimeUnit.MILLISECONDS);
  }

  private void guard(Runnable r) {
    try {
      r.run();
    } catch (RuntimeException e) {
      // One bad task must never take the loop down.
      LOG.error("task failed on the event loop", e);
    } catch (Throwable t) {
      // An Error (OutOfMemoryError, StackOverflowError, ...): the loop's state may be half-updated. Fail loudly.
      onFatal.accept("an error on the event loop", t);
    }
  }
}
