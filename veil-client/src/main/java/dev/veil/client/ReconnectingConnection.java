package dev.veil.client;

import com.fasterxml.jackson.databind.JsonNode;
import dev.veil.signaling.Notify;
import dev.veil.signaling.Role;
import java.net.URI;
import java.security.SecureRandom;
import java.util.List;
import java.util.Objects;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/**
 * A member that stays in its channel across node failures (docs/PROTOCOL.md §1.9): a {@link Connection} that, when
 * it drops without the application asking (the node died or is draining, the network broke), is replaced by a new one
 * to any of the cluster's signaling URLs, with exponential backoff and jitter. The cluster directory sends the new
 * connect to the channel's (possibly new) owner by {@code redirect}. The new connection joins as any member does: a
 * new connection id and, with E2EE, a new identity whose keys the others receive as after any join, so they decode it
 * again; the other members see the old connection leave and the new one join.
 *
 * <pre>{@code
 * ReconnectingConnection m = VeilClient.connection(List.of(node1, node2, node3))
 *     .reconnecting(Role.SENDRECV, "room-1", null, Options.e2ee());
 * m.onReconnect(ev -> log(ev)).onAudioFrame((from, frame) -> play(from, frame));
 * m.connect().get(15, TimeUnit.SECONDS);
 * m.sendAudioFrame(opus, ts); // false (dropped) while reconnecting
 * }</pre>
 *
 * Listeners added here get the events of every connection made, except {@code onDisconnect}, which is called once:
 * when the application disconnects or reconnecting gives up. {@link ReconnectEvent}s and the decisions run on one
 * thread of this object's; the connection listeners on each connection's loop thread.
 */
public final class ReconnectingConnection implements AutoCloseable {
  /** Default backoff: first delay up to 250 ms, doubling up to 2 s, at most 30 attempts in a row. */
  public static final long DEFAULT_BASE_MILLIS = 250;
  public static final long DEFAULT_MAX_MILLIS = 2000;
  public static final int DEFAULT_MAX_ATTEMPTS = 30;
  private static final AtomicInteger THREADS = new AtomicInteger();

  private final Role role;
  private final String channelId;
  private final JsonNode metadata;
  private final Options options;
  private final List<URI> urls;
  private final ScheduledExecutorService exec;
  private final List<Connection.Listener> listeners = new CopyOnWriteArrayList<>();
  private final List<Consumer<ReconnectEvent>> reconnectListeners = new CopyOnWriteArrayList<>();
  private final CompletableFuture<ReconnectingConnection> firstConnect = new CompletableFuture<>();
  private volatile Connection current;
  private volatile boolean ended;
  private volatile boolean started;
  // confined to exec
  private Reconnects plan;
  private long droppedAtNanos = -1;
  private Random random = new Random(new SecureRandom().nextLong());
  private long baseMillis = DEFAULT_BASE_MILLIS;
  private long maxMillis = DEFAULT_MAX_MILLIS;
  private int maxAttempts = DEFAULT_MAX_ATTEMPTS;

  ReconnectingConnection(List<URI> urls, Role role, String channelId, JsonNode metadata, Options options) {
    this.urls = List.copyOf(urls);
    this.role = Objects.requireNonNull(role, "role");
    this.channelId = Objects.requireNonNull(channelId, "channelId");
    this.metadata = metadata == null ? null : metadata.deepCopy();
    this.options = Objects.requireNonNull(options, "options");
    this.exec = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "veil-reconnect-" + THREADS.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
  }

  /** Another backoff (before {@link #connect()}): delays between base/2 and min(max, base x 2^n), attempts in a row. */
  public synchronized ReconnectingConnection withBackoff(long baseMillis, long maxMillis, int maxAttempts) {
    if (started) {
      throw new IllegalStateException("set the backoff before connect()");
    }
    new Reconnects(urls, baseMillis, maxMillis, maxAttempts, random); // validates
    this.baseMillis = baseMillis;
    this.maxMillis = maxMillis;
    this.maxAttempts = maxAttempts;
    return this;
  }

  /** Adds a listener for every connection made (its {@code onDisconnect} only at the very end). */
  public ReconnectingConnection addListener(Connection.Listener l) {
    listeners.add(Objects.requireNonNull(l, "listener"));
    return this;
  }

  public ReconnectingConnection onAudioFrame(BiConsumer<String, byte[]> f) {
    return addListener(new Connection.Listener() {
      @Override
      public void onAudioFrame(String sender, byte[] frame) {
        f.accept(sender, frame);
      }
    });
  }

  public ReconnectingConnection onDisconnect(Consumer<String> f) {
    return addListener(new Connection.Listener() {
      @Override
      public void onDisconnect(String reason) {
        f.accept(reason);
      }
    });
  }

  /** {@code reconnecting}, {@code reconnected} and {@code gave up} events. */
  public ReconnectingConnection onReconnect(Consumer<ReconnectEvent> f) {
    reconnectListeners.add(Objects.requireNonNull(f, "listener"));
    return this;
  }

  /**
   * Joins through the first signaling URL (trying the others, with backoff, if it cannot); the future completes
   * once media can flow, or fails when reconnecting gives up.
   */
  public synchronized CompletableFuture<ReconnectingConnection> connect() {
    if (!started) {
      started = true;
      long b = baseMillis;
      long m = maxMillis;
      int a = maxAttempts;
      exec.execute(() -> {
        plan = new Reconnects(urls, b, m, a, random);
        attempt(plan.first());
      });
    }
    return firstConnect;
  }

