package dev.veil.bench;

import dev.veil.server.cluster.relay.CascadeBridge;
import dev.veil.server.cluster.relay.RelayEvent;
import dev.veil.server.cluster.relay.RelayLink;
import dev.veil.webrtc.router.ConsumerParams;
import dev.veil.webrtc.router.ProducerParams;
import dev.veil.webrtc.router.Router;
import dev.veil.webrtc.router.RouterConfig;
import dev.veil.webrtc.rtp.RtpCodec;
import dev.veil.webrtc.sdp.MediaKind;
import java.util.Random;
import java.util.SplittableRandom;
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
 * What the cascade's relay hop costs per packet (docs/PROTOCOL.md §1.9.3), the routers and bridges as veil-server
 * runs them, no sockets and no SRTP (both paths pay SRTP to the subscriber alike): {@code direct}: one publisher's
 * RTP packet through the owner's router to a subscriber on the same node; {@code cascade}: the same packet through
 * the owner's router to the link peer ({@link CascadeBridge#forward}), the owner's {@link RelayLink#send} (HMAC
 * tag), the relay node's {@link RelayLink#input} (replay window, tag check), {@link CascadeBridge#deliver} into the
 * relay node's router, and out to its subscriber. The difference of the two is the hop.
 *
 * <p>Run: {@code java -jar veil-bench/target/benchmarks.jar CascadeHopBenchmark -f 1 -wi 5 -i 10 -w 1s -r 1s}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 10, time = 1)
@Fork(1)
public class CascadeHopBenchmark {
  /** {@code direct} or {@code cascade}. */
  @Param({"direct", "cascade"})
  public String path;

  /** RTP payload bytes: 100 (Opus) or 1100 (a video packet). */
  @Param({"100", "1100"})
  public int payload;

  private Router owner;
  private Router relay;
  private CascadeBridge ownerBridge;
  private CascadeBridge relayBridge;
  private RelayLink ownerLink;
  private RelayLink relayLink;
  private final byte[] packet = new byte[1400];
  private int len;
  private int seq;
  private long ts;
  private long now = 1_000_000;
  private long delivered;

  @Setup
  public void setUp() {
    byte[] secret = new byte[32];
    new Random(1).nextBytes(secret);
    RelayLink.Timings t = new RelayLink.Timings(500, 1_000_000_000L, 2_000_000_000L, 64);
    relayLink = RelayLink.initiator(secret, "node-b", "node-a", t, new Random(2), now);
    ownerLink = RelayLink.responder(secret, "node-a", "node-b", t, new Random(3), now);
    relayLink.handleTimeout(now);
    for (int i = 0; i < 4; i++) {
      for (byte[] d; (d = relayLink.pollOutput()) != null; ) {
        ownerLink.input(d, 0, d.length, now);
      }
      for (byte[] d; (d = ownerLink.pollOutput()) != null; ) {
        relayLink.input(d, 0, d.length, now);
      }
    }
    if (!ownerLink.up() || !relayLink.up()) {
      throw new IllegalStateException("the link did not come up");
    }
    while (ownerLink.pollEvent() != null || relayLink.pollEvent() != null) {
      // the Up events
    }
    owner = new Router(RouterConfig.defaults(), new SplittableRandom(11));
    relay = new Router(RouterConfig.defaults(), new SplittableRandom(12));
    owner.createProducer("pub-audio", "pub", new ProducerParams(MediaKind.AUDIO, RtpCodec.OPUS, 111, 48_000,
        0x1234_5678L, "0"));
    if (path.equals("direct")) {
      owner.createConsumer("sub/pub-audio", "sub", "pub-audio",
          new ConsumerParams(owner.newSsrc(), 111, "pub", 0, "0"), now);
      owner.setForwardSink((c, buf, off, n) -> delivered += n);
    } else {
      ownerBridge = new CascadeBridge(owner, ownerLink);
      relayBridge = new CascadeBridge(relay, relayLink);
      owner.setForwardSink((c, buf, off, n) -> ownerBridge.forward(buf, off, n, now));
      relayBridge.importTrack(ownerBridge.export("pub-audio", now));
      relay.createConsumer("sub/pub-audio", "sub", "pub-audio",
          new ConsumerParams(relay.newSsrc(), 111, "pub", 0, "0"), now);
      relay.setForwardSink((c, buf, off, n) -> delivered += n);
    }
    len = 12 + payload;
    new Random(4).nextBytes(packet);
  }

  private void header() {
    packet[0] = (byte) 0x80;
    packet[1] = (byte) 111;
    packet[2] = (byte) (seq >>> 8);
    packet[3] = (byte) seq;
    packet[4] = (byte) (ts >>> 24);
    packet[5] = (byte) (ts >>> 16);
    packet[6] = (byte) (ts >>> 8);
    packet[7] = (byte) ts;
    packet[8] = 0x12;
    packet[9] = 0x34;
    packet[10] = 0x56;
    packet[11] = 0x78;
    seq = (seq + 1) & 0xFFFF;
    ts += 960;
  }

  @Benchmark
  public long forwardOnePacket() {
    header();
    owner.handleRtp("pub", packet, 0, len, now);
    while (owner.pollOutput() != null) {
      // nothing else is queued on this path
    }
    if (ownerLink != null) {
      for (byte[] d; (d = ownerLink.pollOutput()) != null; ) {
        relayLink.input(d, 0, d.length, now);
      }
      for (RelayEvent e; (e = relayLink.pollEvent()) != null; ) {
        if (e instanceof RelayEvent.Media m) {
          relayBridge.deliver(m.rtcp(), m.packet(), now);
        }
      }
      while (relay.pollOutput() != null) {
        // nothing else is queued on this path
      }
    }
    return delivered;
  }
}
