package dev.veil.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Several media loops (media_loops = N): channels are pinned to lanes, each channel's media flows through its own
 * lane, and a datagram that reaches another lane's socket (the kernel picks the socket by the 4-tuple) is handed to
 * the owning lane and forwarded all the same.
 */
class MediaLoopsTest {


  private static int laneOf(MediaTestServer fx, String channel) throws Exception {
    CompletableFuture<Integer> lane = new CompletableFuture<>();
    fx.server.runOnLoopForTesting(() -> lane.complete(fx.server.mediaForTesting().laneOf(channel)));
    return lane.get(10, TimeUnit.SECONDS);
  }

  @Test
  void fourLoops_fourChannelsOnFourLanes_eachForwards() throws Exception {
    try (MediaTestServer fx = MediaTestServer.start(ServerConfig.defaults().withMediaLoops(4))) {
      assertEquals(4, fx.server.mediaForTesting().lanes().size());
      List<MediaTestPeer> peers = new ArrayList<>();
      try {
        Set<Integer> lanes = new HashSet<>();
        for (int c = 0; c < 4; c++) {
          MediaTestPeer pub = fx.peer("room" + c, "sendonly", 10 + c);
          MediaTestPeer sub = fx.peer("room" + c, "recvonly", 20 + c);
          peers.add(pub);
          peers.add(sub);
          lanes.add(laneOf(fx, "room" + c));
        }
        assertEquals(Set.of(0, 1, 2, 3), lanes, "one channel per lane");
        AudioFlow audio = new AudioFlow(1);
        for (int c = 0; c < 4; c++) {
          audio.send(peers.get(2 * c), peers.get(2 * c + 1), 10, false);
        }
        Map<String, Long> counters = fx.server.counters();
        assertTrue(counters.getOrDefault("router.rtp_forwarded", 0L) >= 40, counters.toString());
        assertEquals(0L, counters.getOrDefault("udp.handoff_dropped", 0L), counters.toString());
        assertEquals(0L, counters.getOrDefault("udp.send_dropped", 0L), counters.toString());
        assertEquals(4L, counters.getOrDefault("router.created", 0L), counters.toString());
      } finally {
        peers.forEach(MediaTestPeer::close);
      }
    }
  }

  @Test
  void aDatagramOnAnotherLanesSocket_isHandedToTheChannelsLane() throws Exception {
    try (MediaTestServer fx = MediaTestServer.start(ServerConfig.defaults().withMediaLoops(2));
        MediaTestPeer pub = fx.peer("room", "sendonly", 31);
        MediaTestPeer sub = fx.peer("room", "recvonly", 32)) {
      AudioFlow audio = new AudioFlow(1);
      audio.send(pub, sub, 5, false);
      long before = fx.server.counters().getOrDefault("udp.handed_off", 0L);
      // the publisher's next packets, each as if the kernel had given it to lane 0's socket, then to lane 1's: one of
      // the two is not the channel's lane and hands it over
      RtcMedia media = fx.server.mediaForTesting();
      InetSocketAddress from = new InetSocketAddress(InetAddress.getLoopbackAddress(), pub.localPort());
      long pubSsrc = MediaTestPeer.ssrcs(pub.answerSdp).get(0);
      long subSsrc = MediaTestPeer.ssrcs(sub.offerSdp).get(0);
      Set<String> sent = new HashSet<>();
      for (int i = 0; i < 20; i++) {
        MediaLane lane = media.lane(i % 2);
        String payload = "injected " + i;
        sent.add(payload);
        int seq = audio.nextSeq();
        byte[] d = pub.protectOpus(pubSsrc, seq, seq * 960L, payload.getBytes(StandardCharsets.US_ASCII));
        lane.loop().execute(() -> lane.onDatagram(d, from));
      }
      Set<String> got = new HashSet<>();
      long deadline = System.currentTimeMillis() + 20_000;
      while (!got.containsAll(sent)) {
        assertTrue(System.currentTimeMillis() < deadline, "got " + got);
        for (MediaTestPeer.Rtp r; (r = sub.pollRtp()) != null; ) {
          assertEquals(subSsrc, r.ssrc());
          got.add(new String(r.payload(), StandardCharsets.US_ASCII));
        }
      }
      long handed = fx.server.counters().getOrDefault("udp.handed_off", 0L) - before;
      assertTrue(handed >= 10, "handed off " + handed);
    }
  }

