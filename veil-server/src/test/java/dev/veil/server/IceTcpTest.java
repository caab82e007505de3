package dev.veil.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.veil.webrtc.ice.TcpFrameDecoder;
import dev.veil.webrtc.stun.StunAttribute;
import dev.veil.webrtc.stun.StunClass;
import dev.veil.webrtc.stun.StunMessage;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * ICE-TCP through a real server (ephemeral ports): clients built from Veil's own engines that run ICE, DTLS and SRTP
 * over one RFC 4571-framed TCP connection to the passive TCP candidate exchange media with UDP clients both ways;
 * connections that send garbage, an oversize frame or media before any ICE check are closed without disturbing the
 * others.
 */
class IceTcpTest {
  private MediaTestServer fx;
  private final Random random = new Random(12);
  private final AudioFlow audio = new AudioFlow();

  @BeforeEach
  void start() throws Exception {
    fx = MediaTestServer.start();
  }

  @AfterEach
  void stop() throws Exception {
    fx.close();
  }

  /** Sends audio until the subscriber got {@code n} packets, each payload one that was sent. */
  private void flow(MediaTestPeer pub, MediaTestPeer sub, int n) throws Exception {
    audio.send(pub, sub, n, true);
  }

  private long counter(String name) {
    Map<String, Long> c = fx.server.counters();
    return c.getOrDefault(name, 0L);
  }

  @Test
  void offerAnnouncesThePassiveTcpCandidateBelowUdp() throws Exception {
    assertTrue(fx.server.rtcTcpPort() > 0);
    try (MediaTestPeer p = fx.peer("offer", "sendrecv", 1)) {
      String tcpLine = "a=candidate:2 1 tcp 1520435199 127.0.0.1 " + fx.server.rtcTcpPort()
          + " typ host tcptype passive";
      String udpLine = "a=candidate:1 1 udp 2130706431 127.0.0.1 " + fx.server.rtcPort() + " typ host";
      assertTrue(p.offerSdp.contains(udpLine + "\r\n" + tcpLine + "\r\n"), p.offerSdp);
    }
  }

  @Test
  void mediaFlowsBothWaysBetweenTcpAndUdpClients() throws Exception {
    try (MediaTestPeer tcpPub = fx.tcpPeer("mixed", "sendonly", 1);
        MediaTestPeer udpSub = fx.peer("mixed", "recvonly", 2)) {
      flow(tcpPub, udpSub, 20);
    }
    try (MediaTestPeer udpPub = fx.peer("mixed2", "sendonly", 3);
        MediaTestPeer tcpSub = fx.tcpPeer("mixed2", "recvonly", 4)) {
      flow(udpPub, tcpSub, 20);
    }
    assertTrue(counter("tcp.validated") >= 2, "counters: " + fx.server.counters());
  }

  @Test
  void stunResponseOverTcpReportsTheConnectionsRemoteAddress() throws Exception {
    try (MediaTestPeer p = fx.tcpPeer("mapped", "sendrecv", 5)) {
      StunMessage r = p.check(p.serverUfrag(), p.serverPwd(), p.localUfrag(), true);
      assertEquals(StunClass.SUCCESS_RESPONSE, r.messageClass());
      assertEquals(p.tcpLocalAddress(), r.get(StunAttribute.XorMappedAddress.class).orElseThrow().address());
    }
  }

  /** Reads until the server closes {@code s} (true) or nothing more comes for a while (false). */
  private static boolean closedByServer(Socket s) throws IOException {
    s.setSoTimeout(10_000);
    InputStream in = s.getInputStream();
    byte[] buf = new byte[4096];
    try {
      while (true) {
        if (in.read(buf) < 0) {
          return true;
        }
      }
    } catch (SocketTimeoutException e) {
      return false;
    } catch (IOException e) {
      return true; // reset
    }
  }

  private Socket connectTcp() throws IOException {
    return new Socket(InetAddress.getLoopbackAddress(), fx.server.rtcTcpPort());
  }