  /** The connection in use now (a new one after each reconnect); null before {@link #connect()}. */
  public Connection current() {
    return current;
  }

  /** Whether the current connection is up (false while reconnecting). */
  public boolean isConnected() {
    Connection c = current;
    return c != null && c.isConnected();
  }

  /** Sends one Opus frame on the current connection; false (the frame dropped) while reconnecting. */
  public boolean sendAudioFrame(byte[] opusFrame, long rtpTimestamp) {
    Connection c = current;
    if (c == null || !c.isConnected()) {
      return false;
    }
    try {
      c.sendAudioFrame(opusFrame, rtpTimestamp);
      return true;
    } catch (IllegalStateException e) {
      return false; // dropped just now
    }
  }

  /** Leaves for good: no more reconnects; the current connection disconnects. */
  public CompletableFuture<Void> disconnect() {
    CompletableFuture<Void> done = new CompletableFuture<>();
    if (!started) {
      ended = true;
      firstConnect.completeExceptionally(new VeilClientException("disconnected before connect"));
      exec.shutdown();
      done.complete(null);
      return done;
    }
    exec.execute(() -> {
      boolean first = !ended;
      ended = true;
      Connection c = current;
      CompletableFuture<Void> d = c == null ? CompletableFuture.completedFuture(null) : c.disconnect();
      if (first) {
        firstConnect.completeExceptionally(new VeilClientException("disconnected by the application"));
        tellDisconnect("disconnected by the application");
      }
      exec.shutdown();
      d.whenComplete((v, e) -> done.complete(null));
    });
    return done;
  }

  @Override
  public void close() {
    try {
      disconnect().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      // closing anyway
    }
  }

  // ---------------------------------------------------------------------------------------------- on exec

  private void attempt(URI entry) {
    if (ended) {
      return;
    }
    Connection c = new Connection(entry, role, channelId, metadata, options);
    boolean[] up = {false};
    c.addListener(new Forwarder(c, up));
    current = c;
    c.connect().whenComplete((ok, err) -> exec.execute(() -> {
      if (c != current || ended) {
        if (err == null) {
          c.disconnect();
        }
        return;
      }
      if (err == null) {
        up[0] = true;
        int attempts = plan.attempts();
        plan.connected(entry);
        if (!firstConnect.isDone()) {
          firstConnect.complete(this);
        } else {
          long down = droppedAtNanos < 0 ? 0 : (System.nanoTime() - droppedAtNanos) / 1_000_000;
          emit(new ReconnectEvent.Reconnected(attempts, down, c.signalingUrl(), c));
        }
        droppedAtNanos = -1;
      } else {
        retry(c.refusal(), err.getCause() != null ? err.getCause().getMessage() : err.getMessage());
      }
    }));
  }

  /** The current connection dropped, or an attempt failed: plan the next attempt or give up. */
  private void retry(String refusal, String reason) {
    if (ended) {
      return;
    }
    if (droppedAtNanos < 0) {
      droppedAtNanos = System.nanoTime();
    }
    Reconnects.Attempt a = plan.next(refusal);
    if (a == null) {
      ended = true;
      String why = refusal != null && !Reconnects.retryable(refusal) ? reason
          : "gave up after " + plan.attempts() + " attempts: " + reason;
      emit(new ReconnectEvent.GaveUp(plan.attempts(), why));
      firstConnect.completeExceptionally(new VeilClientException(why));
      tellDisconnect(why);
      exec.shutdown();
      return;
    }
    emit(new ReconnectEvent.Reconnecting(a.number(), a.delayMillis(), a.url(), reason));
    exec.schedule(() -> attempt(a.url()), a.delayMillis(), TimeUnit.MILLISECONDS);
  }

  private void emit(ReconnectEvent ev) {
    for (Consumer<ReconnectEvent> l : reconnectListeners) {
      try {
        l.accept(ev);
      } catch (RuntimeException e) {
        // the application's problem, not the connection's
      }
    }
  }

  private void tellDisconnect(String reason) {
    for (Connection.Listener l : listeners) {
      try {
        l.onDisconnect(reason);
      } catch (RuntimeException e) {
        // as above
      }
    }
  }

  /** Hands one connection's events to the listeners; its end to the reconnect logic. */
  private final class Forwarder implements Connection.Listener {
    private final Connection c;
    private final boolean[] up;

    Forwarder(Connection c, boolean[] up) {
      this.c = c;
      this.up = up;
    }

    @Override
    public void onTrack(Track track) {
      listeners.forEach(l -> l.onTrack(track));
    }

    @Override
    public void onRemoveTrack(Track track) {
      listeners.forEach(l -> l.onRemoveTrack(track));
    }

    @Override
    public void onAudioFrame(String sender, byte[] frame) {
      listeners.forEach(l -> l.onAudioFrame(sender, frame));
    }

    @Override
    public void onNotify(Notify notify) {
      listeners.forEach(l -> l.onNotify(notify));
    }

    @Override
    public void onE2ee(E2eeEvent event) {
      listeners.forEach(l -> l.onE2ee(event));
    }

    @Override
    public void onData(DataMessage message) {
      listeners.forEach(l -> l.onData(message));
    }

    @Override
    public void onDisconnect(String reason) {
      exec.execute(() -> {
        // a connect that fails is handled by its future; only a connection that was up drops here
        if (c == current && up[0] && !ended) {
          retry(null, reason);
        }
      });
    }
  }
}
