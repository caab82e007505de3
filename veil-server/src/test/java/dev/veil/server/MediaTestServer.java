package dev.veil.server;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.eclipse.jetty.websocket.client.WebSocketClient;

/**
 * A real veil-server on ephemeral ports with the pieces a {@link MediaTestPeer} needs: a started Jetty WebSocket
 * client and a daemon pool for the clients' DTLS handshakes. Closing stops all three.
 */
final class MediaTestServer implements AutoCloseable {
  final VeilServer server;
  final WebSocketClient client;
  final ExecutorService dtlsPool;

  private MediaTestServer(VeilServer server, WebSocketClient client, ExecutorService dtlsPool) {
    this.server = server;
    this.client = client;
    this.dtlsPool = dtlsPool;
  }

  /** Starts a server with the default configuration on ports 0/0. */
  static MediaTestServer start() throws Exception {
    return start(ServerConfig.defaults());
  }

  /** Starts a server with {@code cfg} on ports 0/0. */
  static MediaTestServer start(ServerConfig cfg) throws Exception {
    VeilServer server = new VeilServer(cfg.withPorts(0, 0));
    server.start();
    WebSocketClient client = new WebSocketClient();
    client.start();
    ExecutorService pool = Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, "test-dtls");
      t.setDaemon(true);
      return t;
    });
    return new MediaTestServer(server, client, pool);
  }

  /** A {@link MediaTestPeer} joined to {@code channel} as {@code role} on this server, connected (ICE + DTLS). */
  MediaTestPeer peer(String channel, String role, long seed) throws Exception {
    return new MediaTestPeer(client, server, channel, role, dtlsPool, seed);
  }

  /** As {@link #peer}, with the fake browser's answer edited by {@code editAnswer} before it is sent. */
  MediaTestPeer peer(String channel, String role, long seed, java.util.function.UnaryOperator<String> editAnswer)
      throws Exception {
    return new MediaTestPeer(client, server, channel, role, dtlsPool, seed, false, editAnswer);
  }

  /** A peer whose ICE, DTLS and SRTP all go over the server's ICE-TCP port (RFC 6544 / RFC 4571 framing). */
  MediaTestPeer tcpPeer(String channel, String role, long seed) throws Exception {
    return new MediaTestPeer(client, server, channel, role, dtlsPool, seed, false, a -> a, false, false, true);
  }

  /** A peer whose answer says {@code a=setup:passive}: it is the DTLS server, the SFU its client. */
  MediaTestPeer passivePeer(String channel, String role, long seed) throws Exception {
    return new MediaTestPeer(client, server, channel, role, dtlsPool, seed, false, a -> a, true, false);
  }

  /** An active peer that sends its ClientHello just before its binding request (reordered on the path). */
  MediaTestPeer helloFirstPeer(String channel, String role, long seed) throws Exception {
    return new MediaTestPeer(client, server, channel, role, dtlsPool, seed, false, a -> a, false, true);
  }

  /** A peer that joins and connects ICE, sends one DTLS ClientHello and then stays silent. */
  MediaTestPeer stalledPeer(String channel, long seed) throws Exception {
    return new MediaTestPeer(client, server, channel, "sendrecv", dtlsPool, seed, true);
  }

  @Override
  public void close() throws Exception {
    client.stop();
    server.close();
    dtlsPool.shutdownNow();
  }
}
