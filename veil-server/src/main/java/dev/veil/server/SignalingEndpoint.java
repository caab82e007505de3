package dev.veil.server;

import dev.veil.signaling.SignalingCodec;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;

/**
 * One signaling WebSocket: posts everything it receives to the hub on the event loop.
 *
 * <p>Reading is demand-driven: the next message is read from the socket only after the loop has handled the last
 * one, so a client can never queue more than one message of work on the loop, however fast it sends. Text arrives
 * in parts and is put together here up to {@link SignalingCodec#MAX_MESSAGE_CHARS} characters; a longer message is
 * not kept (the rest of it is read and dropped) and is answered as §1.5 says (error, disconnect, close 1008), not
 * with a bare 1009; the close frame waits for the end of that message. Every write reports back to the loop when done, which is what the hub's outbound accounting
 * counts ({@link Outbound}).
 */
public final class SignalingEndpoint implements Session.Listener, WsPeer {
  private final EventLoop loop;
  private final Hub hub;
  /** Where an Error on a Jetty thread goes (Jetty's own threads would only log it). */
  private final java.util.function.BiConsumer<String, Throwable> fatal;
  private volatile Session session;
  private Conn conn; // touched on the loop only
  // Touched by Jetty's reading thread of this session only (one frame at a time, on demand).
  private final StringBuilder text = new StringBuilder();
  /** Guards {@link #discarding} and the deferred close, which the loop and the reading thread both touch. */
  private final Object lock = new Object();
  private boolean discarding;
  private int deferredCloseCode = -1;
  private String deferredCloseReason;

  /** {@code veil_signaling_latency_seconds}: message read → handled on the loop. */
  private final io.micrometer.core.instrument.Timer latency;

  SignalingEndpoint(EventLoop loop, Hub hub, java.util.function.BiConsumer<String, Throwable> fatal,
      io.micrometer.core.instrument.Timer latency) {
    this.loop = loop;
    this.hub = hub;
    this.fatal = fatal;
    this.latency = latency;
  }

  @Override
  public void onWebSocketOpen(Session s) {
    try {
      open(s);
    } catch (Error e) {
      fatal.accept("an error on a WebSocket thread", e);
      throw e;
    }
  }

  @Override
  public void onWebSocketPartialText(String part, boolean last) {
    try {
      partialText(part, last);
    } catch (Error e) {
      fatal.accept("an error on a WebSocket thread", e);
      throw e;
    }
  }

  private void open(Session s) {
    this.session = s;
    loop.execute(() -> {
      conn = hub.opened(this);
      s.demand();
    });
  }

  private void partialText(String part, boolean last) {
    Session s = session;
    boolean drop;
    synchronized (lock) {
      if (!discarding && text.length() + part.length() > SignalingCodec.MAX_MESSAGE_CHARS) {
        discarding = true;
        text.setLength(0);
        text.trimToSize();
        loop.execute(() -> hub.tooLarge(conn));
      }
      drop = discarding;
    }
    if (!drop) {
      text.append(part);
    }
    if (!last) {
      s.demand();
      return;
    }
    if (drop) {
      int code;
      String reason;
      synchronized (lock) {
        discarding = false;
        code = deferredCloseCode;
        reason = deferredCloseReason;
        deferredCloseCode = -1;
      }
      if (code >= 0) {
        closeNow(code, reason);
      }
      s.demand();
      return;
    }
    String message = text.toString();
    text.setLength(0);
    if (text.capacity() > 64 * 1024) {
      text.trimToSize();
    }
    long readNanos = System.nanoTime();
    loop.execute(() -> {
      hub.text(conn, message);
      latency.record(System.nanoTime() - readNanos, java.util.concurrent.TimeUnit.NANOSECONDS);
      s.demand();
    });
  }

  @Override
  public void onWebSocketPartialBinary(ByteBuffer payload, boolean last, Callback callback) {
    callback.succeed();
    Session s = session;
    if (last) {
      loop.execute(() -> {
        hub.binary(conn);
        s.demand();
      });
    } else {
      s.demand();
    }
  }

  @Override
  public void onWebSocketError(Throwable cause) {
    // a transport error is followed by onWebSocketClose, which tells the hub
  }

  @Override
  public void onWebSocketClose(int statusCode, String reason, Callback callback) {
    callback.succeed();
    loop.execute(() -> hub.closed(conn));
  }

  @Override
  public void sendText(String message, Runnable done) {
    Session s = session;
    if (s == null || !s.isOpen()) {
      done.run(); // on the loop already: never queued
      return;
    }
    s.sendText(message, Callback.from(() -> loop.execute(done), x -> loop.execute(done)));
  }

  /**
   * Closes the WebSocket; while the rest of an oversized message is still arriving, only once it has (a close in the
   * middle of the client's own write would end in a reset that can lose the error and disconnect before it). The
   * hub's hard close bounds the wait.
   */
  @Override
  public void close(int code, String reason) {
    synchronized (lock) {
      if (discarding) {
        deferredCloseCode = code;
        deferredCloseReason = reason;
        return;
      }
    }
    closeNow(code, reason);
  }

  private void closeNow(int code, String reason) {
    Session s = session;
    if (s != null && s.isOpen()) {
      s.close(code, reason, Callback.NOOP);
    }
  }

  @Override
  public void abort() {
    Session s = session;
    if (s != null) {
      s.disconnect();
    }
  }

  @Override
  public String remote() {
    Session s = session;
    return s == null ? "?" : String.valueOf(s.getRemoteSocketAddress());
  }

  @Override
  public String addressKey() {
    Session s = session;
    SocketAddress a = s == null ? null : s.getRemoteSocketAddress();
    if (a instanceof InetSocketAddress i && i.getAddress() != null) {
      return Admission.addressKey(i.getAddress());
    }
    return "unknown";
  }
}