  @Test
  void badConnectionsAreClosedAndOthersCarryOn() throws Exception {
    try (MediaTestPeer pub = fx.tcpPeer("bad", "sendonly", 6);
        MediaTestPeer sub = fx.tcpPeer("bad", "recvonly", 7)) {
      flow(pub, sub, 10);
      // random bytes: the framing fails (or the first frame is no STUN)
      try (Socket evil = connectTcp()) {
        byte[] g = new byte[4096];
        random.nextBytes(g);
        g[0] = (byte) 0x7f;
        evil.getOutputStream().write(g);
        assertTrue(closedByServer(evil), "garbage closes the connection");
      }
      // an oversize frame: refused on its 2-byte header, before anything is allocated for it
      try (Socket evil = connectTcp()) {
        evil.getOutputStream().write(new byte[] {(byte) 0xff, (byte) 0xff, 0, 1, 2, 3});
        assertTrue(closedByServer(evil), "an oversize frame closes the connection");
      }
      // well-framed SRTP-looking bytes before any ICE check
      try (Socket evil = connectTcp()) {
        byte[] rtp = new byte[100];
        random.nextBytes(rtp);
        rtp[0] = (byte) 0x80;
        rtp[1] = 111;
        evil.getOutputStream().write(TcpFrameDecoder.encode(rtp));
        assertTrue(closedByServer(evil), "media before an ICE check closes the connection");
      }
      // a well-framed Binding request for a ufrag nobody has: dropped; the connection cannot carry anything else
      try (Socket evil = connectTcp()) {
        byte[] tid = new byte[12];
        random.nextBytes(tid);
        byte[] req = StunMessage.builder(StunClass.REQUEST, StunMessage.METHOD_BINDING, tid)
            .add(new StunAttribute.Username("nobody:x"))
            .encode("p".repeat(24).getBytes(StandardCharsets.UTF_8), true);
        evil.getOutputStream().write(TcpFrameDecoder.encode(req));
        byte[] dtls = {22, (byte) 0xfe, (byte) 0xfd, 0, 0};
        evil.getOutputStream().write(TcpFrameDecoder.encode(dtls));
        assertTrue(closedByServer(evil), "DTLS on a path no check validated closes the connection");
      }
      flow(pub, sub, 10); // the good connections were not disturbed
    }
    assertTrue(counter("tcp.closed.bad_framing") >= 2, "counters: " + fx.server.counters());
    assertTrue(counter("tcp.closed.not_stun_first") >= 2, "counters: " + fx.server.counters());
  }

  @Test
  void leavingClosesThePeersTcpConnections() throws Exception {
    try (MediaTestPeer p = fx.tcpPeer("leave", "sendrecv", 8)) {
      p.ws.send("{\"type\":\"disconnect\"}");
      AssertionError closed = null;
      long deadline = System.currentTimeMillis() + 10_000;
      while (closed == null && System.currentTimeMillis() < deadline) {
        try {
          p.pollRtp(); // reads the TCP connection (20 ms timeout per read) until the server closes it
        } catch (AssertionError e) {
          closed = e;
        }
      }
      assertTrue(closed != null && closed.getMessage().contains("closed the ICE-TCP connection"),
          "the server did not close the peer's TCP path");
    }
    assertTrue(counter("tcp.closed.peer_gone") >= 1, "counters: " + fx.server.counters());
  }

  @Test
  void subscriberThatStopsReading_hasItsTcpQueueBounded_andDropsAreCounted() throws Exception {
    try (MediaTestPeer pub = fx.peer("slow", "sendonly", 9);
        MediaTestPeer sub = fx.tcpPeer("slow", "recvonly", 10)) {
      flow(pub, sub, 5);
      // the subscriber stops reading; the publisher sends ~24 MB (far past the 1 MiB queue and the socket buffers)
      long pubSsrc = MediaTestPeer.ssrcs(pub.answerSdp).get(0);
      byte[] payload = new byte[1000];
      long deadline = System.currentTimeMillis() + 60_000;
      while (counter("tcp.send_dropped") == 0) {
        assertTrue(System.currentTimeMillis() < deadline, "no drop counted: " + fx.server.counters());
        for (int i = 0; i < 2000; i++) {
          int seq = audio.nextSeq();
          pub.sendOpus(pubSsrc, seq, seq * 960L, payload);
        }
      }
      // the server still serves others: a new UDP pair in another channel gets media
      try (MediaTestPeer p2 = fx.peer("after", "sendonly", 11);
          MediaTestPeer s2 = fx.peer("after", "recvonly", 12)) {
        flow(p2, s2, 5);
      }
    }
  }
}
