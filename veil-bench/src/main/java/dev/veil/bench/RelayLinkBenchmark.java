package dev.veil.bench;

import dev.veil.server.cluster.relay.RelayEvent;
import dev.veil.server.cluster.relay.RelayLink;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The per-packet cost the node-to-node relay of a cascaded channel adds (docs/PROTOCOL.md §1.9.3): one invocation is
 * one RTP packet taken through the owner's {@link RelayLink#send} (header, counter, HMAC-SHA256 tag) and the relay
 * node's {@link RelayLink#input} (replay window, tag check in constant time, copy of the packet out), both ends in
 * one thread, no sockets. The relay node's router then forwards the packet to its subscribers as any router does
 * (ForwardingBenchmark), so a cascaded subscriber costs this plus one more forwarding pass.
 *
 * <p>Run: {@code java -jar veil-bench/target/benchmarks.jar RelayLinkBenchmark -f 1 -wi 3 -i 5 -w 1s -r 1s -prof gc}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class RelayLinkBenchmark {

  /** {@code opus}: 100-byte RTP packets; {@code vp8}: 1200-byte RTP packets. */
  @Param({"opus", "vp8"})
  public String media;

  private RelayLink owner;
  private RelayLink relay;
  private byte[] packet;
  private long now = 1_000_000;

  @Setup
  public void setUp() {
    byte[] secret = new byte[32];
    new Random(1).nextBytes(secret);
    RelayLink.Timings t = new RelayLink.Timings(500, 1_000_000_000L, 2_000_000_000L, 64);
    relay = RelayLink.initiator(secret, "node-b", "node-a", t, new Random(2), now);
    owner = RelayLink.responder(secret, "node-a", "node-b", t, new Random(3), now);
    relay.handleTimeout(now);
    for (int i = 0; i < 4; i++) {
      for (byte[] d; (d = relay.pollOutput()) != null; ) {
        owner.input(d, 0, d.length, now);
      }
      for (byte[] d; (d = owner.pollOutput()) != null; ) {
        relay.input(d, 0, d.length, now);
      }
    }
    if (!owner.up() || !relay.up()) {
      throw new IllegalStateException("the link did not come up");
    }
    while (owner.pollEvent() != null || relay.pollEvent() != null) {
      // the Up events
    }
    packet = new byte["vp8".equals(media) ? 1200 : 100];
    new Random(4).nextBytes(packet);
    packet[0] = (byte) 0x80;
  }

  @Benchmark
  public byte[] relayOnePacket() {
    owner.send(false, packet, 0, packet.length, now);
    byte[] d = owner.pollOutput();
    relay.input(d, 0, d.length, now);
    RelayEvent e = relay.pollEvent();
    return ((RelayEvent.Media) e).packet();
  }
}
