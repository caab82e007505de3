package dev.veil.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Connected receive sockets ({@link PeerSocket}) on a real server over loopback UDP: once a client is connected its
 * datagrams come through a socket connected to it on its channel's lane (never handed between lanes), the socket
 * follows the client to a new address and closes with the connection, and an ICMP error for a client that went away
 * costs nothing but a count. A second server on the same port is refused.
 */
class PeerSocketTest {

  private static Map<String, Long> counters(MediaTestServer fx) {
    return fx.server.counters();
  }

  /** Waits (at most 10 s) until the gauge {@code udp.peer_sockets} reads {@code n}. */
  private static void awaitPeerSockets(MediaTestServer fx, long n) throws InterruptedException {
    long deadline = System.currentTimeMillis() + 10_000;
    while (counters(fx).getOrDefault("udp.peer_sockets", 0L) != n) {
      assertTrue(System.currentTimeMillis() < deadline, "udp.peer_sockets never became " + n + ": " + counters(fx));
      Thread.sleep(10); // polls the server's state; the assertion is on what it reports, not on a delay
    }
  }

  @Test
  void aConnectedClientsDatagrams_comeThroughItsConnectedSocket_whichClosesWithIt() throws Exception {
    try (MediaTestServer fx = MediaTestServer.start()) {
      MediaTestPeer pub = fx.peer("room", "sendonly", 1);
      MediaTestPeer sub = fx.peer("room", "recvonly", 2);
      try {
        awaitPeerSockets(fx, 2);
        long before = counters(fx).getOrDefault("udp.datagrams_in_connected", 0L);
        new AudioFlow(1).send(pub, sub, 30, true);
        Map<String, Long> c = counters(fx);
        assertTrue(c.getOrDefault("udp.datagrams_in_connected", 0L) - before >= 30, c.toString());
        assertEquals(2L, c.get("udp.peer_sockets_opened"), c.toString());
        assertEquals(0L, c.getOrDefault("udp.peer_socket_failed", 0L), c.toString());
      } finally {
        pub.close();
      }
      awaitPeerSockets(fx, 1); // the publisher left: its socket is closed
      sub.close();
      awaitPeerSockets(fx, 0);
    }
  }

  @Test
  void twoLoops_aConnectedClientsMedia_isNeverHandedBetweenLanes() throws Exception {
    // Before its connected socket exists, a client's datagrams reach whichever lane's socket its 4-tuple hashes to;
    // with two lanes, half of the clients hash to the other one. After it, none is handed over.
    try (MediaTestServer fx = MediaTestServer.start(ServerConfig.defaults().withMediaLoops(2))) {
      MediaTestPeer[] pubs = new MediaTestPeer[4];
      MediaTestPeer[] subs = new MediaTestPeer[4];
      try {
        for (int i = 0; i < 4; i++) {
          pubs[i] = fx.peer("room" + i, "sendonly", 10 + i);
          subs[i] = fx.peer("room" + i, "recvonly", 20 + i);
        }
        awaitPeerSockets(fx, 8);
        long handedBefore = counters(fx).getOrDefault("udp.handed_off", 0L);
        long connectedBefore = counters(fx).getOrDefault("udp.datagrams_in_connected", 0L);
        AudioFlow audio = new AudioFlow(1);
        for (int i = 0; i < 4; i++) {
          audio.send(pubs[i], subs[i], 20, false);
        }
        Map<String, Long> c = counters(fx);
        assertEquals(0L, c.getOrDefault("udp.handed_off", 0L) - handedBefore, c.toString());
        assertTrue(c.getOrDefault("udp.datagrams_in_connected", 0L) - connectedBefore >= 80, c.toString());
      } finally {
        for (int i = 0; i < 4; i++) {
          if (pubs[i] != null) {
            pubs[i].close();
          }
          if (subs[i] != null) {
            subs[i].close();
          }
        }
      }
    }
  }

  @Test
  void aClientThatMoves_getsANewConnectedSocket_andItsMediaGoesOn() throws Exception {
    try (MediaTestServer fx = MediaTestServer.start();
        MediaTestPeer pub = fx.peer("room", "sendonly", 41);
        MediaTestPeer sub = fx.peer("room", "recvonly", 42)) {
      AudioFlow audio = new AudioFlow(1);
      audio.send(pub, sub, 5, false);
      awaitPeerSockets(fx, 2);
      pub.moveToNewPort();
      // a nominating ICE check from the new port: the server moves the publisher there
      pub.check(pub.serverUfrag(), pub.serverPwd(), pub.localUfrag(), true);
      audio.send(pub, sub, 10, false);
      long deadline = System.currentTimeMillis() + 10_000;
      while (counters(fx).getOrDefault("udp.peer_sockets_opened", 0L) < 3) {
        assertTrue(System.currentTimeMillis() < deadline, counters(fx).toString());
        Thread.sleep(10);
      }
      long before = counters(fx).getOrDefault("udp.datagrams_in_connected", 0L);
      audio.send(pub, sub, 10, false);
      Map<String, Long> c = counters(fx);
      assertTrue(c.getOrDefault("udp.datagrams_in_connected", 0L) - before >= 10, c.toString());
      assertEquals(2L, c.get("udp.peer_sockets"), "the old address's socket is closed: " + c);
    }
  }

