package dev.veil.server;

import java.nio.ByteBuffer;
import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;
import org.eclipse.jetty.websocket.api.exceptions.MessageTooLargeException;

/** One signaling WebSocket: posts everything it receives to the hub on the event loop. */
public final class SignalingEndpoint implements Session.Listener.AutoDemanding, WsPeer {
  private final EventLoop loop;
  private final Hub hub;
  private volatile Session session;
  private Hub.Conn conn; // touched on the loop only

  SignalingEndpoint(EventLoop loop, Hub hub) {
    this.loop = loop;
    this.hub = hub;
  }

  @Override
  public void onWebSocketOpen(Session s) {
    this.session = s;
    loop.execute(() -> conn = hub.opened(this));
  }

  @Override
  public void onWebSocketText(String text) {
    loop.execute(() -> hub.text(conn, text));
  }

  @Override
  public void onWebSocketBinary(ByteBuffer payload, Callback callback) {
    callback.succeed();
    loop.execute(() -> hub.binary(conn));
  }

  @Override
  public void onWebSocketError(Throwable cause) {
    if (cause instanceof MessageTooLargeException) {
      loop.execute(() -> hub.tooLarge(conn));
    }
  }

  @Override
  public void onWebSocketClose(int statusCode, String reason, Callback callback) {
    callback.succeed();
    loop.execute(() -> hub.closed(conn));
  }

  @Override
  public void sendText(String text) {
    Session s = session;
    if (s != null && s.isOpen()) {
      s.sendText(text, Callback.NOOP);
    }
  }

  @Override
  public void close(int code, String reason) {
    Session s = session;
    if (s != null && s.isOpen()) {
      s.close(code, reason, Callback.NOOP);
    }
  }

  @Override
  public String remote() {
    Session s = session;
    return s == null ? "?" : String.valueOf(s.getRemoteSocketAddress());
  }
}
