package dev.veil.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The join-storm drop (issue 10): one loop turn that sends more than the channel's 4 MiB high-water mark (a read
 * batch of 256 datagrams fanned out to 40 subscribers is ~10 MiB) used to drop its own sends
 * ({@code udp.send_dropped}) because sends were flushed only once per loop turn. Now the channel is flushed as soon as
 * 256 KiB are pending: 10 MiB in one turn, nothing dropped, the pending bytes stay near the threshold.
 */
class SendBurstTest {
  @Test
  void oneLoopTurnSendsTenMiB_flushedEarly_noneDropped() throws Exception {
    try (MediaTestServer fx = MediaTestServer.start();
        DatagramSocket sink = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
      InetSocketAddress to = (InetSocketAddress) sink.getLocalSocketAddress();
      int n = 10_000;
      byte[] datagram = new byte[1000];
      CompletableFuture<Void> done = new CompletableFuture<>();
      MediaLane media = fx.server.mediaForTesting().lane(0);
      media.loop().execute(() -> {
        for (int i = 0; i < n; i++) {
          media.send(datagram, to); // all in one loop turn, like a fanned-out read batch
        }
        done.complete(null);
      });
      done.get(30, TimeUnit.SECONDS);
      Map<String, Long> c = fx.server.counters();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (c.getOrDefault("udp.datagrams_out", 0L) + c.getOrDefault("udp.send_errors", 0L)
          + c.getOrDefault("udp.send_dropped", 0L) < n) {
        assertTrue(System.nanoTime() < deadline, "sends not completed: " + c);
        Thread.sleep(10); // polling for completion, not synchronising on time
        c = fx.server.counters();
      }
      assertEquals(0L, c.getOrDefault("udp.send_dropped", 0L), c.toString());
      assertEquals((long) n, c.get("udp.datagrams_out"), c.toString());
      assertTrue(c.getOrDefault("udp.early_flushes", 0L) >= 30, c.toString());
      assertTrue(c.get("udp.pending_bytes_max") < 1024 * 1024, c.toString());
    }
  }
}