  @Test
  void handOffQueueIsBounded_pastItDatagramsAreDroppedAndCounted() throws Exception {
    try (MediaTestServer fx = MediaTestServer.start(ServerConfig.defaults().withMediaLoops(2));
        MediaTestPeer a = fx.peer("a", "sendonly", 51);
        MediaTestPeer b = fx.peer("b", "sendonly", 52)) {
      assertEquals(0, laneOf(fx, "a"));
      assertEquals(1, laneOf(fx, "b"));
      RtcMedia media = fx.server.mediaForTesting();
      MediaLane lane0 = media.lane(0);
      MediaLane lane1 = media.lane(1);
      InetSocketAddress fromB = new InetSocketAddress(InetAddress.getLoopbackAddress(), b.localPort());
      CountDownLatch blocked = new CountDownLatch(1);
      CountDownLatch release = new CountDownLatch(1);
      lane1.loop().execute(() -> { // lane 1 is stuck in a task: nothing it is handed gets handled meanwhile
        blocked.countDown();
        try {
          release.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      });
      assertTrue(blocked.await(10, TimeUnit.SECONDS));
      long before = fx.server.stats().get("udp.handoff_dropped");
      int extra = 100;
      CompletableFuture<Void> injected = new CompletableFuture<>();
      byte[] rtpLike = new byte[40];
      rtpLike[0] = (byte) 0x80;
      rtpLike[1] = 111;
      lane0.loop().execute(() -> { // b's datagrams as lane 0's socket would get them: all for lane 1
        for (int i = 0; i < MediaLane.MAX_INBOX + extra; i++) {
          lane0.onDatagram(rtpLike.clone(), fromB);
        }
        injected.complete(null);
      });
      injected.get(30, TimeUnit.SECONDS);
      assertEquals(extra, fx.server.stats().get("udp.handoff_dropped") - before);
      release.countDown();
    }
  }

  @Test
  void sendsAreSpreadOverTheLanesSockets_byDestination_inOrder() throws Exception {
    try (MediaTestServer fx = MediaTestServer.start(
        ServerConfig.defaults().withMediaLoops(2).withEgressSpread(EgressSpread.ON))) {
      RtcMedia media = fx.server.mediaForTesting();
      assertTrue(media.lane(0).spreadsEgress());
      // one sink whose sends leave through lane 0's socket and one through lane 1's (the lane is a hash of the address)
      java.net.DatagramSocket[] sinks = new java.net.DatagramSocket[2];
      List<java.net.DatagramSocket> spare = new ArrayList<>();
      for (int i = 0; i < 64 && (sinks[0] == null || sinks[1] == null); i++) {
        java.net.DatagramSocket d = new java.net.DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        int lane = media.egressLane((InetSocketAddress) d.getLocalSocketAddress()).index;
        if (sinks[lane] == null) {
          sinks[lane] = d;
        } else {
          spare.add(d);
        }
      }
      spare.forEach(java.net.DatagramSocket::close);
      assertTrue(sinks[0] != null && sinks[1] != null, "no address for each lane in 64 sockets");
      try {
        long before = fx.server.stats().get("udp.egress_handed_over");
        MediaLane lane0 = media.lane(0);
        CompletableFuture<Void> done = new CompletableFuture<>();
        lane0.loop().execute(() -> { // lane 0 sends 100 numbered datagrams to each sink in one turn
          for (int i = 0; i < 100; i++) {
            for (java.net.DatagramSocket d : sinks) {
              lane0.send(new byte[] {(byte) i}, (InetSocketAddress) d.getLocalSocketAddress());
            }
          }
          done.complete(null);
        });
        done.get(10, TimeUnit.SECONDS);
        for (java.net.DatagramSocket d : sinks) {
          d.setSoTimeout(10_000);
          for (int i = 0; i < 100; i++) {
            java.net.DatagramPacket p = new java.net.DatagramPacket(new byte[16], 16);
            d.receive(p);
            assertEquals(fx.server.rtcPort(), p.getPort(), "from the one media port");
            assertEquals(i, p.getData()[0], "in order");
          }
        }
        assertEquals(100L, fx.server.stats().get("udp.egress_handed_over") - before, "lane 1's sends went over");
      } finally {
        for (java.net.DatagramSocket d : sinks) {
          d.close();
        }
      }
    }
  }

  @Test
  void byDefault_anIdleLane_sendsThroughItsOwnSocket() throws Exception {
    try (MediaTestServer fx = MediaTestServer.start(ServerConfig.defaults().withMediaLoops(2).withEgressSpread(
        EgressSpread.AUTO))) {
      RtcMedia media = fx.server.mediaForTesting();
      MediaLane lane0 = media.lane(0);
      java.net.DatagramSocket sink = null;
      List<java.net.DatagramSocket> spare = new ArrayList<>();
      for (int i = 0; i < 64 && sink == null; i++) { // a destination whose hash picks lane 1's socket
        java.net.DatagramSocket d = new java.net.DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        if (media.egressLane((InetSocketAddress) d.getLocalSocketAddress()).index == 1) {
          sink = d;
        } else {
          spare.add(d);
        }
      }
      spare.forEach(java.net.DatagramSocket::close);
      assertTrue(sink != null, "no address for lane 1 in 64 sockets");
      try {
        long before = fx.server.stats().get("udp.egress_handed_over");
        InetSocketAddress to = (InetSocketAddress) sink.getLocalSocketAddress();
        CompletableFuture<Boolean> spreading = new CompletableFuture<>();
        lane0.loop().execute(() -> {
          spreading.complete(lane0.spreadsEgress());
          for (int i = 0; i < 20; i++) {
            lane0.send(new byte[] {(byte) i}, to);
          }
        });
        assertEquals(false, spreading.get(10, TimeUnit.SECONDS), "an idle lane does not spread");
        sink.setSoTimeout(10_000);
        for (int i = 0; i < 20; i++) {
          java.net.DatagramPacket p = new java.net.DatagramPacket(new byte[16], 16);
          sink.receive(p);
          assertEquals(i, p.getData()[0], "in order");
        }
        assertEquals(0L, fx.server.stats().get("udp.egress_handed_over") - before, "nothing went over");
        assertEquals(0L, fx.server.counters().getOrDefault("udp.egress_spreading", -1L));
      } finally {
        sink.close();
      }
    }
  }

  @Test
  void everyLanesSocket_sendsWithDontFragment_noPathMtuState() throws Exception {
    try (MediaTestServer fx = MediaTestServer.start(ServerConfig.defaults().withMediaLoops(2))) {
      RtcMedia media = fx.server.mediaForTesting();
      for (MediaLane l : media.lanes()) {
        assertTrue(l.loop().isEpoll(), "the media loops run on epoll on Linux");
        assertEquals(3, l.mtuDiscoverForTesting(), "IP_PMTUDISC_PROBE on lane " + l.index);
      }
    }
  }

  @Test
  void oneLoop_noSignalingThread_noHandOff() throws Exception {
    try (MediaTestServer fx = MediaTestServer.start(ServerConfig.defaults().withMediaLoops(1));
        MediaTestPeer pub = fx.peer("room", "sendonly", 41);
        MediaTestPeer sub = fx.peer("room", "recvonly", 42)) {
      new AudioFlow(1).send(pub, sub, 10, false);
      assertEquals(1, fx.server.mediaForTesting().lanes().size());
      Set<String> names = new HashSet<>();
      for (Thread t : Thread.getAllStackTraces().keySet()) {
        names.add(t.getName());
      }
      assertTrue(names.contains("veil-loop"), names.toString());
      Map<String, Long> counters = fx.server.counters();
      assertEquals(0L, counters.getOrDefault("udp.handed_off", 0L), counters.toString());
      assertEquals(0L, counters.getOrDefault("udp.egress_handed_over", 0L), counters.toString());
    }
  }
}