  @Test
  void aClientWhosePortIsGone_costsOnlyACountedIcmpError() throws Exception {
    try (MediaTestServer fx = MediaTestServer.start();
        MediaTestPeer pub = fx.peer("room", "sendonly", 51);
        MediaTestPeer sub = fx.peer("room", "recvonly", 52);
        MediaTestPeer gone = fx.peer("room", "recvonly", 53)) {
      AudioFlow audio = new AudioFlow(1);
      audio.send(pub, sub, 5, false);
      awaitPeerSockets(fx, 3);
      gone.closeSocketOnly(); // its UDP port is closed, its WebSocket stays: the server keeps forwarding to it
      long deadline = System.currentTimeMillis() + 10_000;
      while (counters(fx).getOrDefault("udp.peer_socket_errors", 0L) == 0) {
        assertTrue(System.currentTimeMillis() < deadline, "no ICMP error was read: " + counters(fx));
        audio.send(pub, sub, 5, false); // each forwarded copy to `gone` draws a port unreachable from loopback
      }
      audio.send(pub, sub, 20, false); // the others' media goes on
      Map<String, Long> c = counters(fx);
      assertEquals(3L, c.get("udp.peer_sockets"), c.toString());
      assertEquals(0L, c.getOrDefault("udp.send_dropped", 0L), c.toString());
    }
  }

  @Test
  void aSocketWhoseReadsOnlyFail_isClosed_andItsClientsMediaGoesOnThroughTheLanes() throws Exception {
    try (MediaTestServer fx = MediaTestServer.start(ServerConfig.defaults().withMediaLoops(1));
        MediaTestPeer pub = fx.peer("room", "sendonly", 61);
        MediaTestPeer sub = fx.peer("room", "recvonly", 62)) {
      AudioFlow audio = new AudioFlow(1);
      audio.send(pub, sub, 5, false);
      awaitPeerSockets(fx, 2);
      RtcMedia media = fx.server.mediaForTesting();
      RtcPeer p = media.peerAt(new InetSocketAddress(InetAddress.getLoopbackAddress(), pub.localPort()));
      CompletableFuture<Boolean> closed = new CompletableFuture<>();
      p.media.loop().execute(() -> {
        PeerSocket s = p.socket;
        try {
          s.socket.close(); // its descriptor is gone underneath it: every read now fails (EBADF)
        } catch (IOException e) {
          closed.completeExceptionally(e);
          return;
        }
        p.media.receiver().readPeerSocket(s); // as if the loop had reported it readable
        closed.complete(s.isClosed());
      });
      assertTrue(closed.get(10, TimeUnit.SECONDS), "a socket that only fails is closed");
      Map<String, Long> c = counters(fx);
      assertEquals(1L, c.get("udp.peer_socket_failed"), c.toString());
      assertEquals(1L, c.get("udp.peer_sockets"), c.toString());
      long before = c.getOrDefault("udp.datagrams_in", 0L) - c.getOrDefault("udp.datagrams_in_connected", 0L);
      audio.send(pub, sub, 10, false); // the publisher's media now comes in through the lane's socket
      c = counters(fx);
      assertTrue(c.get("udp.datagrams_in") - c.get("udp.datagrams_in_connected") - before >= 10, c.toString());
    }
  }

  @Test
  void onByDefaultFromLinux54_theSwitchDecidesWhenGiven() {
    assertTrue(PeerSocket.enabled(null, "6.18.44-fc-v1252"));
    assertTrue(PeerSocket.enabled(null, "5.4.0-150-generic"));
    assertTrue(PeerSocket.enabled("", "5.10.0"));
    assertFalse(PeerSocket.enabled(null, "5.3.18"), "before the reuseport fix");
    assertFalse(PeerSocket.enabled(null, "4.19.0-26-amd64"));
    assertFalse(PeerSocket.enabled(null, "99999999999.1"), "not a release");
    assertFalse(PeerSocket.enabled(null, null));
    assertFalse(PeerSocket.enabled("false", "6.1.0"));
    assertTrue(PeerSocket.enabled("true", "4.19.0"), "forced on");
  }

  @Test
  void aSecondServerOnTheSameMediaPort_isRefused() throws Exception {
    int port;
    try (DatagramSocket probe = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
      port = probe.getLocalPort();
    }
    ServerConfig cfg = ServerConfig.defaults().withPorts(0, port);
    VeilServer first = new VeilServer(cfg);
    first.start();
    try {
      VeilServer second = new VeilServer(cfg);
      Exception e = assertThrows(Exception.class, second::start);
      Throwable t = e;
      while (t != null && !(t instanceof IOException && String.valueOf(t.getMessage()).contains("in use"))) {
        t = t.getCause();
      }
      assertTrue(t != null, "refused as in use: " + e);
      second.close();
    } finally {
      first.close();
    }
  }
}
