package dev.veil.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;
import org.eclipse.jetty.websocket.client.WebSocketClient;

/** A signaling client for tests: records every JSON message the server sends. */
public final class WsTestClient implements Session.Listener.AutoDemanding {
  static final long WAIT_SECONDS = 10;
  private static final ObjectMapper JSON = new ObjectMapper();

  final BlockingQueue<JsonNode> received = new LinkedBlockingQueue<>();
  final CountDownLatch closed = new CountDownLatch(1);
  volatile int closeCode = -1;
  volatile String closeReason;
  private volatile Session session;
  /** Answer every ping at once, as a real client does, instead of recording it ({@link #answeringPings}). */
  private volatile boolean answerPings;

  static WsTestClient connect(WebSocketClient client, int port) throws Exception {
    WsTestClient c = new WsTestClient();
    client.connect(c, URI.create("ws://127.0.0.1:" + port + "/signaling")).get(WAIT_SECONDS, TimeUnit.SECONDS);
    return c;
  }

  @Override
  public void onWebSocketOpen(Session s) {
    session = s;
  }

  /**
   * A member of {@code channel} on the server at {@code port}: connect (sendrecv), the offer answered as a browser
   * that publishes nothing would ({@link FakeBrowserSdp} of {@code seed}), its own notify read; it answers pings
   * ({@link #answeringPings}), so a test may leave it unread for longer than the server's ping timeout.
   */
  static WsTestClient joinAnsweringPings(WebSocketClient client, int port, String channel, int seed)
      throws Exception {
    WsTestClient c = connect(client, port).answeringPings();
    c.send("{\"type\":\"connect\",\"role\":\"sendrecv\",\"channel_id\":\"" + channel + "\"}");
    JsonNode offer = c.expect("offer");
    c.send(JSON.createObjectNode().put("type", "answer")
        .put("sdp", new FakeBrowserSdp(seed).answer(offer.get("sdp").asText(), false)));
    c.expectSkippingPings("notify");
    return c;
  }

  /**
   * From now on every ping is answered with a pong on arrival and not recorded, as a real client does: a member that
   * the test does not read for a while is then not closed by the server's ping timeout (about 20 s).
   */
  WsTestClient answeringPings() {
    answerPings = true;
    return this;
  }

  @Override
  public void onWebSocketText(String text) {
    try {
      JsonNode n = JSON.readTree(text);
      if (answerPings && n.path("type").asText().equals("ping")) {
        send("{\"type\":\"pong\"}");
        return;
      }
      received.add(n);
    } catch (Exception e) {
      throw new IllegalStateException("server sent non-JSON: " + text, e);
    }
  }

  @Override
  public void onWebSocketError(Throwable cause) {
    // the server closing first shows up here as a ClosedChannelException; the close callback records it
  }

  @Override
  public void onWebSocketClose(int code, String reason, Callback callback) {
    callback.succeed();
    closeCode = code;
    closeReason = reason;
    closed.countDown();
  }

  void send(String text) {
    session.sendText(text, Callback.NOOP);
  }

  void sendBinary(byte[] b) {
    session.sendBinary(java.nio.ByteBuffer.wrap(b), Callback.NOOP);
  }

  void send(JsonNode n) {
    send(n.toString());
  }

  /** The next message, whatever it is; fails after a deadline. */
  JsonNode next() throws InterruptedException {
    JsonNode n = received.poll(WAIT_SECONDS, TimeUnit.SECONDS);
    if (n == null) {
      throw new AssertionError("no message within " + WAIT_SECONDS + " s");
    }
    return n;
  }

  /** The next message, which must be of {@code type}. */
  JsonNode expect(String type) throws InterruptedException {
    JsonNode n = next();
    if (!type.equals(n.path("type").asText())) {
      throw new AssertionError("expected " + type + ", got " + n);
    }
    return n;
  }

  /** Skips pings (and the server's periodic downlink-stats) and returns the next other message of {@code type}. */
  JsonNode expectSkippingPings(String type) throws InterruptedException {
    while (true) {
      JsonNode n = next();
      if (n.path("type").asText().equals("ping")) {
        send("{\"type\":\"pong\"}");
        continue;
      }
      if (n.path("type").asText().equals("downlink-stats") && !type.equals("downlink-stats")) {
        continue;
      }
      if (!type.equals(n.path("type").asText())) {
        throw new AssertionError("expected " + type + ", got " + n);
      }
      return n;
    }
  }

  boolean awaitClosed() throws InterruptedException {
    return closed.await(WAIT_SECONDS, TimeUnit.SECONDS);
  }

  /**
   * A ping/pong round trip through the server's event loop; returns what the server sent before the pong (so a
   * test can check that something was NOT sent, without sleeping).
   */
  java.util.List<JsonNode> sync() throws InterruptedException {
    send("{\"type\":\"ping\"}");
    java.util.List<JsonNode> before = new java.util.ArrayList<>();
    while (true) {
      JsonNode n = next();
      if (n.path("type").asText().equals("pong")) {
        return before;
      }
      before.add(n);
    }
  }

  void close() {
    Session s = session;
    if (s != null && s.isOpen()) {
      s.close();
    }
  }
}
